"""The solver-independent evaluator: exact schedules, prices and violations; problem checks."""

from __future__ import annotations

import numpy as np
import pytest

from policies.routing import (
    Depot,
    InvalidProblemError,
    RoutingProblem,
    Stop,
    VehicleType,
    evaluate_routes,
)


def line_problem() -> RoutingProblem:
    # 60 km/h: one km per minute. Depot at 0, stops at 10 km and 20 km.
    return RoutingProblem(
        depots=(Depot("d", 0.0, 0.0, open_min=0, close_min=600),),
        stops=(
            Stop("a", 10.0, 0.0, demand=2, service_min=5, tw_early_min=100, tw_late_min=120),
            Stop("b", 20.0, 0.0, demand=3, service_min=5, tw_early_min=0, tw_late_min=200),
        ),
        vehicles=(
            VehicleType(
                "van",
                count=1,
                capacity=5,
                speed_kmh=60.0,
                cost_per_km_cents=50,
                cost_per_hour_cents=1200,
                fixed_cost_cents=1000,
                co2_g_per_km=200.0,
                shift_start_min=60,
                max_shift_min=90,
            ),
        ),
    )


def test_departure_is_delayed_to_avoid_waiting_and_the_schedule_is_exact() -> None:
    sol = evaluate_routes(line_problem(), [(0, [0, 1])], solver="hand")
    (r,) = sol.routes
    assert sol.feasible, sol.violations
    assert r.start_min == 90.0  # leaves at 90, not at the shift start 60, to arrive at 100
    assert r.arrival_min == (100.0, 115.0)
    assert r.end_min == 140.0
    assert r.distance_km == 40.0
    assert r.load == 5
    # 1000 fixed + 40 km x 50 + 50 min x 1200 / 60
    assert r.cost_cents == 1000 + 2000 + 1000
    assert r.co2_g == 8000.0


def test_every_broken_constraint_is_named() -> None:
    p = line_problem()
    sol = evaluate_routes(p, [(0, [1, 0])], solver="hand")  # b first, then a by its window
    assert sol.feasible
    tight = RoutingProblem(
        depots=p.depots,
        stops=(Stop("a", 10.0, 0.0, demand=7, tw_early_min=0, tw_late_min=5), p.stops[1]),
        vehicles=p.vehicles,
    )
    bad = evaluate_routes(tight, [(0, [0, 1]), (0, [])], solver="hand")
    text = " | ".join(bad.violations)
    assert not bad.feasible
    assert "time windows missed" in text
    assert "load 10 > capacity 5" in text
    missing = evaluate_routes(tight, [(0, [1])], solver="hand")
    assert missing.unserved == (0,)
    assert "required stop 0 (a) unserved" in missing.violations


def test_vehicle_count_and_range_are_checked() -> None:
    p = RoutingProblem(
        depots=(Depot("d", 0.0, 0.0),),
        stops=(Stop("a", 3.0, 4.0), Stop("b", -3.0, -4.0)),
        vehicles=(VehicleType("drone", count=1, max_route_km=9.0),),
    )
    sol = evaluate_routes(p, [(0, [0]), (0, [1])], solver="hand")
    assert any("2 routes > count 1" in v for v in sol.violations)
    assert any("10000 m > range 9.0 km" in v for v in sol.violations)


def test_problem_validation_names_the_field_and_value() -> None:
    with pytest.raises(InvalidProblemError, match=r"vehicles\[0\].depot: 3"):
        RoutingProblem((Depot("d", 0, 0),), (), (VehicleType("v", depot=3),))
    with pytest.raises(InvalidProblemError, match=r"distance_km: shape \(2, 2\)"):
        RoutingProblem(
            (Depot("d", 0, 0),),
            (Stop("a", 1, 1), Stop("b", 2, 2)),
            (VehicleType("v"),),
            distance_km=np.zeros((2, 2)),
        )
    with pytest.raises(InvalidProblemError, match=r"stops\[0\].tw_late_min: 5"):
        RoutingProblem(
            (Depot("d", 0, 0),),
            (Stop("a", 1, 1, tw_early_min=10, tw_late_min=5),),
            (VehicleType("v"),),
        )
    with pytest.raises(InvalidProblemError, match="pairs"):
        RoutingProblem(
            (Depot("d", 0, 0),),
            (Stop("a", 1, 1, demand=2), Stop("b", 2, 2, demand=-1)),
            (VehicleType("v"),),
            pairs=((0, 1),),
        )
