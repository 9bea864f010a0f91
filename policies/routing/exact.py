"""Brute force for tiny problems: the optimum that the tests compare the solvers with.

Every assignment of stops to vehicles and every visiting order is tried (about
``n_vehicles ** n * n!`` evaluations), so keep ``n`` to 6 or 7 stops.
"""

from __future__ import annotations

import itertools

from policies.routing.errors import NoSolutionError
from policies.routing.evaluate import IntModel, evaluate_routes
from policies.routing.types import RoutingProblem, RoutingSolution

__all__ = ["brute_force"]


def brute_force(problem: RoutingProblem, max_stops: int = 8) -> RoutingSolution:
    """The cheapest feasible plan (cost + penalties of unserved optional stops) by enumeration.

    Raises:
        InvalidProblemError: more than ``max_stops`` stops.
        NoSolutionError: no feasible plan exists.
    """
    from policies.routing.errors import InvalidProblemError

    n = len(problem.stops)
    if n > max_stops:
        raise InvalidProblemError(f"stops: {n} stops is too many for brute force (max {max_stops})")
    im = IntModel.build(problem)
    vehicles = [vt for vt, v in enumerate(problem.vehicles) for _ in range(v.count)]
    slots = [*range(len(vehicles)), -1]  # -1: unserved
    best: RoutingSolution | None = None
    best_key = float("inf")
    for assign in itertools.product(slots, repeat=n):
        if any(a == -1 and problem.stops[i].required for i, a in enumerate(assign)):
            continue
        groups = [[i for i, a in enumerate(assign) if a == k] for k in range(len(vehicles))]
        for orders in itertools.product(*(itertools.permutations(g) for g in groups)):
            sol = evaluate_routes(
                problem,
                [(vehicles[k], list(o)) for k, o in enumerate(orders)],
                solver="brute_force",
                im=im,
            )
            key = sol.objective
            if sol.feasible and key < best_key:
                best, best_key = sol, key
    if best is None:
        raise NoSolutionError("brute force: no feasible plan")
    return best
