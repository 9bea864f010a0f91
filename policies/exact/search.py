"""Best base-stock and capped base-stock policies by exact evaluation and integer search.

Each candidate is evaluated exactly with :func:`policies.exact.markov.stationary_metrics`
(a base-stock level ``S`` keeps the inventory position after ordering at ``S`` or below, so
the chain lives on ``x + q_1 + ... <= S``). The search is local: from the backorder-optimal
level, step in the improving direction until the cost rises (the average cost is unimodal
in ``S`` in every case we have seen; the tests compare with exhaustive search on small
cases). For capped base-stock the best ``S`` is found for each cap ``c``, increasing ``c``
from ``floor(E[D])`` until the cost has risen twice in a row or ``c`` reaches ``S``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from policies.exact.closed_form import optimal_backorder_base_stock
from policies.exact.dp import InventoryMDP, PolicyFn
from policies.exact.markov import StationaryMetrics, stationary_metrics

__all__ = [
    "BestPolicy",
    "base_stock_fn",
    "best_base_stock",
    "best_capped_base_stock",
    "capped_base_stock_fn",
    "evaluate_base_stock",
]


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
        return np.maximum(level - x - sum(pipe, np.int64(0)), 0)

    return policy


def capped_base_stock_fn(level: int, cap: int) -> PolicyFn:
    """``q = min(max(S - IP, 0), cap)`` as a vectorised state-grid policy."""

    def policy(x: NDArray[np.int64], pipe: tuple[NDArray[np.int64], ...]) -> NDArray[np.int64]:
        return np.minimum(np.maximum(level - x - sum(pipe, np.int64(0)), 0), cap)

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
