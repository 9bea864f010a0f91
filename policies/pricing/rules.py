"""Rule-based pricing: static prices and clearance markdown schedules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.pricing.types import (
    PricingDecision,
    PricingError,
    PricingObservation,
    to_bounded_cents,
)
from policies.registry import register


@register("pricing", "static")
@dataclass(frozen=True, slots=True)
class StaticPricePolicy:
    """Charge the list price times a fixed multiplier, clipped to the price bounds.

    Args:
        multiplier: price as a fraction of list price (1.0 = list price, 0.9 = 10% off), > 0.

    Raises:
        PricingError: if ``multiplier`` is not a positive finite number.
    """

    multiplier: float = 1.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.multiplier) and self.multiplier > 0):
            raise PricingError("multiplier", self.multiplier, "must be a positive finite number")

    def decide(self, observation: PricingObservation) -> PricingDecision:
        """``round(list_price_cents * multiplier)``, clipped to ``[min, max]`` per SKU."""
        target = observation.list_price_cents * self.multiplier
        return PricingDecision(to_bounded_cents(target, observation))


@register("pricing", "markdown")
@dataclass(frozen=True, slots=True)
class MarkdownSchedulePolicy:
    """Step markdowns for clearance, by weeks left in the season and projected sell-through.

    The markdown *step* of a SKU is the number of ``weeks_left_thresholds`` that its weeks left
    (``ceil(days_left / 7)``) is at or below; a slow seller, whose stock on hand exceeds
    ``slow_cover`` times its projected sales to season end (recent daily rate times days left),
    goes ``slow_extra_steps`` steps deeper. Step ``k >= 1`` means a discount of ``depths[k-1]``
    off list price; step 0 is list price. The new price is the lower of the current price and
    that target, so a price never goes up under this policy (markdowns are permanent), and it is
    finally clipped to the price bounds.

    Args:
        weeks_left_thresholds: strictly decreasing weeks-left levels that trigger each step.
        depths: discount off list price at each step, fractions in ``[0, 1)``, non-decreasing,
            one per threshold.
        recent_days: how many most recent history days estimate the sales rate (units/day).
        slow_cover: stock-to-projected-sales ratio above which a SKU counts as slow.
        slow_extra_steps: extra steps for slow sellers (0 disables the sell-through rule).

    Raises:
        PricingError: on inconsistent thresholds or depths, naming the field.
    """

    weeks_left_thresholds: tuple[int, ...] = (8, 4, 2, 1)
    depths: tuple[float, ...] = (0.2, 0.3, 0.5, 0.7)
    recent_days: int = 7
    slow_cover: float = 1.2
    slow_extra_steps: int = 1

    def __post_init__(self) -> None:
        # Scenario files give lists; keep the dataclass hashable and immutable.
        object.__setattr__(self, "weeks_left_thresholds", tuple(self.weeks_left_thresholds))
        object.__setattr__(self, "depths", tuple(self.depths))
        thresholds = np.asarray(self.weeks_left_thresholds, dtype=np.int64)
        depths = np.asarray(self.depths, dtype=np.float64)
        if thresholds.ndim != 1 or thresholds.size == 0 or np.any(np.diff(thresholds) >= 0):
            raise PricingError(
                "weeks_left_thresholds", self.weeks_left_thresholds, "must be strictly decreasing"
            )
        if depths.shape != thresholds.shape:
            raise PricingError("depths", self.depths, "needs one depth per weeks-left threshold")
        if np.any(depths < 0) or np.any(depths >= 1) or np.any(np.diff(depths) < 0):
            raise PricingError("depths", self.depths, "must be non-decreasing fractions in [0, 1)")
        if self.recent_days < 1:
            raise PricingError("recent_days", self.recent_days, "must be >= 1")
        if not self.slow_cover > 0:
            raise PricingError("slow_cover", self.slow_cover, "must be > 0")
        if self.slow_extra_steps < 0:
            raise PricingError("slow_extra_steps", self.slow_extra_steps, "must be >= 0")

    def step(self, observation: PricingObservation) -> np.ndarray:
        """Markdown step per SKU (0 = no markdown, ``len(depths)`` = deepest)."""
        weeks_left = -(-observation.days_left // 7)  # ceil for non-negative ints
        thresholds = np.asarray(self.weeks_left_thresholds, dtype=np.int64)
        step = np.sum(weeks_left[:, None] <= thresholds[None, :], axis=1)
        history = observation.sales_history[:, -self.recent_days :]
        if self.slow_extra_steps and history.shape[1] > 0:
            known = ~np.isnan(history)
            count = known.sum(axis=1)
            # A SKU without any recorded day has an unknown rate and never counts as slow.
            rate = np.where(count > 0, np.nansum(history, axis=1) / np.maximum(count, 1), np.inf)
            projected = rate * observation.days_left
            slow = observation.on_hand > self.slow_cover * projected
            # Only a SKU already in its markdown window is pushed deeper.
            step = step + np.where(slow & (step > 0), self.slow_extra_steps, 0)
        out: np.ndarray = np.minimum(step, len(self.depths))
        return out

    def decide(self, observation: PricingObservation) -> PricingDecision:
        """Marked-down prices, never above the current price, within bounds."""
        ladder = np.concatenate(([0.0], np.asarray(self.depths, dtype=np.float64)))
        depth = ladder[self.step(observation)]
        target = np.rint(observation.list_price_cents * (1.0 - depth))
        return PricingDecision(
            to_bounded_cents(np.minimum(observation.price_cents, target), observation)
        )
