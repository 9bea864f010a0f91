"""Closed-form optima: the newsvendor and the backorder base-stock policy.

Costs are per period in cost units; quantities are units; demand is a
:class:`~policies.exact.demand.DiscreteDemand`. Timing as in :mod:`dynamics.inventory`:
an order placed at the start of period ``t`` arrives at the start of ``t + L`` before demand,
holding is charged on end-of-period on-hand and the backorder penalty on end-of-period
backorders. Then a base-stock level ``S`` leaves net inventory ``S - D[t..t+L]`` at the end of
period ``t + L``, so the long-run average cost is that of a newsvendor facing the demand of
``L + 1`` periods, and the optimal ``S`` is its critical fractile ``p / (p + h)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.exact.demand import DiscreteDemand, ExactSolverError

__all__ = [
    "BaseStockOptimum",
    "backorder_base_stock_cost",
    "newsvendor_cost",
    "newsvendor_quantity",
    "optimal_backorder_base_stock",
]


def _check_costs(**costs: float) -> None:
    for name, value in costs.items():
        if not value > 0:
            raise ExactSolverError(f"{name} must be > 0, got {value!r}")


def newsvendor_quantity(demand: DiscreteDemand, underage: float, overage: float) -> int:
    """Optimal newsvendor quantity: the smallest ``q`` with ``P(D <= q) >= cu / (cu + co)``.

    Args:
        demand: demand distribution, units.
        underage: cost per unit short ``cu`` (> 0).
        overage: cost per unit left over ``co`` (> 0).

    Raises:
        ExactSolverError: on non-positive costs.
    """
    _check_costs(underage=underage, overage=overage)
    ratio = underage / (underage + overage)
    return int(np.searchsorted(demand.cdf, ratio - 1e-12, side="left"))


def newsvendor_cost(
    demand: DiscreteDemand, quantity: float, underage: float, overage: float
) -> float:
    """Expected cost ``co * E[(q - D)^+] + cu * E[(D - q)^+]`` of stocking ``quantity``."""
    _check_costs(underage=underage, overage=overage)
    over, under = demand.expected_excess([quantity])
    return float(overage * over[0] + underage * under[0])


@dataclass(frozen=True, slots=True)
class BaseStockOptimum:
    """Optimal backorder base-stock level (units) and its long-run average cost per period."""

    level: int
    average_cost: float


def backorder_base_stock_cost(
    demand: DiscreteDemand, lead_time: int, holding: float, penalty: float, level: int
) -> float:
    """Long-run average cost per period of base-stock ``level`` with backorders."""
    if lead_time < 0:
        raise ExactSolverError(f"lead_time must be >= 0, got {lead_time}")
    return newsvendor_cost(demand.convolve(lead_time + 1), level, penalty, holding)


def optimal_backorder_base_stock(
    demand: DiscreteDemand, lead_time: int, holding: float, penalty: float
) -> BaseStockOptimum:
    """The optimal backorder base-stock level from the critical fractile on lead-time demand.

    ``S* = min{S : P(D_{L+1} <= S) >= p / (p + h)}`` with ``D_{L+1}`` the demand of ``L + 1``
    periods; a base-stock policy is optimal among all policies for this model.

    Raises:
        ExactSolverError: on a negative lead time or non-positive costs.
    """
    if lead_time < 0:
        raise ExactSolverError(f"lead_time must be >= 0, got {lead_time}")
    ltd = demand.convolve(lead_time + 1)
    level = newsvendor_quantity(ltd, penalty, holding)
    return BaseStockOptimum(level, newsvendor_cost(ltd, level, penalty, holding))
