"""The PyVRP router: hybrid genetic search / iterated local search, the default for CVRP and
VRPTW with several depots, vehicle types, shifts and range limits."""

from __future__ import annotations

import time

from policies.routing.errors import UnsupportedProblemError
from policies.routing.evaluate import (
    BIG_S,
    OBJ_PER_CENT,
    IntModel,
    evaluate_routes,
    unit_distance_cost,
    unit_duration_cost,
)
from policies.routing.types import RoutingProblem, RoutingSolution, SolveOptions

__all__ = ["PyVRPRouter"]


class _Budget:
    """PyVRP stopping criterion on wall or CPU time that also reports progress."""

    def __init__(self, options: SolveOptions, seconds: float) -> None:
        self.clock = time.process_time if options.cpu_time else time.perf_counter
        self.t0 = self.clock()
        self.seconds = seconds
        self.on_progress = options.on_progress
        self.best = float("inf")

    def __call__(self, best_cost: float) -> bool:
        elapsed = self.clock() - self.t0
        if best_cost < self.best:
            self.best = best_cost
            if self.on_progress is not None:
                self.on_progress(elapsed, int(best_cost))
        return elapsed >= self.seconds


class PyVRPRouter:
    """Solves with PyVRP (``pip install pyvrp``); pickup-and-delivery pairs are not modelled.

    Unserved optional stops are PyVRP's unvisited prize-collecting clients (prize = penalty).
    """

    name = "pyvrp"

    def solve(self, problem: RoutingProblem, options: SolveOptions) -> RoutingSolution:
        """Route ``problem`` within ``options``' budget.

        Raises:
            UnsupportedProblemError: the problem has pickup-and-delivery pairs.
        """
        import pyvrp
        from pyvrp.stop import MaxIterations, MultipleCriteria

        if problem.pairs:
            raise UnsupportedProblemError("pyvrp router: pickup-and-delivery pairs (use ortools)")
        started = time.perf_counter()
        im = IntModel.build(problem)
        nd = len(problem.depots)
        n = problem.n_locations
        dist0 = im.dist_m[0]
        locations = [pyvrp.Location(x=float(d.x_km), y=float(d.y_km)) for d in problem.depots] + [
            pyvrp.Location(x=float(s.x_km), y=float(s.y_km)) for s in problem.stops
        ]
        depots = [
            pyvrp.Depot(location=j, tw_early=int(im.tw_early_s[j]), tw_late=int(im.tw_late_s[j]))
            for j in range(nd)
        ]
        clients = []
        for i, s in enumerate(problem.stops):
            loc = nd + i
            clients.append(
                pyvrp.Client(
                    location=loc,
                    delivery=[int(s.demand)],
                    service_duration=int(im.service_s[loc]),
                    tw_early=int(im.tw_early_s[loc]),
                    tw_late=int(im.tw_late_s[loc]),
                    prize=int(s.penalty_cents) * OBJ_PER_CENT if not s.required else 0,
                    required=s.required,
                )
            )
        vehicle_types = []
        active = [vt for vt, v in enumerate(problem.vehicles) if v.count > 0]
        for vt in active:
            v = problem.vehicles[vt]
            early, late = im.vehicle_window_s(problem, vt)
            vehicle_types.append(
                pyvrp.VehicleType(
                    num_available=v.count,
                    capacity=[int(v.capacity)],
                    start_depot=v.depot,
                    end_depot=v.depot,
                    fixed_cost=int(v.fixed_cost_cents) * OBJ_PER_CENT,
                    tw_early=early,
                    tw_late=late,
                    shift_duration=BIG_S
                    if v.max_shift_min is None
                    else round(v.max_shift_min * 60),
                    max_distance=BIG_S
                    if v.max_route_km is None
                    else round(v.max_route_km * 1000.0),
                    unit_distance_cost=unit_distance_cost(v, problem.co2_price_cents_per_kg),
                    unit_duration_cost=unit_duration_cost(v),
                    profile=im.profile_of[vt],
                    name=v.name,
                )
            )
        assert dist0.shape == (n, n)
        if not active:
            return evaluate_routes(problem, [], solver=self.name, started=started, im=im)
        data = pyvrp.ProblemData(
            locations,
            clients,
            depots,
            vehicle_types,
            list(im.dist_m),  # type: ignore[arg-type]
            list(im.dur_s),  # type: ignore[arg-type]
        )
        spent = 0.0 if options.cpu_time else time.perf_counter() - started
        stop: _Budget | MultipleCriteria = _Budget(options, max(0.0, options.time_limit_s - spent))
        if options.max_iterations is not None:
            stop = MultipleCriteria([stop, MaxIterations(options.max_iterations)])
        initial = None
        if options.warm_start:
            initial = pyvrp.Solution(
                data,
                [
                    pyvrp.Route(data, list(w.stops), active.index(w.vehicle_type))
                    for w in options.warm_start
                    if w.stops
                ],
            )
        # PyVRP's penalty bounds are absolute (per unit of excess load, per second of time warp);
        # they are meant for costs of about one per distance unit. Ours are per metre in 1e-4
        # cent, so the bounds scale with the cost of a km of the dearest vehicle.
        km_cost = 1000.0 * max(
            unit_distance_cost(problem.vehicles[vt], problem.co2_price_cents_per_kg)
            for vt in active
        )
        params = pyvrp.SolveParams(
            penalty=pyvrp.PenaltyParams(min_penalty=0.1 * km_cost, max_penalty=1e5 * km_cost)
        )
        result = pyvrp.solve(
            data,
            stop,
            seed=options.seed,
            collect_stats=False,
            display=False,
            params=params,
            initial_solution=initial,
        )
        routes = [
            (active[r.vehicle_type()], [a.idx for a in r.schedule() if a.is_client()])
            for r in result.best.routes()
        ]
        return evaluate_routes(problem, routes, solver=self.name, started=started, im=im)
