"""The :class:`Router` protocol and the choice of solver.

``make_router("auto")`` answers PyVRP for what it models (CVRP, VRPTW, several depots and
vehicle types, shifts, range limits) and OR-Tools for pickup-and-delivery pairs.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from policies.routing.errors import InvalidProblemError
from policies.routing.types import RoutingProblem, RoutingSolution, SolveOptions

__all__ = ["ROUTERS", "AutoRouter", "Router", "make_router"]


@runtime_checkable
class Router(Protocol):
    """Plans routes: ``solve(problem, options) -> solution`` (typed values in and out)."""

    name: str

    def solve(self, problem: RoutingProblem, options: SolveOptions) -> RoutingSolution:
        """Route ``problem`` within ``options.time_limit_s`` seconds (see :class:`SolveOptions`)."""
        ...


class AutoRouter:
    """PyVRP unless the problem has pickup-and-delivery pairs, then OR-Tools."""

    name = "auto"

    def solve(self, problem: RoutingProblem, options: SolveOptions) -> RoutingSolution:
        """Delegate to the solver that models ``problem`` (see the module docstring)."""
        return make_router("ortools" if problem.pairs else "pyvrp").solve(problem, options)


ROUTERS = ("auto", "pyvrp", "ortools")


def make_router(name: str = "auto") -> Router:
    """The router called ``name`` (one of :data:`ROUTERS`).

    Raises:
        InvalidProblemError: unknown name.
    """
    if name == "pyvrp":
        from policies.routing.pyvrp_router import PyVRPRouter

        return PyVRPRouter()
    if name == "ortools":
        from policies.routing.ortools_router import ORToolsRouter

        return ORToolsRouter()
    if name == "auto":
        return AutoRouter()
    raise InvalidProblemError(f"router: unknown name {name!r}, expected one of {ROUTERS}")
