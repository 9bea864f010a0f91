"""The DP-optimal policy as a :class:`~policies.replenishment.types.ReplenishmentPolicy`."""

from __future__ import annotations

import numpy as np

from policies.exact.demand import ExactSolverError
from policies.exact.dp import DPSolution
from policies.replenishment.types import ReplenishmentDecision, ReplenishmentObservation

__all__ = ["TablePolicy"]


class TablePolicy:
    """Looks up the order of a solved DP for each row of an observation.

    The DP state of a row is ``x = on_hand + pipeline[:, 0] - backorders`` (stock after this
    period's arrival) and ``pipeline[:, 1:]``; states off the solved grid are clipped to it.

    Args:
        solution: a :func:`policies.exact.dp.solve` result for lead time ``L``.

    Raises:
        ExactSolverError: in :meth:`decide`, if the observation's pipeline width is not ``L``.
    """

    def __init__(self, solution: DPSolution) -> None:
        self.solution = solution
        self.lead_time = solution.orders.ndim

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        pl = observation.pipeline
        if pl.shape[1] != self.lead_time:
            raise ExactSolverError(
                f"observation pipeline has {pl.shape[1]} columns, the DP was solved for "
                f"lead_time={self.lead_time}"
            )
        x = observation.on_hand + pl[:, 0] - observation.backorders
        orders = self.solution.order_for(x, pl[:, 1:])
        return ReplenishmentDecision(orders=np.asarray(orders, dtype=np.int64))

    def __repr__(self) -> str:
        return f"TablePolicy(lead_time={self.lead_time}, g={self.solution.average_cost:.4f})"
