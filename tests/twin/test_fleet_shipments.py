"""Online orders go through allocation and shipments: the fleet allocates each one and moves
its shipment picked, packed, shipped, delivered (failed and re-delivered on a failed stop); the
twin still reconciles with the ledger; refunds come off the net revenue; the scenario switch
``fleet.shipments: false`` keeps the older order transitions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from twin_helpers import clock_for, small_baseline

from api.client.inprocess import InProcessClient
from api.schemas import MovementKind, OrderStatus
from api.schemas_fulfilment import ShipmentStatus
from scenarios.schema import Scenario, with_overrides
from twin.fleet import FleetSettings
from twin.reconcile import check_conservation, reconcile_stock
from twin.runner import run_scenario

pytestmark = pytest.mark.slow


def _scenario(shipments: bool) -> Scenario:
    sc = small_baseline(days=4, n_skus=16, population=250)
    world = sc.model_dump()["world"]
    world["fleet"]["shipments"] = shipments
    sc = with_overrides(
        sc,
        world=world,
        returns={
            "rate": 0.5,
            "delay_days_min": 0.2,
            "delay_days_max": 0.5,
            "transit_days": 0.2,
            "inspect_days": 0.1,
        },
    )
    return sc


def _run(sc: Scenario) -> tuple[Any, InProcessClient]:
    clock = clock_for(sc)
    client = InProcessClient.for_sqlite(":memory:", clock)
    return run_scenario(sc, write=False, client=client, clock=clock), client


def test_the_fleet_ships_online_orders_as_shipments_and_reconciles_with_the_ledger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = FleetSettings.from_scenario

    def failing(fleet: object, book: Any = None) -> FleetSettings:
        return replace(plain(fleet, book), failure_rate=0.9)  # the schema has no such knob

    monkeypatch.setattr(FleetSettings, "from_scenario", staticmethod(failing))
    out, client = _run(_scenario(shipments=True))
    try:
        k, api = out.kpis, out.kpis["api"]
        assert k["fleet_orders_delivered"] > 0
        assert api["allocate_order"]["calls"] > 0
        assert api["allocate_order"]["errors"] == 0
        assert api["transition_shipment"]["errors"] == 0
        assert "batch_transition_orders" not in api or api["batch_transition_orders"]["calls"] == 0
        delivered = client.list_orders(status=OrderStatus.DELIVERED, limit=50).items
        delivered += client.list_orders(status=OrderStatus.RETURNED, limit=50).items
        assert delivered
        for o in delivered:
            ships = client.list_shipments(o.id)
            assert [s.status for s in ships] == [ShipmentStatus.DELIVERED]
            assert sorted((ln.sku, ln.quantity) for ln in ships[0].lines) == sorted(
                (ln.sku, ln.quantity) for ln in o.lines
            )
        refs = {
            m.reference
            for loc in out.result.world.location_codes[out.result.world.n_stores :]
            for m in client.movements(location=loc, limit=500).items
            if m.kind is MovementKind.SALE
        }
        assert any(r and r.startswith("shipment-") for r in refs)
        attempts = [s.attempts for o in client.list_orders(limit=500).items
                    for s in client.list_shipments(o.id)]  # fmt: skip
        assert max(attempts) >= 1  # a stop failed; re-delivered (failed -> shipped), no error
        stock = reconcile_stock(out.result, client)
        assert stock.ok, stock.examples
        cons = check_conservation(out.result, client)
        assert cons.ok, cons.examples
        assert k["net_revenue_cents"] == k["revenue_cents"] - k["returns_refund_cents"]
        assert k["returns_refund_cents"] > 0 and k["net_revenue_cents"] < k["revenue_cents"]
    finally:
        client.close()


def test_the_switch_off_keeps_the_order_transitions() -> None:
    out, client = _run(_scenario(shipments=False))
    try:
        api = out.kpis["api"]
        assert out.kpis["fleet_orders_delivered"] > 0
        assert "allocate_order" not in api or api["allocate_order"]["calls"] == 0
        stock = reconcile_stock(out.result, client)
        assert stock.ok, stock.examples
    finally:
        client.close()
