"""Shipments' state machine: legal and illegal moves, stock effects, re-delivery, returns to the
sender, order status following, idempotency (SQLite and PostgreSQL; HTTP for the key)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from api_helpers import PEPPER, ServerThread, seed

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.schemas import (
    Channel,
    CheckoutLine,
    CheckoutRequest,
    MovementKind,
    OrderStatus,
    StockQuery,
)
from api.schemas_fulfilment import AllocationRequest, ShipmentTransition
from api.services.auth import create_api_key
from api.services.shipments import ALLOWED
from api.services.stock import ledger_mismatches

WHERE = {"lat": 52.53, "lon": 13.45}


def _allocated(staff: InProcessClient, qty: int = 2) -> tuple[str, str, int, int]:
    """A paid order of ``qty`` units from a fresh warehouse (10 on hand), allocated: (sku,
    warehouse, order id, shipment id)."""
    s = seed(staff, n_skus=1, stock=10)
    o = staff.checkout(
        CheckoutRequest(
            lines=[CheckoutLine(sku=s.skus[0], quantity=qty)],
            location=s.location,
            channel=Channel.WEB,
            customer_id=f"c-{uuid.uuid4().hex[:6]}",
        )
    )
    (ship,) = staff.allocate_order(o.id, AllocationRequest(**WHERE))
    return s.skus[0], s.location, o.id, ship.id


def _counters(staff: InProcessClient, sku: str, loc: str) -> tuple[int, int]:
    (lv,) = staff.stock_levels(StockQuery(skus=[sku], locations=[loc]))
    return lv.on_hand, lv.reserved


def _move(staff: InProcessClient, sid: int, *states: str) -> None:
    for to in states:
        staff.transition_shipment(sid, ShipmentTransition(to=to))


def test_the_happy_path_sells_at_shipping_and_delivers_the_order(staff: InProcessClient) -> None:
    sku, wh, oid, sid = _allocated(staff)
    assert _counters(staff, sku, wh) == (10, 2)
    _move(staff, sid, "picked", "packed")
    assert _counters(staff, sku, wh) == (10, 2)
    _move(staff, sid, "shipped")
    assert _counters(staff, sku, wh) == (8, 0)
    moves = staff.movements(sku=sku, location=wh).items
    assert [(m.kind, m.quantity, m.reference) for m in moves][-1] == (
        MovementKind.SALE,
        -2,
        f"shipment-{sid}",
    )
    assert staff.get_order(oid).status is OrderStatus.SHIPPED
    _move(staff, sid, "delivered")
    assert staff.get_order(oid).status is OrderStatus.DELIVERED
    assert staff.list_shipments(oid)[0].status.value == "delivered"


@pytest.mark.parametrize(
    ("path", "bad"),
    [((), "shipped"), ((), "delivered"), (("picked",), "allocated"), (("picked",), "shipped")],
)
def test_illegal_moves_answer_409_with_from_and_to(
    staff: InProcessClient, path: tuple[str, ...], bad: str
) -> None:
    sku, wh, _, sid = _allocated(staff)
    _move(staff, sid, *path)
    before = _counters(staff, sku, wh)
    with pytest.raises(CommerceError) as exc:
        staff.transition_shipment(sid, ShipmentTransition(to=bad))
    cur = path[-1] if path else "allocated"
    assert (exc.value.status, exc.value.code) == (409, "INVALID_TRANSITION")
    assert exc.value.details == {"shipment_id": sid, "from": cur, "to": bad}
    assert _counters(staff, sku, wh) == before


def test_the_table_allows_exactly_the_documented_moves() -> None:
    got = {(a.value, b.value) for a, nxt in ALLOWED.items() for b in nxt}
    assert got == {
        ("allocated", "picked"),
        ("picked", "packed"),
        ("packed", "shipped"),
        ("shipped", "delivered"),
        ("shipped", "failed"),
        ("failed", "shipped"),
        ("failed", "returned"),
        ("delivered", "returned"),
    }


def test_a_failed_delivery_is_redelivered_and_counts_attempts(staff: InProcessClient) -> None:
    sku, wh, oid, sid = _allocated(staff)
    _move(staff, sid, "picked", "packed", "shipped", "failed", "shipped", "failed", "shipped")
    assert _counters(staff, sku, wh) == (8, 0)  # sold once, at the first departure
    _move(staff, sid, "delivered")
    (ship,) = staff.list_shipments(oid)
    assert (ship.status.value, ship.attempts) == ("delivered", 2)
    assert staff.get_order(oid).status is OrderStatus.DELIVERED


def test_a_parcel_returned_to_the_sender_is_back_on_hand(staff: InProcessClient) -> None:
    sku, wh, _, sid = _allocated(staff)
    _move(staff, sid, "picked", "packed", "shipped", "failed", "returned")
    assert _counters(staff, sku, wh) == (10, 0)
    kinds = [(m.kind, m.quantity) for m in staff.movements(sku=sku, location=wh).items]
    assert kinds[-2:] == [(MovementKind.SALE, -2), (MovementKind.RETURN, 2)]
    with staff.ctx.engine.connect() as conn:
        assert ledger_mismatches(conn) == []


def test_repeating_the_current_state_changes_nothing(staff: InProcessClient) -> None:
    sku, wh, _, sid = _allocated(staff)
    _move(staff, sid, "picked", "packed", "shipped", "shipped")
    assert _counters(staff, sku, wh) == (8, 0)


def test_cancelling_an_allocated_order_releases_at_the_origins_until_one_ships(
    staff: InProcessClient,
) -> None:
    sku, wh, oid, sid = _allocated(staff)
    _move(staff, sid, "picked")
    staff.cancel_order(oid)
    assert _counters(staff, sku, wh) == (10, 0)
    assert staff.list_shipments(oid)[0].status.value == "cancelled"
    sku, wh, oid, sid = _allocated(staff)
    _move(staff, sid, "picked", "packed", "shipped")
    with pytest.raises(CommerceError) as exc:
        staff.cancel_order(oid)
    assert exc.value.status == 409


def test_the_order_route_refuses_to_ship_an_order_that_has_shipments(
    staff: InProcessClient,
) -> None:
    sku, wh, oid, _ = _allocated(staff)
    with pytest.raises(CommerceError) as exc:
        staff.transition_order(oid, OrderStatus.SHIPPED)
    assert (exc.value.status, exc.value.code) == (409, "INVALID_TRANSITION")
    assert _counters(staff, sku, wh) == (10, 2)


def test_customers_read_their_shipments_but_cannot_move_them(staff: InProcessClient) -> None:
    _, _, oid, sid = _allocated(staff)
    cust = staff.get_order(oid).customer_id
    shopper = staff.as_principal("customer", customer_id=cust)
    assert [x.id for x in shopper.list_shipments(oid)] == [sid]
    with pytest.raises(CommerceError) as exc:
        shopper.transition_shipment(sid, ShipmentTransition(to="picked"))
    assert exc.value.status == 403
    with pytest.raises(CommerceError) as exc:
        staff.as_principal("customer", customer_id="someone-else").list_shipments(oid)
    assert exc.value.status == 404


def test_over_http_a_transition_replays_under_its_key_and_unknown_ids_are_404(
    staff: InProcessClient, server: ServerThread
) -> None:
    _, _, _, sid = _allocated(staff)
    token = create_api_key(server.env.engine, server.env.clock, PEPPER, "staff", None)
    h = {"X-API-Key": token, "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    url = f"{server.url}/v1/shipments/{sid}/transitions"
    r1 = httpx.post(url, json={"to": "picked"}, headers=h, timeout=30)
    r2 = httpx.post(url, json={"to": "picked"}, headers=h, timeout=30)
    assert r1.status_code == r2.status_code == 200 and r1.json() == r2.json()
    r3 = httpx.post(url, json={"to": "packed"}, headers=h, timeout=30)
    assert r3.status_code == 422 and r3.json()["code"] == "IDEMPOTENCY_MISMATCH"
    bad = httpx.post(url, json={"to": "delivered"}, headers={"X-API-Key": token}, timeout=30)
    assert bad.status_code == 409 and bad.json()["details"]["from"] == "picked"
    nope = httpx.post(
        f"{server.url}/v1/shipments/999999/transitions",
        json={"to": "picked"},
        headers={"X-API-Key": token},
        timeout=30,
    )
    assert nope.status_code == 404
    junk = httpx.post(url, json={"to": "teleported"}, headers={"X-API-Key": token}, timeout=30)
    assert junk.status_code == 422
