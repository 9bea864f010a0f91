"""Elasticity-based pricing: fit log-linear demand per SKU, maximise margin under bounds.

Demand model per SKU ``i``: ``log q = a_i + b_i log p`` (constant elasticity ``b_i``), fitted by
ordinary least squares on the days of the history with positive sales and a positive price,
all SKUs at once (no Python loop over SKUs). The margin ``(p - c) q(p) = (p - c) e^a p^b`` is

* unimodal on ``p > c`` with maximiser ``p* = c b / (1 + b)`` when ``b < -1`` (elastic), so the
  optimum under bounds ``[lo, hi]`` is ``clip(p*, lo, hi)``;
* increasing in ``p`` when ``b >= -1`` (inelastic or upward sloping), so the optimum is ``hi``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from policies.pricing.types import (
    FloatArray,
    PricingDecision,
    PricingError,
    PricingObservation,
    to_bounded_cents,
)
from policies.registry import register


@dataclass(frozen=True, slots=True, eq=False)
class LogLinearFit:
    """Per-SKU fit of ``log q = intercept + elasticity * log p`` (prices in cents, units/day).

    Attributes:
        intercept: ``a`` per SKU (``nan`` where not identified).
        elasticity: ``b`` per SKU (``nan`` where not identified).
        n_obs: days used per SKU.
        identified: ``True`` where at least ``min_observations`` days and two distinct prices.
    """

    intercept: FloatArray
    elasticity: FloatArray
    n_obs: npt.NDArray[np.int64]
    identified: npt.NDArray[np.bool_]


def fit_log_linear_demand(
    prices: npt.ArrayLike, sales: npt.ArrayLike, min_observations: int = 3
) -> LogLinearFit:
    """Least-squares fit of ``log q = a + b log p`` per row, vectorised over rows.

    Args:
        prices: prices per row and day, shape ``(n, h)``, any positive unit (cents here).
        sales: units sold, shape ``(n, h)``; days with ``q <= 0``, ``nan`` or ``p <= 0`` are
            left out (``log 0`` is undefined).
        min_observations: fewest usable days for a row to count as identified (>= 2).

    Returns:
        The fit; rows without enough usable days or without price variation have ``nan``
        coefficients and ``identified == False``.

    Raises:
        PricingError: on mismatched shapes or ``min_observations < 2``.
    """
    p = np.asarray(prices, dtype=np.float64)
    q = np.asarray(sales, dtype=np.float64)
    if p.ndim != 2 or p.shape != q.shape:
        raise PricingError("prices", p.shape, f"must be 2-D and match sales {q.shape}")
    if min_observations < 2:
        raise PricingError("min_observations", min_observations, "must be >= 2")
    usable = np.isfinite(p) & np.isfinite(q) & (p > 0) & (q > 0)
    w = usable.astype(np.float64)
    n_obs = usable.sum(axis=1)
    x = np.log(np.where(usable, p, 1.0))
    y = np.log(np.where(usable, q, 1.0))
    count = np.maximum(n_obs, 1)
    x_mean = (w * x).sum(axis=1) / count
    y_mean = (w * y).sum(axis=1) / count
    dx = (x - x_mean[:, None]) * w
    dy = (y - y_mean[:, None]) * w
    sxx = (dx * dx).sum(axis=1)
    sxy = (dx * dy).sum(axis=1)
    # Relative test: prices that differ only by float noise are no variation.
    varies = sxx > 1e-12 * np.maximum(1.0, (w * x * x).sum(axis=1))
    identified = (n_obs >= min_observations) & varies
    slope = np.where(identified, sxy / np.where(varies, sxx, 1.0), np.nan)
    intercept = np.where(identified, y_mean - slope * x_mean, np.nan)
    return LogLinearFit(intercept, slope, n_obs.astype(np.int64), identified)


def optimal_margin_price(
    cost: npt.ArrayLike, elasticity: npt.ArrayLike, low: npt.ArrayLike, high: npt.ArrayLike
) -> FloatArray:
    """Margin-maximising price under constant elasticity, within ``[low, high]``, per SKU.

    ``clip(c b / (1 + b), low, high)`` where ``b < -1``; ``high`` where ``b >= -1`` (margin
    increases with price). ``nan`` elasticity gives ``nan`` (the caller decides a fallback).
    Prices and costs share one unit (cents here).
    """
    c = np.asarray(cost, dtype=np.float64)
    b = np.asarray(elasticity, dtype=np.float64)
    lo = np.asarray(low, dtype=np.float64)
    hi = np.asarray(high, dtype=np.float64)
    elastic = b < -1
    with np.errstate(divide="ignore", invalid="ignore"):
        interior = c * b / (1.0 + b)
    best = np.where(elastic, np.clip(interior, lo, hi), hi)
    return np.where(np.isnan(b), np.nan, best)


@register("pricing", "elasticity")
@dataclass(frozen=True, slots=True)
class ElasticityPricingPolicy:
    """Fit log-linear demand per SKU from its history and charge the margin-optimal price.

    SKUs whose demand is not identified (too few usable days, or no price variation in the
    history) keep their current price (clipped to bounds).

    Args:
        history_days: most recent history days used for the fit (``None``: all).
        min_observations: fewest usable days for a fit (>= 2).
        max_step: largest relative price move per decision (e.g. 0.1 = 10%), ``None`` for none;
            damps reactions to a noisy fit.

    Raises:
        PricingError: on a bad argument, naming it.
    """

    history_days: int | None = 56
    min_observations: int = 5
    max_step: float | None = None

    def __post_init__(self) -> None:
        if self.history_days is not None and self.history_days < 2:
            raise PricingError("history_days", self.history_days, "must be >= 2 or None")
        if self.min_observations < 2:
            raise PricingError("min_observations", self.min_observations, "must be >= 2")
        if self.max_step is not None and not (0 < self.max_step < np.inf):
            raise PricingError("max_step", self.max_step, "must be a positive number or None")

    def fit(self, observation: PricingObservation) -> LogLinearFit:
        """The demand fit this policy uses for ``observation`` (prices in cents)."""
        start = -self.history_days if self.history_days is not None else 0
        return fit_log_linear_demand(
            observation.price_history_cents[:, start:],
            observation.sales_history[:, start:],
            self.min_observations,
        )

    def decide(self, observation: PricingObservation) -> PricingDecision:
        """Margin-optimal prices within bounds; current price where demand is not identified."""
        fit = self.fit(observation)
        best = optimal_margin_price(
            observation.cost_cents,
            fit.elasticity,
            observation.min_price_cents,
            observation.max_price_cents,
        )
        current = observation.price_cents.astype(np.float64)
        target = np.where(fit.identified, best, current)
        if self.max_step is not None:
            target = np.clip(target, current * (1 - self.max_step), current * (1 + self.max_step))
        return PricingDecision(to_bounded_cents(target, observation))
