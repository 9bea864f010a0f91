"""Allocation of paid orders to fulfilment nodes: weighted cost, split, merge in transit, stock
moved through the ledger without oversell (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from api_helpers import seed

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.schemas import (
    Channel,
    CheckoutLine,
    CheckoutRequest,
    LocationCreate,
    LocationKind,
    OrderStatus,
    ReceiptCreate,
    StockLine,
    StockQuery,
)
from api.schemas_fulfilment import AllocationRequest, ShipmentTransition, WeightsIn
from api.services.allocation import Node, plan_allocation
from api.services.carriers import DEFAULT_FILE, load_carriers
from api.services.stock import ledger_mismatches
from policies.routing.carriers import Origin

CUSTOMER = {"lat": 52.53, "lon": 13.45}


def _loc(staff: InProcessClient, code: str, kind: LocationKind, lat: float, lon: float) -> str:
    staff.create_location(LocationCreate(code=code, kind=kind, name=code, lat=lat, lon=lon))
    return code


def _order(staff: InProcessClient, loc: str, lines: dict[str, int]) -> int:
    o = staff.checkout(
        CheckoutRequest(
            lines=[CheckoutLine(sku=s, quantity=q) for s, q in lines.items()],
            location=loc,
            channel=Channel.WEB,
            customer_id=f"c-{uuid.uuid4().hex[:6]}",
        )
    )
    assert o.status is OrderStatus.PAID
    return o.id


def _levels(
    staff: InProcessClient, skus: list[str], locs: list[str]
) -> dict[tuple[str, str], tuple[int, int]]:
    got = staff.stock_levels(StockQuery(skus=skus, locations=locs))
    return {(r.sku, r.location): (r.on_hand, r.reserved) for r in got}


def _ledger_ok(staff: InProcessClient) -> None:
    with staff.ctx.engine.connect() as conn:
        assert ledger_mismatches(conn) == []


def test_a_whole_order_goes_from_the_one_node_holding_everything(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=2, stock=10)
    store = _loc(staff, f"{s.prefix}-ST", LocationKind.STORE, 52.52, 13.41)
    staff.receive(ReceiptCreate(location=store, lines=[StockLine(sku=s.skus[0], quantity=3)]))
    oid = _order(staff, s.location, {s.skus[0]: 2, s.skus[1]: 1})
    ships = staff.allocate_order(oid, AllocationRequest(**CUSTOMER))
    assert [(x.kind.value, x.origin, x.status.value) for x in ships] == [
        ("direct", s.location, "allocated")
    ]
    assert {(ln.sku, ln.quantity) for ln in ships[0].lines} == {(s.skus[0], 2), (s.skus[1], 1)}
    assert staff.get_order(oid).status is OrderStatus.ALLOCATED
    lv = _levels(staff, s.skus, [s.location, store])
    assert lv[(s.skus[0], s.location)] == (10, 2) and lv[(s.skus[0], store)] == (3, 0)
    # asking again answers the same shipments (natural idempotence)
    assert staff.allocate_order(oid, AllocationRequest(**CUSTOMER)) == ships


def test_weights_decide_between_near_store_and_far_warehouse_and_split_the_order(
    staff: InProcessClient,
) -> None:
    s = seed(staff, n_skus=2, stock=10)  # warehouse at (52.5, 13.4), ~4 km from the customer
    store = _loc(staff, f"{s.prefix}-ST", LocationKind.STORE, 52.531, 13.451)  # next door
    staff.receive(ReceiptCreate(location=store, lines=[StockLine(sku=s.skus[0], quantity=5)]))
    oid = _order(staff, s.location, {s.skus[0]: 1, s.skus[1]: 1})
    near = AllocationRequest(
        **CUSTOMER, weights=WeightsIn(distance=10_000.0, split=0.0, stock=0.0, carrier=0.0)
    )
    ships = staff.allocate_order(oid, near)
    by_origin = {x.origin: {ln.sku for ln in x.lines} for x in ships}
    assert by_origin == {store: {s.skus[0]}, s.location: {s.skus[1]}}
    lv = _levels(staff, s.skus, [s.location, store])
    assert lv[(s.skus[0], store)] == (5, 1)  # the reservation moved to the store
    assert lv[(s.skus[0], s.location)] == (10, 0) and lv[(s.skus[1], s.location)] == (10, 1)
    _ledger_ok(staff)


def test_without_split_one_node_must_hold_everything_or_409_and_nothing_moves(
    staff: InProcessClient,
) -> None:
    s = seed(staff, n_skus=2, stock=10)
    mfc = _loc(staff, f"{s.prefix}-MFC", LocationKind.MFC, 52.52, 13.44)
    staff.receive(ReceiptCreate(location=mfc, lines=[StockLine(sku=s.skus[0], quantity=5)]))
    oid = _order(staff, s.location, {s.skus[0]: 1, s.skus[1]: 1})
    with pytest.raises(CommerceError) as exc:
        staff.allocate_order(
            oid, AllocationRequest(**CUSTOMER, allow_split=False, kinds=[LocationKind.MFC])
        )
    assert (exc.value.status, exc.value.code) == (409, "INSUFFICIENT_STOCK")
    assert staff.get_order(oid).status is OrderStatus.PAID
    assert _levels(staff, s.skus, [s.location])[(s.skus[0], s.location)] == (10, 1)
    ships = staff.allocate_order(
        oid, AllocationRequest(**CUSTOMER, kinds=[LocationKind.MFC, LocationKind.WAREHOUSE])
    )
    assert sorted(x.origin for x in ships) in ([mfc, s.location], [s.location])


def test_split_shipments_merge_at_a_consolidation_point(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=2, stock=0)
    a = _loc(staff, f"{s.prefix}-A", LocationKind.WAREHOUSE, 52.40, 13.30)
    b = _loc(staff, f"{s.prefix}-B", LocationKind.SUPPLIER, 52.60, 13.60)  # drop-ship vendor
    hub = _loc(staff, f"{s.prefix}-HUB", LocationKind.MFC, 52.52, 13.44)
    staff.receive(ReceiptCreate(location=a, lines=[StockLine(sku=s.skus[0], quantity=4)]))
    staff.receive(ReceiptCreate(location=b, lines=[StockLine(sku=s.skus[1], quantity=4)]))
    # the order is checked out at a far store holding both lines; A and B serve it nearer
    st = _loc(staff, f"{s.prefix}-ST", LocationKind.STORE, 52.0, 13.0)
    staff.receive(ReceiptCreate(location=st, lines=[StockLine(sku=k, quantity=1) for k in s.skus]))
    order = _order(staff, st, {s.skus[0]: 1, s.skus[1]: 1})
    req = AllocationRequest(
        **CUSTOMER,
        consolidate_at=hub,
        kinds=[LocationKind.WAREHOUSE, LocationKind.SUPPLIER],
        weights=WeightsIn(split=0.0),
    )
    ships = staff.allocate_order(order, req)
    merged = [x for x in ships if x.kind.value == "merged"]
    legs = [x for x in ships if x.kind.value == "leg"]
    assert len(merged) == 1 and merged[0].origin == hub
    assert sorted(x.origin for x in legs) == sorted([a, b])
    assert all(x.merge_into == merged[0].id for x in legs)
    assert merged[0].deliver_from > max(x.deliver_to for x in legs)
    assert {(ln.sku, ln.quantity) for ln in merged[0].lines} == {(k, 1) for k in s.skus}
    # the store's reservation was released, A and B now hold it
    lv = _levels(staff, s.skus, [st, a, b])
    assert lv[(s.skus[0], st)] == (1, 0) and lv[(s.skus[1], st)] == (1, 0)
    assert lv[(s.skus[0], a)] == (4, 1) and lv[(s.skus[1], b)] == (4, 1)
    # the merged parcel waits for its legs
    with pytest.raises(CommerceError) as exc:
        staff.transition_shipment(merged[0].id, ShipmentTransition(to="picked"))
    assert exc.value.status == 409 and exc.value.details["waiting_for"] in {x.id for x in legs}
    for leg in legs:
        for to in ("picked", "packed", "shipped", "delivered"):
            staff.transition_shipment(leg.id, ShipmentTransition(to=to))
    assert staff.get_order(order).status is OrderStatus.SHIPPED  # every stock parcel left
    for to in ("picked", "packed", "shipped", "delivered"):
        staff.transition_shipment(merged[0].id, ShipmentTransition(to=to))
    assert staff.get_order(order).status is OrderStatus.DELIVERED
    lv = _levels(staff, s.skus, [a, b])
    assert lv[(s.skus[0], a)] == (3, 0) and lv[(s.skus[1], b)] == (3, 0)
    _ledger_ok(staff)


def test_only_paid_orders_are_allocated_and_customers_may_not(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=5)
    oid = _order(staff, s.location, {s.skus[0]: 1})
    staff.cancel_order(oid)
    with pytest.raises(CommerceError) as exc:
        staff.allocate_order(oid, AllocationRequest(**CUSTOMER))
    assert (exc.value.status, exc.value.details["from"]) == (409, "cancelled")
    shopper = staff.as_principal("customer", customer_id="c-x")
    with pytest.raises(CommerceError) as exc:
        shopper.allocate_order(oid, AllocationRequest(**CUSTOMER))
    assert exc.value.status == 403
    with pytest.raises(CommerceError) as exc:
        staff.allocate_order(oid, AllocationRequest(**CUSTOMER, consolidate_at="NOPE"))
    assert exc.value.status in (404, 409)


def test_concurrent_allocations_of_one_order_make_one_set_of_shipments(
    staff: InProcessClient,
) -> None:
    s = seed(staff, n_skus=2, stock=3)
    store = _loc(staff, f"{s.prefix}-ST", LocationKind.STORE, 52.531, 13.451)
    staff.receive(ReceiptCreate(location=store, lines=[StockLine(sku=s.skus[0], quantity=3)]))
    oid = _order(staff, s.location, {s.skus[0]: 2, s.skus[1]: 1})
    got: list[object] = []

    def run() -> None:
        try:
            got.append(
                tuple(x.id for x in staff.allocate_order(oid, AllocationRequest(**CUSTOMER)))
            )
        except CommerceError as exc:
            got.append(exc.code)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1 and isinstance(got[0], tuple)
    lv = _levels(staff, s.skus, [s.location, store])
    assert sum(r for _, r in lv.values()) == 3  # the order's 3 units reserved exactly once
    _ledger_ok(staff)


def _plan(weights: WeightsIn, util: dict[int, float]) -> list[str]:
    """Two warehouses holding everything: A 1 km from the customer, B 5 km; the pure planner."""
    book = load_carriers(DEFAULT_FILE)
    w = book.allocation.weights.model_copy(
        update={k: v for k, v in weights.model_dump().items() if v is not None}
    )
    nodes = {
        1: Node(1, Origin("A", "warehouse", 52.539, 13.45)),
        2: Node(2, Origin("B", "warehouse", 52.575, 13.45)),
    }
    avail = {1: {7: 10}, 2: {7: 10}}
    body = AllocationRequest(**CUSTOMER)
    now = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
    picks = plan_allocation(book, w, body, {7: 2}, nodes, avail, util, {}, now)
    return [p.node.origin.code for p in picks]


def test_the_weighted_cost_trades_distance_against_node_capacity() -> None:
    assert _plan(WeightsIn(), {1: 0.0, 2: 0.0}) == ["A"]  # nearer, same carriers
    busy = {1: 0.95, 2: 0.0}  # A has used 95% of its day
    assert _plan(WeightsIn(capacity=2000.0), busy) == ["B"]
    assert _plan(WeightsIn(capacity=0.0), busy) == ["A"]
