"""The generalising learned replenishment policy served through the API: each SKU at its own
demand scale, nothing for a SKU without demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api_helpers import seed

from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.schemas import PolicySpec, PosSale, PosSaleBatch, ReplenishmentPlanRequest
from policies.replenishment.types import ReplenishmentObservation
from policies.rl.sku_policy import SkuProjectedPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_sku_projected_plans_each_sku_at_its_own_scale_and_nothing_without_demand(
    staff: InProcessClient, clock: ManualClock
) -> None:
    s = seed(staff, n_skus=3, stock=60)
    for day in (1, 2):  # 2/day, none, 20/day
        clock.set(T0 + timedelta(days=day, hours=10))
        staff.pos_sales(
            PosSaleBatch(
                location=s.location,
                sales=[PosSale(sku=s.skus[0], quantity=2), PosSale(sku=s.skus[2], quantity=20)],
            )
        )
    clock.set(T0 + timedelta(days=3, hours=8))
    body = ReplenishmentPlanRequest(
        location=s.location,
        skus=s.skus,
        policy=PolicySpec(name="sku_projected", params={"penalty_cost": 19.0}),
        lead_time_days=2,
        history_days=2,
    )
    plan = staff.plan_replenishment(body)
    assert plan.policy == "sku_projected" and plan.params == {"penalty_cost": 19.0}
    got = [(ln.demand_mean, ln.inventory_position, ln.order_quantity) for ln in plan.lines]
    assert [g[:2] for g in got] == [(2.0, 56), (0.0, 60), (20.0, 20)]
    # the same decisions as the library policy on the same observation
    obs = ReplenishmentObservation.create(
        [56, 60, 20], [[0, 0]] * 3, lead_time=2, demand_mean=[2.0, 0.0, 20.0]
    )
    want = SkuProjectedPolicy(penalty_cost=19.0).decide(obs).orders.tolist()
    assert [g[2] for g in got] == want
    assert want[0] == 0 and want[1] == 0  # well stocked at 2/day; no demand at all
    # the 20 on hand run out before an order placed now arrives: it covers the arrival day's
    # demand, Poisson(20), at a high fractile, within the cap 20 + 2.683 sqrt(20) + 1
    assert 20 < want[2] <= 33
    assert all(ln.error is None for ln in plan.lines)
