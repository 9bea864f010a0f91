"""One scenario through every door: the fake, the in-process client and the HTTP client (SQLite,
and PostgreSQL when ``SHOPSPHERE_TEST_PG_URL`` is set) must give the same results, the same
typed errors, and the same batch outcomes; and the operation table must agree with the
protocol, the service functions and the served routes."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_helpers import ServerThread, fresh_engine, make_test_env

from api.app import create_app
from api.client import operations as ops
from api.client.base import CommerceClient, CommerceError
from api.client.fake import FakeCommerce
from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.schemas import (
    CartCreate,
    CartLineSet,
    Channel,
    CheckoutLine,
    CheckoutRequest,
    LocationCreate,
    LocationKind,
    OrderStatus,
    PosSale,
    PosSaleBatch,
    PriceSet,
    ReceiptCreate,
    SkuImportRow,
    StockLine,
    StockQuery,
)
from api.schemas_batch import BatchResult, CartLineItem, CartOpen, CheckoutItem, TransitionItem
from api.services.context import Principal
from api.settings import Settings

W = "W1"


def _err(fn: Callable[[], object]) -> tuple[str, str, int, object]:
    try:
        fn()
    except CommerceError as exc:
        return (type(exc).__name__, exc.code, exc.status, exc.details)
    raise AssertionError("expected a CommerceError")


def _batch(res: BatchResult[Any]) -> list[object]:
    out: list[object] = []
    for r in res.items:
        if r.ok:
            v = r.unwrap()
            out.append(("ok", v.status, [(ln.sku, ln.quantity) for ln in v.lines], v.total_cents))
        else:
            assert r.error is not None
            out.append(("error", r.error.code, r.error.status, r.error.details))
    return out


def scenario(staff: CommerceClient, shopper: CommerceClient) -> list[object]:
    """Calls every door must answer alike; returns what was observed."""
    seen: list[object] = []
    rows = [
        SkuImportRow(
            sku=s,
            product=f"P{s}",
            name=f"Item {s}",
            category="C",
            cost_cents=500,
            list_price_cents=1000 + i,
        )
        for i, s in enumerate(("A", "B", "C"))
    ]
    seen.append(staff.import_skus(rows))
    staff.create_location(
        LocationCreate(code=W, kind=LocationKind.STORE, name="Store", lat=52.5, lon=13.4)
    )
    seen.append(staff.set_prices([PriceSet(sku="A", channel=Channel.WEB, price_cents=900)]))
    moves = staff.receive(
        ReceiptCreate(
            location=W, lines=[StockLine(sku="A", quantity=5), StockLine(sku="B", quantity=3)]
        )
    )
    seen.append([(m.sku, m.kind, m.quantity) for m in moves])
    seen.append(_err(lambda: staff.get_sku("nope")))

    new = CartCreate(channel=Channel.WEB, location=W, customer_id="c-1")
    cart = shopper.create_cart(new, idempotency_key="cart-1")
    again = shopper.create_cart(new, idempotency_key="cart-1")
    seen.append((cart.status, cart.customer_id, again.id == cart.id))
    seen.append(
        _err(
            lambda: shopper.create_cart(
                CartCreate(channel=Channel.APP, location=W), idempotency_key="cart-1"
            )
        )
    )
    got = shopper.set_cart_line(cart.id, CartLineSet(sku="A", quantity=2))
    seen.append(([(ln.sku, ln.quantity, ln.unit_price_cents) for ln in got.lines], got.total_cents))
    seen.append(_err(lambda: shopper.set_cart_line(cart.id, CartLineSet(sku="B", quantity=4))))
    seen.append(_err(lambda: shopper.set_cart_line(cart.id, CartLineSet(sku="zzz", quantity=1))))
    levels = staff.stock_levels(StockQuery(skus=["A", "B"], locations=[W]))
    seen.append([(lv.sku, lv.on_hand, lv.reserved, lv.available) for lv in levels])

    order = shopper.checkout(CheckoutRequest(cart_id=cart.id), idempotency_key="pay-1")
    replay = shopper.checkout(CheckoutRequest(cart_id=cart.id), idempotency_key="pay-1")
    seen.append((order.status, order.total_cents, replay.id == order.id, order.payment))
    seen.append(_err(lambda: shopper.checkout(CheckoutRequest(cart_id=10**9))))
    for to in (OrderStatus.ALLOCATED, OrderStatus.SHIPPED):
        seen.append(staff.transition_order(order.id, to).status)
    seen.append(_err(lambda: staff.transition_order(order.id, OrderStatus.ALLOCATED)))
    seen.append(_err(lambda: staff.get_order(10**9)))
    seen.append([(m.kind, m.quantity) for m in staff.movements(sku="A").items])
    pos = staff.pos_sales(
        PosSaleBatch(location=W, sales=[PosSale(sku="A", quantity=1), PosSale(sku="B", quantity=9)])
    )
    seen.append(pos)

    # batches: one result per item, typed errors per item, keys per item
    opened = shopper.batch_create_carts(
        [
            CartOpen(channel=Channel.WEB, location=W, customer_id="c-1",
                     lines=[CartLineSet(sku="B", quantity=1)], idempotency_key="bc-1"),
            CartOpen(channel=Channel.WEB, location=W, customer_id="c-1",
                     lines=[CartLineSet(sku="A", quantity=1), CartLineSet(sku="B", quantity=50),
                            CartLineSet(sku="C", quantity=1)]),
            CartOpen(channel=Channel.WEB, location="nowhere", customer_id="c-1"),
            CartOpen(channel=Channel.WEB, location=W, customer_id="c-1", idempotency_key="bc-2"),
        ]
    )  # fmt: skip
    seen.append(_batch(opened))
    c2, c3 = opened.items[0].unwrap().id, opened.items[3].unwrap().id
    seen.append(type(opened.items[1].exception()).__name__)
    reopened = shopper.batch_create_carts(
        [CartOpen(channel=Channel.WEB, location=W, customer_id="c-1",
                  lines=[CartLineSet(sku="B", quantity=1)], idempotency_key="bc-1")]
    )  # fmt: skip
    seen.append(reopened.items[0].unwrap().id == c2)
    lines = shopper.batch_set_cart_lines(
        [
            CartLineItem(cart_id=c2, sku="A", quantity=1),
            CartLineItem(cart_id=c2, sku="B", quantity=99),
            CartLineItem(cart_id=10**9, sku="A", quantity=1),
            CartLineItem(cart_id=c3, sku="A", quantity=1),
            CartLineItem(cart_id=c2, sku="B", quantity=2),
        ]
    )
    seen.append(_batch(lines))
    paid = shopper.batch_checkout(
        [
            CheckoutItem(cart_id=c2, idempotency_key="bk-1"),
            CheckoutItem(cart_id=c2, idempotency_key="bk-1"),
            CheckoutItem(cart_id=10**9),
            CheckoutItem(cart_id=c3),
        ]
    )
    seen.append(_batch(paid))
    o2, o3 = paid.items[0].unwrap().id, paid.items[3].unwrap().id
    express = shopper.batch_checkout(
        [
            CheckoutItem(
                lines=[CheckoutLine(sku="C", quantity=1)],
                location=W,
                channel=Channel.APP,
                customer_id="c-1",
            ),
            CheckoutItem(
                lines=[CheckoutLine(sku="A", quantity=1), CheckoutLine(sku="B", quantity=9)],
                location=W,
                channel=Channel.APP,
                customer_id="c-1",
                idempotency_key="ex-1",
            ),
        ]
    )
    seen.append(_batch(express))
    single = shopper.checkout(
        CheckoutRequest(
            lines=[CheckoutLine(sku="B", quantity=1)],
            location=W,
            channel=Channel.WEB,
            customer_id="c-1",
        )
    )
    seen.append((single.status, [(ln.sku, ln.quantity) for ln in single.lines], single.total_cents))
    seen.append(paid.items[1].unwrap().id == o2)
    moved = staff.batch_transition_orders(
        [
            TransitionItem(order_id=o2, to=OrderStatus.ALLOCATED),
            TransitionItem(order_id=o3, to=OrderStatus.CANCELLED),
            TransitionItem(order_id=o2, to=OrderStatus.SHIPPED),
            TransitionItem(order_id=o3, to=OrderStatus.ALLOCATED),
            TransitionItem(order_id=10**9, to=OrderStatus.DELIVERED),
            TransitionItem(order_id=o2, to=OrderStatus.DELIVERED),
        ]
    )
    seen.append(_batch(moved))
    levels = staff.stock_levels(StockQuery(skus=["A", "B", "C"], locations=[W]))
    seen.append([(lv.sku, lv.on_hand, lv.reserved, lv.available) for lv in levels])
    seen.append([(o.status, o.total_cents) for o in staff.list_orders().items])
    return seen


@pytest.fixture(scope="module")
def expected() -> list[object]:
    fake = FakeCommerce(ManualClock())
    return scenario(fake, fake)


def test_the_fake_is_a_commerce_client() -> None:
    client: CommerceClient = FakeCommerce(ManualClock())
    assert isinstance(client, CommerceClient)


@pytest.mark.parametrize(
    "door", ["inprocess-sqlite", "http-sqlite", "inprocess-postgres", "http-postgres"]
)
def test_every_door_answers_the_scenario_like_the_fake(
    door: str, expected: list[object], tmp_path: Path
) -> None:
    kind, backend = door.split("-")
    with fresh_engine(backend, tmp_path) as engine:
        ctx = make_test_env(engine, ManualClock())
        if kind == "inprocess":
            staff = InProcessClient(ctx, Principal(role="staff", key_id=1))
            got = scenario(staff, staff.as_principal("customer", "c-1"))
        else:
            with (
                ServerThread(ctx) as srv,
                srv.client("staff") as s,
                srv.client("customer", "c-1") as c,
            ):
                got = scenario(s, c)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g == e, f"observation {i}"


def _signature_args(name: str) -> list[inspect.Parameter]:
    params = list(inspect.signature(getattr(CommerceClient, name)).parameters.values())[1:]
    return [p for p in params if p.name != "idempotency_key"]


def test_the_table_covers_the_protocol_once_and_matches_its_signatures() -> None:
    methods = {n for n, v in vars(CommerceClient).items() if callable(v) and not n.startswith("_")}
    assert methods == set(ops.BY_NAME) and len(ops.OPERATIONS) == len(ops.BY_NAME)
    for op in ops.OPERATIONS:
        params = _signature_args(op.name)
        takes_key = (
            "idempotency_key" in inspect.signature(getattr(CommerceClient, op.name)).parameters
        )
        assert takes_key == op.takes_key, op.name
        kwonly = tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)
        assert kwonly == op.keyword, op.name
        used = set(op.query.values()) | set(op.body_fields) | {op.body, op.query_model} - {None}
        in_path = {p.name for p in params if "{" + p.name + "}" in op.path}
        assert {p.name for p in params} == (used | in_path) - {None}, op.name


def test_every_service_function_takes_the_operation_arguments() -> None:
    for op in ops.OPERATIONS:
        sig = inspect.signature(op.function())
        pos, kw = op.split({p.name: None for p in _signature_args(op.name)})
        extra = [None] if op.idempotency == "service" else []
        sig.bind(None, None, *pos, *extra, **kw)  # raises TypeError on a mismatch


def test_every_operation_is_a_served_route_with_its_status(tmp_path: Path) -> None:
    with fresh_engine("sqlite", tmp_path) as engine:
        app = create_app(
            Settings(mode="development", api_key_pepper="p" * 20, bootstrap_api_keys=""),
            ctx=make_test_env(engine),
        )
    paths = app.openapi()["paths"]
    for op in ops.OPERATIONS:
        route = paths.get(op.path, {}).get(op.verb.lower())
        assert route is not None, op.name
        assert str(op.status) in route["responses"], op.name


def test_the_recorder_logs_each_call_as_the_http_request_of_its_operation() -> None:
    import io

    import orjson

    from api.client.recorder import RecordingClient

    clock = ManualClock()
    sink = io.BytesIO()
    rec = RecordingClient(FakeCommerce(clock), clock, sink)
    got = scenario(rec, rec)
    lines = [orjson.loads(b) for b in sink.getvalue().splitlines()]
    assert got == scenario(*(2 * [FakeCommerce(ManualClock())]))
    assert len(lines) == rec.total_calls
    by_path = {(ln["method"], ln["path"]): ln for ln in lines}
    assert by_path[("GET", "/v1/skus/nope")]["status"] == 404
    keys = [ln.get("idempotency_key") for ln in lines if ln["path"] == "/v1/checkout"]
    assert keys == ["pay-1", "pay-1", None, None]
    assert by_path[("POST", "/v1/orders/1/transition")]["body"] == {"to": "allocated"}
    assert by_path[("GET", "/v1/stock/movements")]["body"] == {"sku": "A", "limit": 500}
    assert by_path[("POST", "/v1/batch/carts")]["status"] == 200
    errors = rec.api_summary()["set_cart_line"]["errors"]
    assert errors == 2
