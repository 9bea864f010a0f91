"""Both routers against brute-force optima on tiny instances, and feasibility on harder ones."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pytest

from policies.routing import (
    Depot,
    InvalidProblemError,
    RoutingProblem,
    RoutingSolution,
    SolveOptions,
    Stop,
    UnsupportedProblemError,
    VehicleType,
    WarmRoute,
    make_router,
)
from policies.routing.exact import brute_force

SOLVERS = ("pyvrp", "ortools")
OPTS = SolveOptions(time_limit_s=5.0, max_iterations=300, seed=1)


def _stops(rng: np.random.Generator, n: int, **kw: object) -> tuple[Stop, ...]:
    xy = rng.uniform(-10.0, 10.0, size=(n, 2))
    demand = rng.integers(1, 5, size=n)
    return tuple(
        Stop(f"s{i}", float(xy[i, 0]), float(xy[i, 1]), demand=int(demand[i]), **kw)  # type: ignore[arg-type]
        for i in range(n)
    )


def cvrp(seed: int = 3) -> RoutingProblem:
    rng = np.random.default_rng(seed)
    return RoutingProblem(
        depots=(Depot("d", 0.0, 0.0),),
        stops=_stops(rng, 6),
        vehicles=(VehicleType("van", count=2, capacity=9, cost_per_km_cents=50),),
    )


def vrptw() -> RoutingProblem:
    """Six stops on a line with windows that force a zig-zag order."""
    stops = (
        Stop("a", 10.0, 0.0, demand=1, service_min=5, tw_early_min=60, tw_late_min=75),
        Stop("b", 20.0, 0.0, demand=1, service_min=5, tw_early_min=0, tw_late_min=40),
        Stop("c", 30.0, 0.0, demand=1, service_min=5, tw_early_min=100, tw_late_min=140),
        Stop("d", -10.0, 0.0, demand=1, service_min=5, tw_early_min=0, tw_late_min=300),
        Stop("e", -20.0, 5.0, demand=1, service_min=5, tw_early_min=200, tw_late_min=260),
        Stop("f", 5.0, 5.0, demand=1, service_min=5, tw_early_min=0, tw_late_min=30),
    )
    return RoutingProblem(
        depots=(Depot("d", 0.0, 0.0, open_min=0, close_min=480),),
        stops=stops,
        vehicles=(
            VehicleType(
                "van",
                count=2,
                capacity=4,
                speed_kmh=60.0,
                cost_per_km_cents=40,
                cost_per_hour_cents=600,
                max_shift_min=240,
            ),
        ),
    )


def multi_depot() -> RoutingProblem:
    rng = np.random.default_rng(11)
    west = rng.uniform(-2, 2, size=(3, 2)) + np.array([-20.0, 0.0])
    east = rng.uniform(-2, 2, size=(3, 2)) + np.array([20.0, 0.0])
    xy = np.vstack([west, east])
    return RoutingProblem(
        depots=(Depot("west", -18.0, 0.0), Depot("east", 18.0, 0.0)),
        stops=tuple(Stop(f"s{i}", float(x), float(y), demand=2) for i, (x, y) in enumerate(xy)),
        vehicles=(
            VehicleType("w", depot=0, count=1, capacity=8, cost_per_km_cents=30),
            VehicleType("e", depot=1, count=1, capacity=8, cost_per_km_cents=30),
        ),
    )


@functools.cache
def optimum(make: Callable[[], RoutingProblem]) -> RoutingSolution:
    return brute_force(make())


@pytest.mark.slow
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("make", [cvrp, vrptw, multi_depot], ids=["cvrp", "vrptw", "mdvrp"])
def test_router_finds_the_brute_force_optimum_on_tiny_instances(solver, make) -> None:
    problem = make()
    best = optimum(make)
    sol = make_router(solver).solve(problem, OPTS)
    assert sol.feasible, sol.violations
    assert sol.objective == best.objective
    assert sol.unserved == ()


def test_multi_depot_routes_start_at_the_near_depot() -> None:
    sol = make_router("pyvrp").solve(multi_depot(), OPTS)
    for r in sol.routes:
        xs = [multi_depot().stops[s].x_km for s in r.stops]
        assert all((x < 0) == (r.depot == 0) for x in xs)


@pytest.mark.parametrize("solver", SOLVERS)
def test_optional_stops_are_dropped_when_the_fleet_is_too_small(solver) -> None:
    rng = np.random.default_rng(5)
    base = _stops(rng, 6)
    stops = tuple(
        Stop(s.name, s.x_km, s.y_km, demand=s.demand, required=False, penalty_cents=5000)
        for s in base
    )
    problem = RoutingProblem(
        depots=(Depot("d", 0.0, 0.0),),
        stops=stops,
        vehicles=(VehicleType("van", count=1, capacity=6, cost_per_km_cents=50),),
    )
    best = brute_force(problem)
    sol = make_router(solver).solve(problem, OPTS)
    assert sol.feasible, sol.violations
    assert sol.unserved  # 6 stops of 1-4 units never fit in 6 units
    assert sum(problem.stops[s].demand for r in sol.routes for s in r.stops) <= 6
    assert sol.objective == best.objective


def pickup_delivery() -> RoutingProblem:
    stops = (
        Stop("p0", 5.0, 0.0, demand=3),
        Stop("d0", 10.0, 5.0, demand=-3),
        Stop("p1", -5.0, 2.0, demand=4),
        Stop("d1", 8.0, -3.0, demand=-4),
        Stop("p2", 0.0, 6.0, demand=2),
        Stop("d2", -6.0, -6.0, demand=-2),
    )
    return RoutingProblem(
        depots=(Depot("d", 0.0, 0.0),),
        stops=stops,
        vehicles=(VehicleType("van", count=2, capacity=5, cost_per_km_cents=50),),
        pairs=((0, 1), (2, 3), (4, 5)),
    )


@pytest.mark.slow
def test_ortools_routes_pickup_and_delivery_optimally() -> None:
    problem = pickup_delivery()
    best = brute_force(problem)
    sol = make_router("ortools").solve(problem, OPTS)
    assert sol.feasible, sol.violations
    assert sol.objective == best.objective
    for r in sol.routes:
        pos = {s: k for k, s in enumerate(r.stops)}
        for p, d in problem.pairs:
            assert (p in pos) == (d in pos)
            if p in pos:
                assert pos[p] < pos[d]


def test_pyvrp_refuses_pairs_and_auto_sends_them_to_ortools() -> None:
    with pytest.raises(UnsupportedProblemError):
        make_router("pyvrp").solve(pickup_delivery(), OPTS)
    assert make_router("auto").solve(pickup_delivery(), OPTS).solver == "ortools"
    assert make_router("auto").solve(cvrp(), OPTS).solver == "pyvrp"


@pytest.mark.parametrize("solver", SOLVERS)
def test_drone_range_and_payload_limits_hold(solver) -> None:
    """Drones (straight-line, 5 km range, 2 units) take only near, light parcels."""
    rng = np.random.default_rng(8)
    xy = rng.uniform(-6.0, 6.0, size=(12, 2))
    stops = tuple(
        Stop(f"s{i}", float(x), float(y), demand=1 + i % 3) for i, (x, y) in enumerate(xy)
    )
    problem = RoutingProblem(
        depots=(Depot("d", 0.0, 0.0),),
        stops=stops,
        vehicles=(
            VehicleType("van", count=1, capacity=40, cost_per_km_cents=80, co2_g_per_km=180.0),
            VehicleType(
                "drone",
                count=3,
                capacity=2,
                speed_kmh=60.0,
                cost_per_km_cents=5,
                co2_g_per_km=5.0,
                max_route_km=5.0,
                distance_factor=0.8,
            ),
        ),
    )
    sol = make_router(solver).solve(problem, OPTS)
    assert sol.feasible, sol.violations
    drones = [r for r in sol.routes if r.vehicle_type == 1]
    assert drones, "cheap drones should take some parcels"
    for r in drones:
        assert r.distance_km <= 5.0 + 1e-9
        assert r.load <= 2


@pytest.mark.parametrize("solver", SOLVERS)
def test_same_seed_and_iteration_budget_give_identical_routes(solver) -> None:
    rng = np.random.default_rng(21)
    problem = RoutingProblem(
        depots=(Depot("d", 0.0, 0.0),),
        stops=_stops(rng, 40),
        vehicles=(VehicleType("van", count=8, capacity=20),),
    )
    opts = SolveOptions(time_limit_s=60.0, max_iterations=60, seed=7)
    a = make_router(solver).solve(problem, opts)
    b = make_router(solver).solve(problem, opts)
    assert a.feasible
    assert [r.stops for r in a.routes] == [r.stops for r in b.routes]


@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start_is_never_worsened(solver) -> None:
    problem = cvrp()
    best = optimum(cvrp)
    warm = tuple(WarmRoute(r.vehicle_type, r.stops) for r in best.routes)
    opts = SolveOptions(time_limit_s=5.0, max_iterations=5, seed=0, warm_start=warm)
    sol = make_router(solver).solve(problem, opts)
    assert sol.feasible
    assert sol.objective == best.objective


@pytest.mark.parametrize("solver", SOLVERS)
def test_shift_length_splits_work_across_vehicles(solver) -> None:
    """Each stop takes an hour of service; a 3-hour shift fits two, so four stops need 2 vans."""
    stops = tuple(Stop(f"s{i}", 1.0 + i, 0.0, demand=1, service_min=60) for i in range(4))
    problem = RoutingProblem(
        depots=(Depot("d", 0.0, 0.0),),
        stops=stops,
        vehicles=(VehicleType("van", count=3, capacity=10, speed_kmh=30.0, max_shift_min=180),),
    )
    sol = make_router(solver).solve(problem, OPTS)
    assert sol.feasible, sol.violations
    assert sol.n_vehicles_used == 2
    assert all(r.duration_min <= 180 for r in sol.routes)


def test_make_router_rejects_an_unknown_name() -> None:
    with pytest.raises(InvalidProblemError, match="'gurobi'"):
        make_router("gurobi")
