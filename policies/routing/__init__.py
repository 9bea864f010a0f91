"""Vehicle routing behind one protocol: :class:`Router` over PyVRP and OR-Tools.

    from policies.routing import RoutingProblem, Depot, Stop, VehicleType, SolveOptions
    from policies.routing import make_router
    sol = make_router().solve(RoutingProblem(depots, stops, vehicles), SolveOptions(time_limit_s=2))

Units: km, minutes from the start of the day, integer cents, grams of CO2. See docs/routing.md.
"""

from __future__ import annotations

from policies.routing.errors import (
    InvalidProblemError,
    NoSolutionError,
    RoutingError,
    UnsupportedProblemError,
)
from policies.routing.evaluate import evaluate_routes
from policies.routing.router import ROUTERS, AutoRouter, Router, make_router
from policies.routing.types import (
    Depot,
    PlannedRoute,
    RoutingProblem,
    RoutingSolution,
    SolveOptions,
    Stop,
    VehicleType,
    WarmRoute,
)

__all__ = [
    "ROUTERS",
    "AutoRouter",
    "Depot",
    "InvalidProblemError",
    "NoSolutionError",
    "PlannedRoute",
    "Router",
    "RoutingError",
    "RoutingProblem",
    "RoutingSolution",
    "SolveOptions",
    "Stop",
    "UnsupportedProblemError",
    "VehicleType",
    "WarmRoute",
    "evaluate_routes",
    "make_router",
]
