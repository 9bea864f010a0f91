"""The fake's fulfilment operations answer a shipment + RMA scenario like the in-process client
(SQLite, and PostgreSQL when ``SHOPSPHERE_TEST_PG_URL`` is set): allocation choosing among two
warehouses and carriers, the shipment state machine with a failed delivery and re-delivery, a
parcel sent back, cancelling an allocated order, and a return received, inspected, part
written off and refunded; same results, same typed errors, same stock and ledger."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from api_helpers import fresh_engine, make_test_env

from api.client.base import CommerceClient, CommerceError
from api.client.fake import FakeCommerce
from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.schemas import (
    Channel,
    CheckoutLine,
    CheckoutRequest,
    LocationCreate,
    LocationKind,
    ReceiptCreate,
    SkuImportRow,
    StockLine,
    StockQuery,
)
from api.schemas_fulfilment import (
    AllocationRequest,
    RmaCreate,
    RmaRead,
    RmaTransition,
    ShipmentRead,
    ShipmentTransition,
)
from api.services.context import Principal

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday morning, before the van cut-off
HOME = {"lat": 52.53, "lon": 13.45}


def _err(fn: Callable[[], object]) -> tuple[str, str, int, object]:
    try:
        fn()
    except CommerceError as exc:
        return (type(exc).__name__, exc.code, exc.status, exc.details)
    raise AssertionError("expected a CommerceError")


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _ship(s: ShipmentRead) -> tuple[object, ...]:
    return (
        s.id, s.order_id, s.kind.value, s.origin, s.merge_into, s.carrier, s.mode,
        s.status.value, s.attempts, [(ln.sku, ln.quantity) for ln in s.lines],
        round(s.distance_km, 6), s.cost_cents, round(s.co2_g, 6),
        _utc(s.deliver_from), _utc(s.deliver_to),
    )  # fmt: skip


def _rma(r: RmaRead) -> tuple[object, ...]:
    lines = [(ln.sku, ln.quantity, ln.unit_price_cents, ln.restock_qty) for ln in r.lines]
    return (r.id, r.order_id, r.status.value, r.reason, r.location, lines, r.refund_cents)


def scenario(staff: CommerceClient, clock: ManualClock) -> list[object]:
    """Calls the fake and the service must answer alike; returns what was observed."""
    seen: list[object] = []
    staff.import_skus(
        [
            SkuImportRow(sku=s, product=f"P{s}", name=s, category="C", cost_cents=400,
                         list_price_cents=p)
            for s, p in (("A", 1000), ("B", 2500))
        ]
    )  # fmt: skip
    for code, lat in (("W1", 52.52), ("W2", 52.40)):
        staff.create_location(
            LocationCreate(code=code, kind=LocationKind.WAREHOUSE, name=code, lat=lat, lon=13.4)
        )
    staff.receive(ReceiptCreate(location="W1", lines=[StockLine(sku="A", quantity=6)]))
    staff.receive(
        ReceiptCreate(
            location="W2", lines=[StockLine(sku="A", quantity=4), StockLine(sku="B", quantity=5)]
        )
    )

    def buy(lines: dict[str, int], customer: str) -> int:
        return staff.checkout(
            CheckoutRequest(
                lines=[CheckoutLine(sku=s, quantity=q) for s, q in lines.items()],
                location="W1" if "B" not in lines else "W2",
                channel=Channel.WEB,
                customer_id=customer,
            )
        ).id

    o1 = buy({"A": 2}, "c-1")
    seen.append(_err(lambda: staff.allocate_order(10**6, AllocationRequest(**HOME))))
    ships = staff.allocate_order(o1, AllocationRequest(**HOME), idempotency_key="al-1")
    seen.append([_ship(s) for s in ships])
    again = staff.allocate_order(o1, AllocationRequest(**HOME), idempotency_key="al-1")
    seen.append([_ship(s) for s in again] == seen[-1])
    seen.append([_ship(s) for s in staff.allocate_order(o1, AllocationRequest(**HOME))])
    seen.append(staff.get_order(o1).status.value)
    sid = ships[0].id
    seen.append(_err(lambda: staff.transition_shipment(sid, ShipmentTransition(to="shipped"))))
    seen.append(_err(lambda: staff.transition_shipment(10**6, ShipmentTransition(to="picked"))))
    for to in ("picked", "picked", "packed", "shipped", "failed", "shipped", "delivered"):
        clock.advance(timedelta(minutes=30))
        seen.append(_ship(staff.transition_shipment(sid, ShipmentTransition(to=to))))
        seen.append(staff.get_order(o1).status.value)

    # a second order (its own warehouse); the parcel fails and goes back to its sender
    o2 = buy({"A": 1, "B": 2}, "c-2")
    two = staff.allocate_order(o2, AllocationRequest(**HOME, max_shipments=2))
    seen.append([_ship(s) for s in two])
    for s in two:
        for to in ("picked", "packed", "shipped"):
            staff.transition_shipment(s.id, ShipmentTransition(to=to))
    last = two[-1].id
    for to in ("failed", "returned"):
        seen.append(_ship(staff.transition_shipment(last, ShipmentTransition(to=to))))
    seen.append([_ship(s) for s in staff.list_shipments(o2)])
    seen.append(staff.get_order(o2).status.value)

    # an allocated order cancelled: the reservation is released where it was taken
    o3 = buy({"A": 3}, "c-3")
    three = staff.allocate_order(o3, AllocationRequest(**HOME, allow_split=False))
    seen.append([_ship(s) for s in three])
    seen.append(staff.cancel_order(o3).status.value)
    seen.append([(s.id, s.status.value) for s in staff.list_shipments(o3)])
    seen.append(_err(lambda: staff.allocate_order(o3, AllocationRequest(**HOME))) if not
                staff.list_shipments(o3) else "kept")  # fmt: skip

    # a return of the delivered order: received, inspected (one unit unfit), restocked, refunded
    seen.append(
        _err(lambda: staff.create_rma(o3, RmaCreate(lines=[StockLine(sku="A", quantity=1)])))
    )
    bad = RmaCreate(lines=[StockLine(sku="B", quantity=1)])
    seen.append(_err(lambda: staff.create_rma(o1, bad)))
    over = RmaCreate(lines=[StockLine(sku="A", quantity=3)])
    seen.append(_err(lambda: staff.create_rma(o1, over)))
    rma = staff.create_rma(
        o1,
        RmaCreate(lines=[StockLine(sku="A", quantity=2)], reason="too big"),
        idempotency_key="r1",
    )
    seen.append(_rma(rma))
    same = RmaCreate(lines=[StockLine(sku="A", quantity=2)], reason="too big")
    seen.append(_rma(staff.create_rma(o1, same, idempotency_key="r1")))
    seen.append(
        _err(lambda: staff.create_rma(o1, RmaCreate(lines=[StockLine(sku="A", quantity=1)])))
    )
    seen.append(_err(lambda: staff.transition_rma(rma.id, RmaTransition(to="received"))))
    seen.append(_err(lambda: staff.transition_rma(rma.id, RmaTransition(to="refunded"))))
    seen.append(_err(lambda: staff.get_rma(10**6)))
    steps = [
        RmaTransition(to="received", location="W1"),
        RmaTransition(to="inspected", restock=[StockLine(sku="A", quantity=1)]),
        RmaTransition(to="restocked"),
        RmaTransition(to="restocked"),
        RmaTransition(to="refunded"),
    ]
    for step in steps:
        seen.append(_rma(staff.transition_rma(rma.id, step)))
    seen.append(_rma(staff.get_rma(rma.id)))
    o1_now = staff.get_order(o1)
    seen.append((o1_now.status.value, o1_now.payment))

    levels = staff.stock_levels(StockQuery(skus=["A", "B"], locations=["W1", "W2"]))
    seen.append([(lv.sku, lv.location, lv.on_hand, lv.reserved) for lv in levels])
    moves = staff.movements(sku="A").items + staff.movements(sku="B").items
    seen.append(sorted((m.sku, m.location, m.kind.value, m.quantity, m.reference) for m in moves))
    return seen


@pytest.fixture(scope="module")
def expected() -> list[object]:
    clock = ManualClock(START)
    return scenario(FakeCommerce(clock), clock)


def test_the_fake_allocates_ships_and_books_a_return_through_the_ledger(
    expected: list[object],
) -> None:
    fake = FakeCommerce(ManualClock(START))
    got = scenario(fake, ManualClock(START))
    assert got == expected  # deterministic
    sales = [m for m in fake.moves if m.kind.value == "sale"]
    assert sum(m.quantity for m in sales) == -5  # o1: 2 A; o2: 1 A + 2 B
    for (sku, loc), q in fake.reserved.items():
        assert q == 0, (sku, loc)
    assert fake.get_rma(1).refund_cents == 2000


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_in_process_client_answers_the_fulfilment_scenario_like_the_fake(
    backend: str, expected: list[object], tmp_path: Path
) -> None:
    with fresh_engine(backend, tmp_path) as engine:
        clock = ManualClock(START)
        ctx = make_test_env(engine, clock)
        got = scenario(InProcessClient(ctx, Principal(role="staff", key_id=1)), clock)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g == e, f"observation {i}"
