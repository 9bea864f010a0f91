"""The OR-Tools router: constraint-programming routing with guided local search.

It models what PyVRP does not: pickup-and-delivery pairs (same vehicle, pickup first), next
to capacities, time windows, shifts, range limits (drones) and several depots.
"""

from __future__ import annotations

import time

from policies.routing.errors import NoSolutionError
from policies.routing.evaluate import (
    OBJ_PER_CENT,
    IntModel,
    evaluate_routes,
    unit_distance_cost,
    unit_duration_cost,
)
from policies.routing.types import RoutingProblem, RoutingSolution, SolveOptions

__all__ = ["ORToolsRouter"]


class ORToolsRouter:
    """Solves with OR-Tools routing: path-cheapest-arc start, then guided local search.

    ``SolveOptions.max_iterations`` maps to OR-Tools' solution limit; the search is
    single-threaded, so with that limit the result does not depend on the clock.
    """

    name = "ortools"

    def solve(self, problem: RoutingProblem, options: SolveOptions) -> RoutingSolution:
        """Route ``problem`` within ``options``' budget.

        Raises:
            NoSolutionError: OR-Tools found no solution (e.g. a required stop no vehicle can reach).
        """
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2

        started = time.perf_counter()
        im = IntModel.build(problem)
        nd = len(problem.depots)
        n = problem.n_locations
        vtypes = [vt for vt, v in enumerate(problem.vehicles) for _ in range(v.count)]
        if not vtypes:
            return evaluate_routes(problem, [], solver=self.name, started=started, im=im)
        starts = [problem.vehicles[vt].depot for vt in vtypes]
        manager = pywrapcp.RoutingIndexManager(n, len(vtypes), starts, starts)
        routing = pywrapcp.RoutingModel(manager)

        n_prof = len(im.dist_m)
        dist_cb = [routing.RegisterTransitMatrix(im.dist_m[p].tolist()) for p in range(n_prof)]
        time_cb = [
            routing.RegisterTransitMatrix((im.dur_s[p] + im.service_s[:, None]).tolist())
            for p in range(n_prof)
        ]
        cost_cb: dict[tuple[int, int], int] = {}
        for k, vt in enumerate(vtypes):
            v = problem.vehicles[vt]
            prof = im.profile_of[vt]
            unit = unit_distance_cost(v, problem.co2_price_cents_per_kg)
            if (prof, unit) not in cost_cb:
                cost_cb[(prof, unit)] = routing.RegisterTransitMatrix(
                    (im.dist_m[prof] * unit).tolist()
                )
            routing.SetArcCostEvaluatorOfVehicle(cost_cb[(prof, unit)], k)
            routing.SetFixedCostOfVehicle(int(v.fixed_cost_cents) * OBJ_PER_CENT, k)

        horizon = int(
            max(im.tw_late_s.max(), *(im.vehicle_window_s(problem, vt)[1] for vt in vtypes))
        )
        routing.AddDimensionWithVehicleTransits(
            [time_cb[im.profile_of[vt]] for vt in vtypes], horizon, horizon, False, "time"
        )
        tdim = routing.GetDimensionOrDie("time")
        for i in range(nd, n):
            tdim.CumulVar(manager.NodeToIndex(i)).SetRange(
                int(im.tw_early_s[i]), int(im.tw_late_s[i])
            )
        for k, vt in enumerate(vtypes):
            v = problem.vehicles[vt]
            early, late = im.vehicle_window_s(problem, vt)
            tdim.CumulVar(routing.Start(k)).SetRange(early, late)
            tdim.CumulVar(routing.End(k)).SetRange(early, late)
            if v.max_shift_min is not None:
                tdim.SetSpanUpperBoundForVehicle(round(v.max_shift_min * 60), k)
            tdim.SetSpanCostCoefficientForVehicle(unit_duration_cost(v), k)

        load_cb = routing.RegisterUnaryTransitVector([int(d) for d in im.demand])
        routing.AddDimensionWithVehicleCapacity(
            load_cb, 0, [int(problem.vehicles[vt].capacity) for vt in vtypes], True, "load"
        )
        if any(problem.vehicles[vt].max_route_km is not None for vt in vtypes):
            caps = [
                10**12
                if problem.vehicles[vt].max_route_km is None
                else round(problem.vehicles[vt].max_route_km * 1000.0)  # type: ignore[operator]
                for vt in vtypes
            ]
            routing.AddDimensionWithVehicleTransitAndCapacity(
                [dist_cb[im.profile_of[vt]] for vt in vtypes], 0, caps, True, "range"
            )
        for p, d in problem.pairs:
            pi, di = manager.NodeToIndex(nd + p), manager.NodeToIndex(nd + d)
            routing.AddPickupAndDelivery(pi, di)
            routing.solver().Add(routing.VehicleVar(pi) == routing.VehicleVar(di))
            routing.solver().Add(tdim.CumulVar(pi) <= tdim.CumulVar(di))
        for i, s in enumerate(problem.stops):
            if not s.required:
                routing.AddDisjunction(
                    [manager.NodeToIndex(nd + i)], int(s.penalty_cents) * OBJ_PER_CENT
                )
        used_depots = set(starts)
        for j in range(nd):
            if j not in used_depots:  # a depot no vehicle uses is a node nobody must visit
                routing.AddDisjunction([manager.NodeToIndex(j)], 0)

        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = (
            routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
            if not problem.pairs
            else routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
        )
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        )
        budget = max(0.01, options.time_limit_s - (time.perf_counter() - started))
        if options.cpu_time:
            # OR-Tools' own limit is wall time: a callback limit on CPU time, and a loose wall
            # limit as a backstop.
            until = time.process_time() + options.time_limit_s
            routing.AddSearchMonitor(
                routing.solver().CustomLimit(lambda: time.process_time() >= until)
            )
            budget = max(budget * 50.0, 3600.0)
        params.time_limit.FromMilliseconds(max(10, round(budget * 1000)))
        if options.on_progress is not None:
            report = options.on_progress
            clock = time.process_time if options.cpu_time else time.perf_counter
            t0 = clock()
            best = [2**62]

            def at_solution() -> None:
                cost = int(routing.CostVar().Value())
                if cost < best[0]:
                    best[0] = cost
                    report(clock() - t0, cost)

            routing.AddAtSolutionCallback(at_solution)
        if options.max_iterations is not None:
            params.solution_limit = options.max_iterations
        routing.CloseModelWithParameters(params)

        solution = None
        if options.warm_start:
            free = list(range(len(vtypes)))
            per_vehicle: list[list[int]] = [[] for _ in vtypes]
            for w in options.warm_start:
                slot = next((k for k in free if vtypes[k] == w.vehicle_type), None)
                if slot is None or not w.stops:
                    continue
                free.remove(slot)
                per_vehicle[slot] = [manager.NodeToIndex(nd + s) for s in w.stops]
            initial = routing.ReadAssignmentFromRoutes(per_vehicle, True)
            if initial is not None:
                solution = routing.SolveFromAssignmentWithParameters(initial, params)
        if solution is None:
            solution = routing.SolveWithParameters(params)
        if solution is None:
            raise NoSolutionError(f"ortools: no solution (status {routing.status()})")
        routes: list[tuple[int, list[int]]] = []
        for k, vt in enumerate(vtypes):
            idx = solution.Value(routing.NextVar(routing.Start(k)))
            stops: list[int] = []
            while not routing.IsEnd(idx):
                node = manager.IndexToNode(idx)
                if node >= nd:
                    stops.append(node - nd)
                idx = solution.Value(routing.NextVar(idx))
            routes.append((vt, stops))
        return evaluate_routes(problem, routes, solver=self.name, started=started, im=im)
