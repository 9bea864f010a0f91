"""The daily planner: orders stay with their depot, slots and shifts hold, big days are cut
into sectors, an undersized fleet routes the nearest orders, and the plan is reproducible."""

from __future__ import annotations

import math

import numpy as np

from policies.routing import Depot, VehicleType
from policies.routing.daily import DailyPlanConfig, DeliveryOrder, plan_deliveries

DEPOTS = (Depot("west", -20.0, 0.0), Depot("east", 20.0, 0.0))
SLOTS = [(540.0, 660.0), (660.0, 780.0), (780.0, 900.0), (900.0, 1020.0)]
CFG = DailyPlanConfig(max_iterations=60, time_limit_s=60.0, seed=3)


def vans(count: int = 3, capacity: int = 60) -> tuple[VehicleType, ...]:
    return tuple(
        VehicleType(
            f"van{j}",
            depot=j,
            count=count,
            capacity=capacity,
            speed_kmh=30.0,
            cost_per_km_cents=35,
            cost_per_hour_cents=2500,
            shift_start_min=480.0,
            shift_end_min=1080.0,
            max_shift_min=600.0,
            distance_factor=1.3,
        )
        for j in range(2)
    )


def orders(n: int, seed: int = 0, spread: float = 6.0, penalty: int = 1690) -> list[DeliveryOrder]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        j = int(rng.integers(2))
        x, y = DEPOTS[j].x_km + rng.normal(0, spread), rng.normal(0, spread)
        s = SLOTS[int(rng.integers(len(SLOTS)))]
        out.append(
            DeliveryOrder(i, j, float(x), float(y), int(rng.integers(1, 6)), *s, 5.0, penalty)
        )
    return out


def test_each_order_is_routed_from_its_own_depot_inside_its_slot_and_shift() -> None:
    os_ = orders(60, penalty=100_000)  # every order worth a detour
    plan = plan_deliveries(os_, DEPOTS, vans(), CFG)
    assert plan.feasible, plan.violations
    routed = [i for r in plan.routes for i in r.orders]
    assert sorted(routed + list(plan.unrouted)) == list(range(60))
    assert len(routed) == 60
    for r in plan.routes:
        assert r.start_min >= 480.0 and r.end_min <= 1080.0
        assert r.load <= r.capacity
        for i, t in zip(r.orders, r.arrival_min, strict=True):
            assert os_[i].depot == r.depot
            assert os_[i].slot_start_min <= t <= os_[i].slot_end_min


def test_orders_out_of_reach_of_a_shift_are_left_out_before_solving() -> None:
    far = DeliveryOrder(999, 0, -20.0, 400.0, 1, 540.0, 1020.0, 5.0, 1690)  # 520 road km away
    plan = plan_deliveries([*orders(10), far], DEPOTS, vans(), CFG)
    assert plan.unreachable == (10,)
    assert 10 in plan.unrouted


def test_a_big_day_is_cut_into_sectors_that_share_the_vans() -> None:
    os_ = orders(700, seed=1, spread=10.0)
    cfg = DailyPlanConfig(max_iterations=10, time_limit_s=60.0, max_cluster=100, seed=1)
    plan = plan_deliveries(os_, DEPOTS, vans(count=6, capacity=400), cfg)
    assert plan.feasible, plan.violations
    assert plan.sectors == 8  # ~350 orders per depot in sectors of at most 100
    per_depot = [sum(1 for r in plan.routes if r.depot == j) for j in range(2)]
    assert all(1 <= n <= 6 for n in per_depot)


def test_an_undersized_fleet_routes_the_nearest_orders() -> None:
    os_ = orders(700, seed=1, spread=10.0)
    cfg = DailyPlanConfig(max_iterations=20, time_limit_s=60.0, max_cluster=100, seed=1)
    plan = plan_deliveries(os_, DEPOTS, vans(count=2, capacity=40), cfg)
    assert plan.feasible, plan.violations
    assert len(plan.unrouted) > 550  # 4 vans of 40 units cannot take 700 orders
    routed = [i for r in plan.routes for i in r.orders]

    def dist(i: int) -> float:
        o = os_[i]
        return math.hypot(o.x_km - DEPOTS[o.depot].x_km, o.y_km)

    assert max(dist(i) for i in routed) < np.median([dist(i) for i in plan.unrouted])


def test_the_same_seed_gives_the_same_plan() -> None:
    a = plan_deliveries(orders(40, seed=4), DEPOTS, vans(), CFG)
    b = plan_deliveries(orders(40, seed=4), DEPOTS, vans(), CFG)
    assert [r.orders for r in a.routes] == [r.orders for r in b.routes]
