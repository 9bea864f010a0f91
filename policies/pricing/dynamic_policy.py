"""The DP-optimal dynamic pricing policy behind the :class:`PricingPolicy` protocol."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.pricing.dynamic import DemandModel, DPPricingSolution, solve_dynamic_pricing
from policies.pricing.types import (
    PricingDecision,
    PricingError,
    PricingObservation,
    to_bounded_cents,
)
from policies.registry import register


@dataclass(frozen=True, slots=True, eq=False)
class DynamicPricingPolicy:
    """Look up the optimal price for each SKU's (days left, units on hand) in a DP table.

    One DP period is one day, and every SKU of an observation is assumed to follow the model
    the table was solved for (same ``a``, ``b``; price units converted to cents by
    ``minor_units_per_price_unit``). SKUs whose season is over (``days_left == 0``) keep their
    current price. Prices are rounded to whole cents and clipped to each SKU's bounds.

    Args:
        solution: the solved model (see :func:`solve_dynamic_pricing`).
        minor_units_per_price_unit: cents per DP price unit (100: DP prices are currency units).

    Raises:
        PricingError: in ``decide``, if a SKU has more days left than the table's horizon or
            more units on hand than its stock.
    """

    solution: DPPricingSolution
    minor_units_per_price_unit: int = 100

    def __post_init__(self) -> None:
        if self.minor_units_per_price_unit < 1:
            raise PricingError(
                "minor_units_per_price_unit", self.minor_units_per_price_unit, "must be >= 1"
            )

    def decide(self, observation: PricingObservation) -> PricingDecision:
        """DP-optimal prices (cents) per SKU, within bounds."""
        live = observation.days_left > 0
        too_long = observation.days_left > self.solution.horizon
        if np.any(too_long):
            raise PricingError(
                "days_left",
                int(observation.days_left[too_long][0]),
                f"exceeds the DP horizon {self.solution.horizon}",
            )
        too_many = observation.on_hand > self.solution.stock
        if np.any(too_many):
            raise PricingError(
                "on_hand",
                int(observation.on_hand[too_many][0]),
                f"exceeds the DP stock {self.solution.stock}",
            )
        dp_price = self.solution.price(np.maximum(observation.days_left, 1), observation.on_hand)
        target = np.where(
            live,
            dp_price * self.minor_units_per_price_unit,
            observation.price_cents.astype(np.float64),
        )
        return PricingDecision(to_bounded_cents(target, observation))


@register("pricing", "dynamic_dp")
def dynamic_dp_policy(
    stock: int,
    horizon: int,
    a: float,
    b: float,
    price_min: float | None = None,
    price_max: float | None = None,
    price_step: float | None = None,
    demand: DemandModel = "poisson",
    minor_units_per_price_unit: int = 100,
) -> DynamicPricingPolicy:
    """Solve the DP for one model instance and wrap it as a policy (the registry's factory).

    Prices are searched on ``price_min, price_min + price_step, ..., price_max`` when
    ``price_step`` is given, else continuously in ``[price_min, price_max]`` (defaults as in
    :func:`solve_dynamic_pricing`). Prices are in DP price units (see
    :class:`DynamicPricingPolicy`).

    Raises:
        PricingError: on a bad argument, naming it.
    """
    bounds: tuple[float, float] | None = None
    if price_min is not None or price_max is not None:
        if price_min is None or price_max is None:
            raise PricingError(
                "price_min/price_max", (price_min, price_max), "give both bounds or neither"
            )
        bounds = (float(price_min), float(price_max))
    grid = None
    if price_step is not None:
        if bounds is None:
            raise PricingError("price_step", price_step, "needs price_min and price_max")
        if not price_step > 0:
            raise PricingError("price_step", price_step, "must be > 0")
        count = int(np.floor((bounds[1] - bounds[0]) / price_step + 1e-9)) + 1
        grid = bounds[0] + price_step * np.arange(count)
    solution = solve_dynamic_pricing(
        stock, horizon, a, b, grid, price_bounds=bounds if grid is None else None, demand=demand
    )
    return DynamicPricingPolicy(solution, minor_units_per_price_unit)
