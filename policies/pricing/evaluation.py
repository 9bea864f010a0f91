"""Measure any pricing rule on the dynamic-pricing model: exactly, or by Monte Carlo.

Both use the model of :mod:`policies.pricing.dynamic` (same demand, same sales rule), so a
learned policy's revenue is directly comparable with :attr:`DPPricingSolution.optimum`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dynamics.demand import sample_demand
from policies.pricing.dynamic import (
    DemandModel,
    _check_model,
    _continuation_matrix,
    _d_max,
    _demand_pmf,
    demand_rate,
    expected_sales,
)
from policies.pricing.types import FloatArray, IntArray, PricingError
from policies.stats import standard_error

PriceRule = Callable[[IntArray, IntArray], FloatArray]
"""``rule(periods_left, stock) -> prices``, vectorised over states (e.g. ``solution.price``)."""


def evaluate_price_table(
    price_table: npt.ArrayLike,
    a: float,
    b: float,
    demand: DemandModel = "poisson",
) -> FloatArray:
    """Exact expected revenue of any state-feedback pricing rule, by backward recursion.

    Args:
        price_table: ``price_table[n - 1, x]`` = price charged with ``n`` periods left and
            ``x`` units, shape ``(horizon, stock + 1)`` (e.g. a learned policy, tabulated).

    Returns:
        ``value[n, x]``, shape ``(horizon + 1, stock + 1)``.

    Raises:
        PricingError: on a bad table or model argument.
    """
    table = np.asarray(price_table, dtype=np.float64)
    if table.ndim != 2 or table.shape[1] < 1:
        raise PricingError("price_table", table.shape, "must be 2-D (horizon, stock + 1)")
    horizon, stock = int(table.shape[0]), int(table.shape[1] - 1)
    _check_model(stock, horizon, a, b, demand)
    if np.any(~np.isfinite(table[:, 1:])) or np.any(table[:, 1:] < 0):
        raise PricingError("price_table", "non-finite or negative entry", "prices must be >= 0")
    lam = demand_rate(np.where(np.isfinite(table), table, 0.0), a, b)
    lam[:, 0] = 0.0
    if demand == "bernoulli" and np.any(lam > 1.0 + 1e-12):
        raise PricingError("price_table", "price too low", "Bernoulli rate a*exp(-b*p) above 1")
    d_max = _d_max(float(lam.max(initial=0.0)), stock, demand)
    x = np.arange(stock + 1)
    value = np.zeros((horizon + 1, stock + 1))
    for n in range(1, horizon + 1):
        lam_n = lam[n - 1]
        pmf = _demand_pmf(lam_n, d_max, demand)
        w = _continuation_matrix(value[n - 1], d_max)
        revenue = np.where(x >= 1, table[n - 1], 0.0) * expected_sales(lam_n, x, demand)
        value[n] = revenue + np.einsum("xd,xd->x", pmf, w)
    return value


@dataclass(frozen=True, slots=True, eq=False)
class MonteCarloRevenue:
    """Revenue of a pricing rule over simulated sample paths (price units).

    Attributes:
        revenue: revenue of each path, shape ``(n_paths,)``.
        units_sold: units sold on each path, shape ``(n_paths,)``.
    """

    revenue: FloatArray
    units_sold: IntArray

    @property
    def mean(self) -> float:
        """Sample mean revenue per path."""
        return float(self.revenue.mean())

    @property
    def std_error(self) -> float:
        """Standard error of :attr:`mean` (sample standard deviation over ``sqrt(n)``)."""
        return standard_error(self.revenue)

    def confidence_interval(self, z: float = 1.96) -> tuple[float, float]:
        """Normal-approximation interval ``mean +- z * std_error``."""
        return self.mean - z * self.std_error, self.mean + z * self.std_error


def simulate_revenue(
    rule: PriceRule,
    stock: int,
    horizon: int,
    a: float,
    b: float,
    n_paths: int,
    rng: np.random.Generator,
    demand: DemandModel = "poisson",
) -> MonteCarloRevenue:
    """Simulate ``n_paths`` independent seasons under ``rule``, all paths at once.

    Each period: ``p = rule(periods_left, x)`` for every path, demand drawn from ``rng``
    (Poisson or Bernoulli with rate ``a * exp(-b * p)``), sales ``min(demand, x)``.

    Raises:
        PricingError: on a bad argument, or a rule returning negative or non-finite prices.
    """
    _check_model(stock, horizon, a, b, demand)
    if n_paths < 1:
        raise PricingError("n_paths", n_paths, "must be >= 1")
    x = np.full(n_paths, stock, dtype=np.int64)
    revenue = np.zeros(n_paths)
    for n in range(horizon, 0, -1):
        p = np.asarray(rule(np.full(n_paths, n, dtype=np.int64), x), dtype=np.float64)
        if p.shape != x.shape or np.any(~np.isfinite(p)) or np.any(p < 0):
            raise PricingError("rule", f"prices at {n} periods left", "must be finite, >= 0")
        lam = demand_rate(p, a, b)
        if demand == "poisson":
            arrivals = sample_demand(rng, lam)
        else:
            arrivals = (rng.random(n_paths) < lam).astype(np.int64)
        sold = np.minimum(arrivals, x)
        revenue += p * sold
        x -= sold
    return MonteCarloRevenue(revenue, (stock - x).astype(np.int64))


__all__ = ["MonteCarloRevenue", "PriceRule", "evaluate_price_table", "simulate_revenue"]
