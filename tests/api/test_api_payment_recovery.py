"""Crash-safe checkout: key leases, resumable payments, reconciliation and express checkout."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from api_helpers import seed
from pydantic import TypeAdapter
from sqlalchemy import select

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.models import T
from api.payments import Authorization, SimulatedGateway
from api.schemas import (
    CartCreate,
    CartLineSet,
    Channel,
    CheckoutLine,
    CheckoutRequest,
    OrderStatus,
    ReceiptCreate,
    StockLine,
    StockQuery,
)
from api.services.checkout import checkout_idempotent, reconcile_payments
from api.services.context import Principal, ServiceContext
from api.services.idempotency import run_idempotent
from api.services.stock import ledger_mismatches

SERVICE = Principal(role="service", key_id=0)
_ANY: TypeAdapter[object] = TypeAdapter(object)


class Crash(BaseException):
    """Stands for the process dying (kill -9) at a chosen point."""


class CrashingGateway(SimulatedGateway):
    """Dies once, before authorising (``at="authorize"``) or after capturing (``"capture"``)."""

    def __init__(self, at: str) -> None:
        super().__init__()
        self.at: str | None = at

    def authorize(self, *, amount_cents: int, token: str, reference: str) -> Authorization:
        if self.at == "authorize":
            self.at = None
            raise Crash
        return super().authorize(amount_cents=amount_cents, token=token, reference=reference)

    def capture(self, auth: Authorization, amount_cents: int) -> None:
        super().capture(auth, amount_cents)
        if self.at == "capture":
            self.at = None
            raise Crash


def _ctx(staff: InProcessClient, gateway: SimulatedGateway | None = None) -> ServiceContext:
    ctx = staff.ctx
    ctx.idempotency_wait_s = 0.05
    if gateway is not None:
        ctx.gateway = gateway
    return ctx


def _cart(client: InProcessClient, loc: str, lines: dict[str, int]) -> int:
    cart = client.create_cart(CartCreate(channel=Channel.WEB, location=loc))
    for sku, q in lines.items():
        client.set_cart_line(cart.id, CartLineSet(sku=sku, quantity=q))
    return cart.id


def _level(client: InProcessClient, sku: str, loc: str) -> tuple[int, int]:
    [lv] = client.stock_levels(StockQuery(skus=[sku], locations=[loc]))
    return lv.on_hand, lv.reserved


@pytest.mark.parametrize("at", ["authorize", "capture"])
def test_key_of_a_dead_checkout_is_taken_over_after_its_lease_and_the_payment_resumed(
    fresh_staff: InProcessClient, clock: ManualClock, at: str
) -> None:
    gw = CrashingGateway(at)
    ctx = _ctx(fresh_staff, gw)
    s = seed(fresh_staff, n_skus=1, stock=5)
    who = Principal(role="customer", customer_id="c-crash")
    cart_id = _cart(fresh_staff.as_principal("customer", "c-crash"), s.location, {s.skus[0]: 2})
    body = CheckoutRequest(cart_id=cart_id)
    with pytest.raises(Crash):
        checkout_idempotent(ctx, who, body, "k1")
    # within the lease the key still belongs to the (dead) request
    with pytest.raises(CommerceError) as err:
        checkout_idempotent(ctx, who, body, "k1")
    assert (err.value.code, err.value.status) == ("IDEMPOTENCY_IN_PROGRESS", 409)
    clock.advance(timedelta(seconds=ctx.idempotency_lease_s))
    order = checkout_idempotent(ctx, who, body, "k1")
    assert order.status == OrderStatus.PAID and order.payment is not None
    assert order.payment.captured_cents == order.total_cents
    assert gw.charges[f"order-{order.id}"] == 1
    assert checkout_idempotent(ctx, who, body, "k1") == order  # replayed from now on
    assert _level(fresh_staff, s.skus[0], s.location) == (5, 2)


def test_retry_after_a_gateway_timeout_resumes_the_payment_and_never_answers_an_unpaid_201(
    staff: InProcessClient,
) -> None:
    ctx = _ctx(staff)
    s = seed(staff, n_skus=1, stock=5)
    who = Principal(role="customer", customer_id="c-tmo2")
    cart_id = _cart(staff.as_principal("customer", "c-tmo2"), s.location, {s.skus[0]: 1})
    with pytest.raises(CommerceError) as err:
        checkout_idempotent(
            ctx, who, CheckoutRequest(cart_id=cart_id, payment_token="tok_timeout"), None
        )
    assert (err.value.code, err.value.status) == ("PAYMENT_TIMEOUT", 402)
    assert isinstance(err.value.details, dict)
    oid = err.value.details["order_id"]
    # the same cart again (no key): the payment is retried, still timing out -> 402, not 201
    with pytest.raises(CommerceError) as err2:
        checkout_idempotent(
            ctx, who, CheckoutRequest(cart_id=cart_id, payment_token="tok_timeout"), "n1"
        )
    assert err2.value.code == "PAYMENT_TIMEOUT" and err2.value.details == {"order_id": oid}
    # a working token resumes it: the same order, now paid
    order = checkout_idempotent(ctx, who, CheckoutRequest(cart_id=cart_id), None)
    assert order.id == oid and order.status == OrderStatus.PAID


def test_same_key_retry_after_a_timeout_resumes_the_payment(staff: InProcessClient) -> None:
    ctx = _ctx(staff)
    s = seed(staff, n_skus=1, stock=5)
    who = Principal(role="customer", customer_id="c-tmo3")
    cart_id = _cart(staff.as_principal("customer", "c-tmo3"), s.location, {s.skus[0]: 1})
    body = CheckoutRequest(cart_id=cart_id, payment_token="tok_lost_answer")
    with pytest.raises(CommerceError) as err:
        checkout_idempotent(ctx, who, body, "same")
    assert err.value.code == "PAYMENT_TIMEOUT"
    order = checkout_idempotent(ctx, who, body, "same")  # the gateway answers the first charge
    assert order.status == OrderStatus.PAID
    assert isinstance(ctx.gateway, SimulatedGateway)
    assert ctx.gateway.charges[f"order-{order.id}"] == 1


def test_retry_of_a_cancelled_order_answers_its_state_with_the_order_id(
    staff: InProcessClient,
) -> None:
    ctx = _ctx(staff)
    s = seed(staff, n_skus=1, stock=5)
    who = Principal(role="customer", customer_id="c-cx")
    cart_id = _cart(staff.as_principal("customer", "c-cx"), s.location, {s.skus[0]: 1})
    with pytest.raises(CommerceError) as err:
        checkout_idempotent(
            ctx, who, CheckoutRequest(cart_id=cart_id, payment_token="tok_decline"), None
        )
    assert err.value.code == "PAYMENT_DECLINED"
    assert isinstance(err.value.details, dict)
    oid = err.value.details["order_id"]
    with pytest.raises(CommerceError) as err2:
        checkout_idempotent(ctx, who, CheckoutRequest(cart_id=cart_id), "other-key")
    assert (err2.value.code, err2.value.status) == ("ORDER_NOT_PAID", 409)
    assert err2.value.details == {"order_id": oid, "status": "cancelled"}


def test_reconciler_marks_charged_orders_paid_and_uncharged_ones_failed_releasing_stock(
    fresh_staff: InProcessClient, clock: ManualClock
) -> None:
    ctx = _ctx(fresh_staff)
    s = seed(fresh_staff, n_skus=2, stock=5)
    who = Principal(role="customer", customer_id="c-rec")
    shopper = fresh_staff.as_principal("customer", "c-rec")
    charged = _cart(shopper, s.location, {s.skus[0]: 2})
    uncharged = _cart(shopper, s.location, {s.skus[1]: 3})
    ids = []
    for cid, tok in ((charged, "tok_lost_answer"), (uncharged, "tok_timeout")):
        with pytest.raises(CommerceError) as err:
            checkout_idempotent(ctx, who, CheckoutRequest(cart_id=cid, payment_token=tok), None)
        assert isinstance(err.value.details, dict)
        ids.append(err.value.details["order_id"])
    assert reconcile_payments(ctx, SERVICE).total == 0  # within the grace period
    clock.advance(ctx.payment_grace)
    res = reconcile_payments(ctx, SERVICE)
    assert (res.paid, res.failed, res.refunded) == (1, 1, 0)
    paid, failed = (fresh_staff.get_order(int(str(i))) for i in ids)
    assert paid.status == OrderStatus.PAID and paid.payment is not None
    assert paid.payment.captured_cents == paid.total_cents
    assert failed.status == OrderStatus.PAYMENT_FAILED
    assert _level(fresh_staff, s.skus[0], s.location) == (5, 2)
    assert _level(fresh_staff, s.skus[1], s.location) == (5, 0)
    assert reconcile_payments(ctx, SERVICE).total == 0
    with fresh_staff.ctx.engine.connect() as conn:
        assert ledger_mismatches(conn) == []


def test_reconciler_refunds_a_charge_whose_order_expired_while_unpaid(
    fresh_staff: InProcessClient, clock: ManualClock
) -> None:
    gw = CrashingGateway("capture")
    ctx = _ctx(fresh_staff, gw)
    s = seed(fresh_staff, n_skus=1, stock=5)
    who = Principal(role="customer", customer_id="c-exp2")
    cid = _cart(fresh_staff.as_principal("customer", "c-exp2"), s.location, {s.skus[0]: 1})
    with pytest.raises(Crash):  # charged, then died before booking it
        checkout_idempotent(ctx, who, CheckoutRequest(cart_id=cid), None)
    clock.advance(ctx.unpaid_order_ttl)
    assert fresh_staff.expire_unpaid_orders() == 1  # cancelled without asking the gateway
    clock.advance(ctx.payment_grace)
    res = reconcile_payments(ctx, SERVICE)
    assert (res.paid, res.failed, res.refunded) == (0, 0, 1)
    assert sum(gw.refunds.values()) == 1000
    [order] = fresh_staff.list_orders().items
    assert order.status == OrderStatus.CANCELLED and order.payment is not None
    assert order.payment.refunded_cents == order.payment.captured_cents == 1000
    assert reconcile_payments(ctx, SERVICE).total == 0


def test_express_checkout_places_a_paid_order_in_one_request_exactly_once(
    staff: InProcessClient,
) -> None:
    ctx = _ctx(staff)
    s = seed(staff, n_skus=2, stock=5)
    who = Principal(role="customer", customer_id="c-xp")
    body = CheckoutRequest(
        lines=[CheckoutLine(sku=s.skus[1], quantity=2), CheckoutLine(sku=s.skus[0], quantity=1)],
        location=s.location,
        channel=Channel.WEB,
    )
    order = checkout_idempotent(ctx, who, body, "xp-1")
    assert order.status == OrderStatus.PAID and order.customer_id == "c-xp"
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [(s.skus[0], 1), (s.skus[1], 2)]
    assert order.total_cents == 1000 + 2 * 1001
    assert checkout_idempotent(ctx, who, body, "xp-1") == order
    assert _level(staff, s.skus[1], s.location) == (5, 2)
    assert staff.get_order(order.id) == order


def test_express_checkout_reports_each_short_line_and_takes_nothing(staff: InProcessClient) -> None:
    ctx = _ctx(staff)
    s = seed(staff, n_skus=3, stock=2)
    who = Principal(role="customer", customer_id="c-xs")
    body = CheckoutRequest(
        lines=[CheckoutLine(sku=x, quantity=q) for x, q in zip(s.skus, (3, 1, 5), strict=True)],
        location=s.location,
        channel=Channel.APP,
    )
    with pytest.raises(CommerceError) as err:
        checkout_idempotent(ctx, who, body, "xs")
    assert (err.value.code, err.value.status) == ("INSUFFICIENT_STOCK", 409)
    assert err.value.details == [
        {"sku": s.skus[0], "code": "INSUFFICIENT_STOCK", "requested": 3, "available": 2},
        {"sku": s.skus[2], "code": "INSUFFICIENT_STOCK", "requested": 5, "available": 2},
    ]
    assert _level(staff, s.skus[1], s.location) == (2, 0)


def test_express_checkout_request_needs_either_a_cart_or_lines() -> None:
    with pytest.raises(ValueError, match="either cart_id or lines"):
        CheckoutRequest()
    with pytest.raises(ValueError, match="needs location and channel"):
        CheckoutRequest(lines=[CheckoutLine(sku="a", quantity=1)])


def test_dead_request_of_another_operation_leaves_a_typed_outcome_not_a_stuck_key(
    staff: InProcessClient, clock: ManualClock
) -> None:
    ctx = _ctx(staff)
    s = seed(staff, n_skus=1, stock=0)
    body = ReceiptCreate(location=s.location, lines=[StockLine(sku=s.skus[0], quantity=4)])

    def receive_then_die() -> object:
        staff.receive(body)  # commits (with the key row), then the process "dies"
        raise Crash

    with pytest.raises(Crash):
        run_idempotent(ctx, SERVICE, "rk", "receive", body, _ANY, receive_then_die)
    clock.advance(timedelta(seconds=ctx.idempotency_lease_s))
    for _ in range(2):
        with pytest.raises(CommerceError) as err:
            run_idempotent(ctx, SERVICE, "rk", "receive", body, _ANY, receive_then_die)
        assert (err.value.code, err.value.status) == ("IDEMPOTENCY_OUTCOME_LOST", 409)
    assert _level(staff, s.skus[0], s.location) == (4, 0)  # applied once, never repeated
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(T["idempotency_keys"].c.completed).where(T["idempotency_keys"].c.key == "rk")
        ).one()
    assert row.completed


def test_simulated_gateway_file_keeps_charges_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "gw.db"
    a = SimulatedGateway(path=path)
    auth = a.authorize(amount_cents=500, token="tok_ok", reference="order-1")
    a.capture(auth, 500)
    b = SimulatedGateway(path=path)  # another worker, or the server after a restart
    assert b.authorize(amount_cents=500, token="tok_ok", reference="order-1") == auth
    charge = b.lookup("order-1")
    assert charge is not None and (charge.captured_cents, charge.refunded_cents) == (500, 0)
    b.refund(auth.auth_id, 200)
    with pytest.raises(ValueError, match="exceeds captured"):
        a.refund(auth.auth_id, 301)
    assert b.lookup("order-2") is None


def test_concurrent_express_checkouts_never_oversell_nor_deadlock_and_a_key_orders_once(
    fresh_staff: InProcessClient,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ctx = _ctx(fresh_staff)
    ctx.idempotency_wait_s = 10.0
    s = seed(fresh_staff, n_skus=3, stock=6)
    who = Principal(role="customer", customer_id="c-race")

    def buy(i: int) -> int | str:
        lines = [CheckoutLine(sku=s.skus[(i + j) % 3], quantity=1) for j in range(1 + i % 3)]
        lines.reverse()  # lock order must not depend on the order of the lines
        body = CheckoutRequest(lines=lines, location=s.location, channel=Channel.WEB)
        try:
            return checkout_idempotent(ctx, who, body, f"race-{i % 12}").id
        except CommerceError as exc:
            return exc.code

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(buy, range(24)))
    assert set(got) - {"INSUFFICIENT_STOCK"} == {g for g in got if isinstance(g, int)}
    orders = {g for g in got if isinstance(g, int)}
    for i in range(12):  # both requests under one key got the same answer
        assert got[i] == got[i + 12]
    sold = sum(sum(ln.quantity for ln in fresh_staff.get_order(o).lines) for o in orders)
    levels = [_level(fresh_staff, x, s.location) for x in s.skus]
    assert sum(r for _, r in levels) == sold and all(r <= 6 for _, r in levels)
