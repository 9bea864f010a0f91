"""Exact solvers for single-SKU periodic-review inventory models (benchmark optima).

- :mod:`~policies.exact.demand`: discrete demand (:func:`poisson_demand`, :class:`DiscreteDemand`).
- :mod:`~policies.exact.closed_form`: newsvendor quantity and cost; the backorder base-stock
  optimum from the critical fractile on lead-time demand.
- :mod:`~policies.exact.dp`: :class:`InventoryMDP` and :func:`solve` (relative value iteration,
  lost sales or backorders, lead time ``L >= 1``), :func:`evaluate_policy`.
- :mod:`~policies.exact.markov`: :func:`stationary_metrics`, exact long-run cost, on-hand and
  fill rate of any stationary policy from its Markov chain.
- Best (capped) base-stock by exact search: :mod:`policies.replenishment.base_stock`.
- :mod:`~policies.exact.policy`: :class:`TablePolicy`, the DP optimum as a replenishment policy.

Timing and costs are those of :mod:`dynamics.inventory`, so simulated costs of any policy
(:func:`policies.evaluate.evaluate`) are directly comparable with these optima.
"""

from policies.exact.closed_form import (
    BaseStockOptimum,
    backorder_base_stock_cost,
    newsvendor_cost,
    newsvendor_quantity,
    optimal_backorder_base_stock,
)
from policies.exact.demand import DiscreteDemand, ExactSolverError, poisson_demand
from policies.exact.dp import DPSolution, InventoryMDP, evaluate_policy, solve
from policies.exact.markov import StationaryMetrics, stationary_metrics
from policies.exact.policy import TablePolicy

__all__ = [
    "BaseStockOptimum",
    "DPSolution",
    "DiscreteDemand",
    "ExactSolverError",
    "InventoryMDP",
    "StationaryMetrics",
    "TablePolicy",
    "backorder_base_stock_cost",
    "evaluate_policy",
    "newsvendor_cost",
    "newsvendor_quantity",
    "optimal_backorder_base_stock",
    "poisson_demand",
    "solve",
    "stationary_metrics",
]
