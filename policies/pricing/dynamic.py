"""Finite-horizon dynamic pricing of a fixed stock: exact DP, fluid bound, best fixed price.

The model (Gallego and van Ryzin, 1994, in discrete time), used by the solver, the Monte Carlo
simulator and the RL pricing environment alike:

* ``stock`` units, no replenishment, ``horizon`` periods; unsold units are worth nothing.
* In each period the seller posts a price ``p`` (price units, e.g. currency units; ``b`` is per
  price unit). Demand in the period is

  - ``"poisson"``: ``D ~ Poisson(lambda(p))``, or
  - ``"bernoulli"``: ``D ~ Bernoulli(lambda(p))`` (one arrival at most per small period;
    needs ``lambda(p) <= 1`` on the price set),

  with ``lambda(p) = a * exp(-b * p)`` (``a``: arrivals per period at price 0).
* Sales are ``min(D, x)`` for ``x`` units on hand; revenue is ``p * sales``.

``value[n, x]`` is the optimal expected revenue with ``n`` periods left and ``x`` units, from

    value[n, x] = max_p  p * E[min(D_p, x)] + E[value[n - 1, x - min(D_p, x)]],  value[0, .] = 0.

Poisson demand is truncated at ``d_max = lambda_max + 8 sqrt(lambda_max) + 15`` units per
period in the continuation term (tail mass below 1e-15); the immediate revenue term is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats

from dynamics.price import demand_rate, exponential_rate
from policies.pricing.types import FloatArray, PricingError

DemandModel = Literal["poisson", "bernoulli"]
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def expected_sales(rate: npt.ArrayLike, stock: npt.ArrayLike, demand: DemandModel) -> FloatArray:
    """``E[min(D, x)]`` for demand ``D`` with mean ``rate`` and ``x = stock`` units (broadcast).

    Poisson: ``rate * P(D <= x - 2) + x * P(D >= x)``; Bernoulli: ``rate * [x >= 1]``.
    """
    lam = np.asarray(rate, dtype=np.float64)
    x = np.asarray(stock, dtype=np.float64)
    if demand == "bernoulli":
        return np.asarray(lam * (x >= 1), dtype=np.float64)
    # scipy.special's pdtr/pdtrc are P(D <= k) and P(D > k); they give nan for k < 0.
    below = np.where(x >= 2, special.pdtr(np.maximum(x - 2, 0), lam), 0.0)
    at_least = np.where(x >= 1, special.pdtrc(np.maximum(x - 1, 0), lam), 1.0)
    return np.asarray(lam * below + x * at_least, dtype=np.float64)


def _demand_pmf(rate: FloatArray, d_max: int, demand: DemandModel) -> FloatArray:
    """``P(D = d)`` for ``d = 0..d_max``, shape ``rate.shape + (d_max + 1,)``."""
    d = np.arange(d_max + 1)
    if demand == "bernoulli":
        pmf = np.zeros((*rate.shape, d_max + 1))
        pmf[..., 0] = 1.0 - rate
        if d_max >= 1:
            pmf[..., 1] = rate
        return pmf
    lam = rate[..., None]
    if rate.size == 0 or float(rate.max()) < 500.0:
        # exp(-lam) lam^d / d! as a running product: cheaper than exp/log, and no overflow
        # below lam = 500 (every partial product is below e^lam).
        factors = np.empty((*rate.shape, d_max + 1))
        factors[..., 0] = np.exp(-rate)
        factors[..., 1:] = lam / d[1:]
        return np.asarray(np.cumprod(factors, axis=-1), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # rate 0: pmf = [1, 0, 0, ...]
        log_pmf = d * np.log(lam) - lam - special.gammaln(d + 1.0)
    log_pmf[..., 0] = -lam[..., 0]
    return np.asarray(np.exp(log_pmf), dtype=np.float64)


def _d_max(rate_max: float, stock: int, demand: DemandModel) -> int:
    if demand == "bernoulli":
        return min(1, stock)
    return int(min(stock, math.ceil(rate_max + 8.0 * math.sqrt(rate_max) + 15.0)))


def _continuation_matrix(value_next: FloatArray, d_max: int) -> FloatArray:
    """``W[x, d] = value_next[x - d]`` for ``d < x``, else 0 (selling out leaves
    ``value[0] = 0``)."""
    x = np.arange(value_next.shape[0])[:, None]
    d = np.arange(d_max + 1)[None, :]
    left = x - d
    return np.where(left > 0, value_next[np.clip(left, 0, None)], 0.0)


def _check_model(stock: int, horizon: int, a: float, b: float, demand: str) -> None:
    if isinstance(stock, bool) or not isinstance(stock, int | np.integer) or stock < 0:
        raise PricingError("stock", stock, "must be an integer >= 0")
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 0:
        raise PricingError("horizon", horizon, "must be an integer >= 0")
    if not (math.isfinite(a) and a > 0):
        raise PricingError("a", a, "must be a positive finite arrival rate per period")
    if not (math.isfinite(b) and b > 0):
        raise PricingError("b", b, "must be a positive finite price sensitivity")
    if demand not in ("poisson", "bernoulli"):
        raise PricingError("demand", demand, "must be 'poisson' or 'bernoulli'")


def _check_prices(
    price_grid: npt.ArrayLike | None,
    price_bounds: tuple[float, float] | None,
    horizon: int,
    a: float,
    b: float,
    demand: str,
) -> tuple[FloatArray | None, float, float]:
    """Validated sorted grid (or ``None`` for continuous prices) and the price interval."""
    grid: FloatArray | None = None
    if price_grid is not None:
        grid = np.unique(np.asarray(price_grid, dtype=np.float64).ravel())
        if grid.size == 0 or not np.all(np.isfinite(grid)) or grid[0] < 0:
            raise PricingError("price_grid", price_grid, "must be non-empty, finite and >= 0")
        low, high = float(grid[0]), float(grid[-1])
    elif price_bounds is not None:
        low, high = (float(v) for v in price_bounds)
        if not (0 <= low <= high < math.inf):
            raise PricingError("price_bounds", price_bounds, "must be 0 <= low <= high < inf")
    else:
        # Above any optimal price: 1/b plus the most one unit can earn (the x = 1 fluid price).
        low, high = 0.0, (3.0 + 2.0 * max(math.log(a * max(horizon, 1)), 1.0)) / b
    if demand == "bernoulli" and exponential_rate(low, a, b) > 1.0 + 1e-12:
        raise PricingError(
            "price_grid" if grid is not None else "price_bounds",
            low,
            f"Bernoulli demand needs a*exp(-b*p) <= 1, but it is {exponential_rate(low, a, b):.4g}"
            " at the lowest price",
        )
    return grid, low, high


@dataclass(frozen=True, slots=True, eq=False)
class DPPricingSolution:
    """Optimal dynamic pricing for one model instance (read-only arrays).

    Attributes:
        value: ``value[n, x]``, optimal expected revenue (price units) with ``n`` periods
            left and ``x`` units; shape ``(horizon + 1, stock + 1)``.
        price_table: ``price_table[n - 1, x]``, optimal price with ``n`` periods left and
            ``x >= 1`` units; shape ``(horizon, stock + 1)``; column ``x = 0`` holds the
            highest allowed price (nothing is left to sell).
        a: arrivals per period at price 0.
        b: price sensitivity per price unit.
        demand: ``"poisson"`` or ``"bernoulli"``.
        price_grid: the discrete prices searched, or ``None`` for continuous prices.
        price_bounds: ``(low, high)`` of the prices searched.
    """

    value: FloatArray
    price_table: FloatArray
    a: float
    b: float
    demand: DemandModel
    price_grid: FloatArray | None
    price_bounds: tuple[float, float]

    @property
    def stock(self) -> int:
        """Initial stock the table covers (largest ``x``)."""
        return int(self.value.shape[1] - 1)

    @property
    def horizon(self) -> int:
        """Periods the table covers (largest ``n``)."""
        return int(self.value.shape[0] - 1)

    @property
    def optimum(self) -> float:
        """``value[horizon, stock]``: the optimal expected revenue from the start."""
        return float(self.value[-1, -1])

    def price(self, periods_left: npt.ArrayLike, stock: npt.ArrayLike) -> FloatArray:
        """Optimal prices for arrays of states (vectorised table lookup).

        Raises:
            PricingError: if a state lies outside the table (``periods_left`` not in
                ``1..horizon`` or ``stock`` not in ``0..stock``).
        """
        n = np.asarray(periods_left, dtype=np.int64)
        x = np.asarray(stock, dtype=np.int64)
        bad_n = (n < 1) | (n > self.horizon)
        if np.any(bad_n):
            raise PricingError(
                "periods_left", n[bad_n].ravel()[0].item(), f"must be in 1..{self.horizon}"
            )
        bad_x = (x < 0) | (x > self.stock)
        if np.any(bad_x):
            raise PricingError("stock", x[bad_x].ravel()[0].item(), f"must be in 0..{self.stock}")
        return np.asarray(self.price_table[n - 1, x], dtype=np.float64)


def _golden_section(
    objective: _Objective, low: FloatArray, high: FloatArray, iterations: int = 36
) -> FloatArray:
    """Vectorised golden-section search for the maximiser of ``objective`` in each bracket."""
    lo, hi = low.copy(), high.copy()
    x1 = hi - _GOLDEN * (hi - lo)
    x2 = lo + _GOLDEN * (hi - lo)
    f1, f2 = objective(x1), objective(x2)
    for _ in range(iterations):
        left = f1 >= f2  # the maximum lies in [lo, x2]: drop (x2, hi]; else drop [lo, x1)
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
        new_x1 = np.where(left, hi - _GOLDEN * (hi - lo), x2)
        new_x2 = np.where(left, x1, lo + _GOLDEN * (hi - lo))
        f_new = objective(np.where(left, new_x1, new_x2))
        f1, f2 = np.where(left, f_new, f2), np.where(left, f1, f_new)
        x1, x2 = new_x1, new_x2
    return np.asarray((lo + hi) / 2.0, dtype=np.float64)


class _Objective:
    """``Q(p_x, x)`` for one period: price ``p_x`` per stock level ``x``, vectorised over ``x``."""

    def __init__(
        self, value_next: FloatArray, a: float, b: float, demand: DemandModel, d_max: int
    ) -> None:
        x = np.arange(value_next.shape[0])
        d = np.arange(d_max + 1)
        self.x = x.astype(np.float64)
        self.w = _continuation_matrix(value_next, d_max)
        # Sales are d when d < x, else x: E[min(D, x)] = sum_{d<x} d P(d) + x (1 - P(D < x)).
        self.below = (d[None, :] < x[:, None]).astype(np.float64)
        self.d_below = self.below * d[None, :]
        self.a, self.b, self.demand, self.d_max = a, b, demand, d_max

    def __call__(self, prices: FloatArray) -> FloatArray:
        lam = demand_rate(prices, self.a, self.b)
        pmf = _demand_pmf(lam, self.d_max, self.demand)
        sold = np.einsum("xd,xd->x", pmf, self.d_below) + self.x * (
            1.0 - np.einsum("xd,xd->x", pmf, self.below)
        )
        return np.asarray(prices * sold + np.einsum("xd,xd->x", pmf, self.w), dtype=np.float64)


def solve_dynamic_pricing(
    stock: int,
    horizon: int,
    a: float,
    b: float,
    price_grid: npt.ArrayLike | None = None,
    *,
    price_bounds: tuple[float, float] | None = None,
    demand: DemandModel = "poisson",
) -> DPPricingSolution:
    """Optimal prices by backward induction over (periods left, stock).

    Args:
        stock: initial units, >= 0.
        horizon: periods, >= 0.
        a: arrivals per period at price 0, > 0.
        b: price sensitivity per price unit, > 0.
        price_grid: discrete prices to choose from (price units). ``None``: continuous prices
            in ``price_bounds``, optimised per state (closed form ``p = 1/b + V(x) - V(x-1)``
            clipped to the bounds for Bernoulli demand; a 129-point grid search refined by
            golden section to ~1e-9 price units for Poisson demand).
        price_bounds: ``(low, high)`` for continuous prices; default ``(0, high)`` with
            ``high`` above any optimal price of the instance.
        demand: ``"poisson"`` or ``"bernoulli"`` (see the module docstring).

    Returns:
        The value and price tables.

    Raises:
        PricingError: on a bad argument, naming it (e.g. Bernoulli rates above 1).

    Cost: ``O(horizon * stock * d_max * K)`` for ``K`` grid prices.
    """
    _check_model(stock, horizon, a, b, demand)
    grid, low, high = _check_prices(price_grid, price_bounds, horizon, a, b, demand)
    d_max = _d_max(float(demand_rate(low, a, b)), stock, demand)
    x = np.arange(stock + 1)
    value = np.zeros((horizon + 1, stock + 1))
    table = np.full((horizon, stock + 1), high)
    if grid is not None:
        lam = demand_rate(grid, a, b)
        pmf = _demand_pmf(lam, d_max, demand)  # (K, d_max + 1)
        revenue = grid[:, None] * expected_sales(lam[:, None], x[None, :], demand)  # (K, X+1)
    else:
        coarse = np.linspace(low, high, 129)
        lam_c = demand_rate(coarse, a, b)
        pmf_c = _demand_pmf(lam_c, d_max, demand)
        revenue_c = coarse[:, None] * expected_sales(lam_c[:, None], x[None, :], demand)
    for n in range(1, horizon + 1):
        nxt = value[n - 1]
        if grid is not None:
            q = revenue + pmf @ _continuation_matrix(nxt, d_max).T
            best = np.argmax(q, axis=0)
            value[n] = q[best, x]
            table[n - 1] = grid[best]
        elif demand == "bernoulli":
            marginal = np.concatenate(([0.0], np.diff(nxt)))
            p = np.clip(1.0 / b + marginal, low, high)
            lam_x = demand_rate(p, a, b) * (x >= 1)
            value[n] = nxt + lam_x * (p - marginal)
            table[n - 1] = p
        else:
            q = revenue_c + pmf_c @ _continuation_matrix(nxt, d_max).T
            k = np.argmax(q, axis=0)
            objective = _Objective(nxt, a, b, demand, d_max)
            p = _golden_section(
                objective, coarse[np.maximum(k - 1, 0)], coarse[np.minimum(k + 1, 128)]
            )
            refined = objective(p)
            better = refined >= q[k, x]
            value[n] = np.where(better, refined, q[k, x])
            table[n - 1] = np.where(better, p, coarse[k])
        table[n - 1, 0] = high
        value[n, 0] = 0.0
    value.setflags(write=False)
    table.setflags(write=False)
    if grid is not None:
        grid.setflags(write=False)
    return DPPricingSolution(value, table, float(a), float(b), demand, grid, (low, high))


def fluid_bound(
    stock: float,
    horizon: float,
    a: float,
    b: float,
    price_bounds: tuple[float, float] = (0.0, math.inf),
) -> float:
    """Deterministic (fluid) upper bound on the expected revenue of any pricing policy.

    Maximises ``horizon * p * min(lambda(p), stock / horizon)`` over ``p`` in
    ``price_bounds``: the revenue when demand equals its mean. Because revenue as a function
    of the sales rate is concave, Jensen's inequality makes this an upper bound on the optimal
    expected revenue for Poisson and Bernoulli demand alike, whatever the price set inside
    the bounds (pass the grid's ``(min, max)`` for a discrete grid).

    Closed form: run rate ``r = clip(min(a/e, stock/horizon), lambda(high), lambda(low))``,
    price ``p = log(a / r) / b``, bound ``horizon * min(r, stock/horizon) * p``.

    Raises:
        PricingError: on a bad argument, naming it.
    """
    if not (stock >= 0 and math.isfinite(stock)):
        raise PricingError("stock", stock, "must be a finite number >= 0")
    if not (horizon >= 0 and math.isfinite(horizon)):
        raise PricingError("horizon", horizon, "must be a finite number >= 0")
    if not (math.isfinite(a) and a > 0 and math.isfinite(b) and b > 0):
        raise PricingError("a, b", (a, b), "must be positive and finite")
    low, high = price_bounds
    if not (0 <= low <= high):
        raise PricingError("price_bounds", price_bounds, "must satisfy 0 <= low <= high")
    if stock == 0 or horizon == 0:
        return 0.0
    cap = stock / horizon
    r_low = exponential_rate(high, a, b) if math.isfinite(high) else 0.0
    r_high = exponential_rate(low, a, b)
    r = min(max(min(a / math.e, cap), r_low), r_high)
    if r <= 0.0:  # high = inf and the stock constraint binds at rate 0: impossible for cap > 0
        return 0.0
    price = math.log(a / r) / b
    return float(horizon * min(r, cap) * price)


@dataclass(frozen=True, slots=True)
class FixedPriceResult:
    """The best single price for the whole horizon and its exact expected revenue."""

    price: float
    revenue: float


def fixed_price_revenue(
    stock: int,
    horizon: int,
    a: float,
    b: float,
    price: npt.ArrayLike,
    demand: DemandModel = "poisson",
) -> FloatArray:
    """Exact expected revenue of charging ``price`` in every period (vectorised over prices).

    Total demand over the horizon is ``Poisson(horizon * lambda(p))`` (or
    ``Binomial(horizon, lambda(p))``), and revenue is ``p * E[min(total, stock)]``
    ``= p * sum_{j < stock} P(total > j)``.

    Raises:
        PricingError: on a bad argument, naming it.
    """
    _check_model(stock, horizon, a, b, demand)
    p = np.asarray(price, dtype=np.float64)
    if np.any(~np.isfinite(p)) or np.any(p < 0):
        raise PricingError("price", price, "must be finite and >= 0")
    lam = demand_rate(p, a, b)
    if demand == "bernoulli" and np.any(lam > 1.0 + 1e-12):
        raise PricingError("price", price, "gives a Bernoulli rate a*exp(-b*p) above 1")
    j = np.arange(stock)
    if demand == "poisson":
        tail = stats.poisson.sf(j, horizon * lam[..., None])
    else:
        tail = stats.binom.sf(j, horizon, np.minimum(lam, 1.0)[..., None])
    return np.asarray(p * np.sum(tail, axis=-1), dtype=np.float64)


def best_fixed_price(
    stock: int,
    horizon: int,
    a: float,
    b: float,
    price_grid: npt.ArrayLike | None = None,
    *,
    price_bounds: tuple[float, float] | None = None,
    demand: DemandModel = "poisson",
) -> FixedPriceResult:
    """The single price with the highest exact expected revenue over the horizon.

    Searches ``price_grid`` exhaustively, or (``price_grid=None``) continuous prices in
    ``price_bounds`` by a 513-point grid then a bounded scalar refinement.

    Raises:
        PricingError: on a bad argument, naming it.
    """
    _check_model(stock, horizon, a, b, demand)
    grid, low, high = _check_prices(price_grid, price_bounds, horizon, a, b, demand)
    candidates = grid if grid is not None else np.linspace(low, high, 513)
    revenue = fixed_price_revenue(stock, horizon, a, b, candidates, demand)
    k = int(np.argmax(revenue))
    best_p, best_r = float(candidates[k]), float(revenue[k])
    if grid is None:
        lo = float(candidates[max(k - 1, 0)])
        hi = float(candidates[min(k + 1, candidates.size - 1)])
        res = optimize.minimize_scalar(
            lambda v: -float(fixed_price_revenue(stock, horizon, a, b, v, demand)),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-10 * max(1.0, hi)},
        )
        if -res.fun > best_r:
            best_p, best_r = float(res.x), float(-res.fun)
    return FixedPriceResult(best_p, best_r)


__all__ = [
    "DPPricingSolution",
    "DemandModel",
    "FixedPriceResult",
    "best_fixed_price",
    "demand_rate",
    "expected_sales",
    "fixed_price_revenue",
    "fluid_bound",
    "solve_dynamic_pricing",
]
