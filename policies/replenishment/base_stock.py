"""Base-stock policies, once: levels, order functions, and the best level by exact evaluation
or by simulation.

Exact (on an :class:`~policies.exact.dp.InventoryMDP`, costs from the stationary Markov chain):

- :func:`best_base_stock`, :func:`best_capped_base_stock`: the cost-minimising ``S`` and
  ``(S, cap)`` by integer local search over exact evaluations
  (:func:`evaluate_base_stock`); each candidate is evaluated with
  :func:`policies.exact.markov.stationary_metrics`. The search is local: from the
  backorder-optimal level, step in the improving direction until the cost rises (unimodal in
  ``S`` in every case we have seen; tests compare with exhaustive search on small cases). For
  capped base-stock the best ``S`` is found for each cap ``c``, increasing ``c`` from
  ``floor(E[D])`` until the cost has risen twice in a row or ``c`` reaches ``S``.

Simulated (common random numbers on the shared inventory kernel, Poisson demand):

- :func:`best_base_stock_simulated`, :func:`best_capped_base_stock_simulated`: the best
  level (and cap) on a given grid by simulated average cost
  (:func:`policies.rl.evaluate.simulate_costs`).

Helpers: :func:`critical_fractile_level` (the Poisson backorder level, a starting point);
:func:`base_stock_orders` / :func:`capped_base_stock_orders` (order functions over
``ShopSphere/Replenishment-v0`` observation batches); :func:`base_stock_fn` /
:func:`capped_base_stock_fn` (the same rules on the exact solvers' state grid).

Units: levels, caps and orders in units; costs per period.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from policies.exact.closed_form import optimal_backorder_base_stock
from policies.exact.dp import InventoryMDP, PolicyFn
from policies.exact.markov import StationaryMetrics, stationary_metrics

__all__ = [
    "BestPolicy",
    "OrderFn",
    "SimulatedBest",
    "SimulationSetup",
    "base_stock_fn",
    "base_stock_orders",
    "best_base_stock",
    "best_base_stock_simulated",
    "best_capped_base_stock",
    "best_capped_base_stock_simulated",
    "capped_base_stock_fn",
    "capped_base_stock_orders",
    "critical_fractile_level",
    "evaluate_base_stock",
]

OrderFn = Callable[[NDArray[np.float32]], NDArray[np.int64]]
"""A vectorised replenishment rule: observations ``(n, obs_dim)`` -> orders ``(n,)`` units."""


def critical_fractile_level(
    demand_mean: float, lead_time: int, holding_cost: float, penalty_cost: float
) -> int:
    """Smallest ``S`` with ``P(D_{L+1} <= S) >= p / (p + h)`` for Poisson demand of
    ``demand_mean`` units/period: the backorder base-stock level, a starting point for
    order-up-to policies and searches."""
    ratio = penalty_cost / (penalty_cost + holding_cost)
    return int(stats.poisson.ppf(ratio, demand_mean * (lead_time + 1)))


def base_stock_orders(level: float | NDArray[np.float64]) -> OrderFn:
    """Order up to ``level`` on inventory position (the last observation column):
    ``max(level - IP, 0)``."""
    return lambda obs: np.maximum(np.asarray(level) - obs[:, -1], 0).astype(np.int64)


def capped_base_stock_orders(
    level: float | NDArray[np.float64], cap: float | NDArray[np.float64]
) -> OrderFn:
    """Capped base-stock over observation batches: ``min(max(level - IP, 0), cap)``."""
    return lambda obs: np.minimum(np.maximum(np.asarray(level) - obs[:, -1], 0), cap).astype(
        np.int64
    )


@dataclass(frozen=True, slots=True)
class BestPolicy:
    """The best policy found in a family, its parameters and exact metrics.

    Attributes:
        base_stock: level ``S``, units.
        cap: order cap, units (``None`` for plain base-stock).
        metrics: exact stationary metrics of the policy.
        evaluations: candidate policies evaluated.
    """

    base_stock: int
    cap: int | None
    metrics: StationaryMetrics
    evaluations: int

    @property
    def average_cost(self) -> float:
        """Long-run average cost per period."""
        return self.metrics.average_cost


def base_stock_fn(level: int) -> PolicyFn:
    """``q = max(S - IP, 0)`` as a vectorised state-grid policy."""

    def policy(x: NDArray[np.int64], pipe: tuple[NDArray[np.int64], ...]) -> NDArray[np.int64]:
        out: NDArray[np.int64] = np.maximum(level - x - sum(pipe, np.int64(0)), 0)
        return out

    return policy


def capped_base_stock_fn(level: int, cap: int) -> PolicyFn:
    """``q = min(max(S - IP, 0), cap)`` as a vectorised state-grid policy."""

    def policy(x: NDArray[np.int64], pipe: tuple[NDArray[np.int64], ...]) -> NDArray[np.int64]:
        out: NDArray[np.int64] = np.minimum(np.maximum(level - x - sum(pipe, np.int64(0)), 0), cap)
        return out

    return policy


def evaluate_base_stock(mdp: InventoryMDP, level: int, cap: int | None = None) -> StationaryMetrics:
    """Exact stationary metrics of (capped) base-stock ``level`` on ``mdp``."""
    qmax = min(level, mdp.demand.d_max if cap is None else cap)
    inst = dataclasses.replace(mdp, max_position=level, max_order=max(qmax, 0))
    fn = base_stock_fn(level) if cap is None else capped_base_stock_fn(level, cap)
    return stationary_metrics(inst, fn)


def _local_min(cost: Callable[[int], float], start: int, lowest: int = 0) -> tuple[int, float, int]:
    """Integer local minimum of ``cost`` from ``start``; returns (argmin, min, evaluations)."""
    memo: dict[int, float] = {}

    def f(s: int) -> float:
        if s < lowest:
            return math.inf
        if s not in memo:
            memo[s] = cost(s)
        return memo[s]

    best = max(start, lowest)
    for direction in (-1, 1):
        while f(best + direction) < f(best):
            best += direction
    return best, f(best), len(memo)


def best_base_stock(mdp: InventoryMDP) -> BestPolicy:
    """The cost-minimising base-stock level for ``mdp`` (lost sales or backorders)."""
    start = optimal_backorder_base_stock(mdp.demand, mdp.lead_time, mdp.holding, mdp.penalty).level
    cache: dict[int, StationaryMetrics] = {}

    def cost(s: int) -> float:
        cache[s] = evaluate_base_stock(mdp, s)
        return cache[s].average_cost

    level, _, n = _local_min(cost, start)
    return BestPolicy(level, None, cache[level], n)


def best_capped_base_stock(mdp: InventoryMDP, max_cap: int | None = None) -> BestPolicy:
    """The cost-minimising capped base-stock ``(S, cap)`` for ``mdp``.

    Args:
        mdp: the instance.
        max_cap: largest cap tried (default ``d_max``).
    """
    d_max = mdp.demand.d_max
    top = d_max if max_cap is None else max_cap
    start_level = optimal_backorder_base_stock(
        mdp.demand, mdp.lead_time, mdp.holding, mdp.penalty
    ).level
    best: tuple[float, int, int, StationaryMetrics] | None = None
    rises, previous, evaluations = 0, math.inf, 0
    level = start_level
    for cap in range(max(1, math.floor(mdp.demand.mean)), top + 1):
        cache: dict[int, StationaryMetrics] = {}

        def cost(s: int, cap: int = cap, cache: dict[int, StationaryMetrics] = cache) -> float:
            cache[s] = evaluate_base_stock(mdp, s, cap)
            return cache[s].average_cost

        level, value, n = _local_min(cost, level)
        evaluations += n
        if best is None or value < best[0]:
            best = (value, level, cap, cache[level])
        rises = rises + 1 if value >= previous else 0
        previous = value
        if rises >= 2 or cap >= level:
            break
    assert best is not None
    return BestPolicy(best[1], best[2], best[3], evaluations)


@dataclass(frozen=True, slots=True)
class SimulatedBest:
    """The best grid point by simulation: level ``S``, cap (None for plain base-stock) and its
    simulated average cost per period (mean over the replications)."""

    base_stock: int
    cap: int | None
    average_cost: float


@dataclass(frozen=True, slots=True)
class SimulationSetup:
    """A single-SKU instance and the common-random-numbers design of a simulated search.

    Poisson demand of ``demand_mean`` units/period, lead time in periods, costs per unit and
    period; ``seeds`` x ``n_reps`` replications of ``periods`` periods, the first ``burn_in``
    not counted (see :func:`policies.rl.evaluate.simulate_costs`).
    """

    demand_mean: float = 5.0
    lead_time: int = 2
    holding_cost: float = 1.0
    penalty_cost: float = 9.0
    lost_sales: bool = True
    seeds: tuple[int, ...] = (0,)
    n_reps: int = 16
    periods: int = 2000
    burn_in: int = 200


def _simulated_costs(order_fn: OrderFn, copies: int, setup: SimulationSetup) -> NDArray[np.float64]:
    from policies.rl.evaluate import simulate_costs

    costs = simulate_costs(
        order_fn,
        demand_mean=setup.demand_mean,
        lead_time=setup.lead_time,
        holding_cost=setup.holding_cost,
        penalty_cost=setup.penalty_cost,
        lost_sales=setup.lost_sales,
        seeds=setup.seeds,
        n_reps=setup.n_reps,
        periods=setup.periods,
        burn_in=setup.burn_in,
        copies=copies,
    )
    return np.asarray(costs.reshape(copies, -1).mean(axis=1), dtype=np.float64)


def best_base_stock_simulated(
    levels: Sequence[int], setup: SimulationSetup | None = None
) -> SimulatedBest:
    """Best base-stock level among ``levels`` by simulated average cost with common random
    numbers (every level sees the same demand paths)."""
    st = setup or SimulationSetup()
    grid = np.asarray(levels, dtype=np.float64)
    lv = np.repeat(grid, len(st.seeds) * st.n_reps)
    costs = _simulated_costs(base_stock_orders(lv), len(grid), st)
    i = int(np.argmin(costs))
    return SimulatedBest(int(grid[i]), None, float(costs[i]))


def best_capped_base_stock_simulated(
    levels: Sequence[int], caps: Sequence[int], setup: SimulationSetup | None = None
) -> SimulatedBest:
    """Best ``(level, cap)`` on the grid ``levels x caps`` by simulated average cost with
    common random numbers."""
    st = setup or SimulationSetup()
    pairs = np.array([(s, c) for s in levels for c in caps], dtype=np.float64)
    reps = len(st.seeds) * st.n_reps
    lv = np.repeat(pairs[:, 0], reps)
    cp = np.repeat(pairs[:, 1], reps)
    costs = _simulated_costs(capped_base_stock_orders(lv, cp), len(pairs), st)
    i = int(np.argmin(costs))
    return SimulatedBest(int(pairs[i, 0]), int(pairs[i, 1]), float(costs[i]))
