"""Exact (noise-free) evaluation of policies on the benchmark instances.

- Replenishment: the long-run average cost of a stationary order function on the DP grid of
  ``policies.exact`` (relative value iteration for the fixed policy), beside the DP optimum.
- Dynamic pricing: the expected revenue of a price function by backward recursion, beside the
  DP optimum of ``policies.pricing.dynamic``.

Used by training callbacks (to keep the best checkpoint) and by ``benchmarks/``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from dynamics.price import exponential_rate
from policies.envs.replenishment import observation_batch

if TYPE_CHECKING:
    from policies.exact.dp import InventoryMDP

__all__ = [
    "exact_pricing_revenue",
    "exact_replenishment_cost",
    "optimal_replenishment_cost",
]

OrderFn = Callable[[NDArray[np.float32]], NDArray[np.int64]]
PriceFn = Callable[[NDArray[np.float32]], NDArray[np.float64]]


def _mdp(
    demand_mean: float, lead_time: int, holding_cost: float, penalty_cost: float, lost_sales: bool
) -> InventoryMDP:
    from policies.exact.demand import poisson_demand
    from policies.exact.dp import InventoryMDP

    return InventoryMDP(
        poisson_demand(demand_mean), lead_time, holding_cost, penalty_cost, lost_sales
    )


@lru_cache(maxsize=64)
def optimal_replenishment_cost(
    demand_mean: float = 5.0,
    lead_time: int = 2,
    holding_cost: float = 1.0,
    penalty_cost: float = 9.0,
    lost_sales: bool = True,
) -> float:
    """DP-optimal long-run average cost per period (``policies.exact.dp.solve``)."""
    from policies.exact.dp import solve

    return float(
        solve(_mdp(demand_mean, lead_time, holding_cost, penalty_cost, lost_sales)).average_cost
    )


def exact_replenishment_cost(
    order_fn: OrderFn,
    demand_mean: float = 5.0,
    lead_time: int = 2,
    holding_cost: float = 1.0,
    penalty_cost: float = 9.0,
    lost_sales: bool = True,
) -> float:
    """Exact long-run average cost per period of ``order_fn`` (observations as in
    ``ShopSphere/Replenishment-v0``), by policy evaluation on the DP grid."""
    from policies.exact.dp import evaluate_policy

    def policy(x: NDArray[np.int64], qs: tuple[NDArray[np.int64], ...]) -> NDArray[np.int64]:
        shape = np.broadcast_shapes(np.shape(x), *(np.shape(q) for q in qs))
        xs = np.broadcast_to(x, shape).ravel()
        pipe = [np.broadcast_to(q, shape).ravel() for q in qs]
        # kernel state with pipeline_0 already received: net stock x, pipeline (0, q_1..q_{L-1})
        pipeline = (
            np.column_stack([np.zeros_like(xs), *pipe]) if lead_time else np.zeros((xs.size, 0))
        )
        obs = observation_batch(xs, pipeline)
        return np.asarray(order_fn(obs), dtype=np.int64).reshape(shape)

    mdp = _mdp(demand_mean, lead_time, holding_cost, penalty_cost, lost_sales)
    return float(evaluate_policy(mdp, policy).average_cost)


def exact_pricing_revenue(price_fn: PriceFn, stock: int, horizon: int, a: float, b: float) -> float:
    """Expected revenue of a price function over the horizon (Poisson demand), exact.

    ``price_fn`` receives observations ``[stock_left / stock, periods_left / horizon]`` of
    ``ShopSphere/DynamicPricing-v0`` for all states at once and returns prices.
    """
    xs = np.arange(stock + 1)
    value = np.zeros(stock + 1)
    d_max = stock
    for n in range(1, horizon + 1):
        obs = np.column_stack([xs / max(stock, 1), np.full(stock + 1, n / horizon)]).astype(
            np.float32
        )
        price = np.asarray(price_fn(obs), dtype=np.float64)
        lam = exponential_rate(price, a, b)
        d = np.arange(d_max + 1)
        pmf = stats.poisson.pmf(d[None, :], lam[:, None])  # (x, d)
        sales = np.minimum(d[None, :], xs[:, None])
        tail_p = 1.0 - pmf.sum(axis=1)  # demand above d_max sells everything
        exp_sales = (pmf * sales).sum(axis=1) + tail_p * xs
        cont = (pmf * value[xs[:, None] - sales]).sum(axis=1) + tail_p * value[0]
        value = price * exp_sales + cont
    return float(value[stock])
