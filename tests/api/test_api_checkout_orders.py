"""Carts, reservations, checkout, payments, the order state machine and returns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import seed
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.payments import SimulatedGateway
from api.schemas import (
    CartCreate,
    CartLineSet,
    Channel,
    CheckoutRequest,
    OrderStatus,
    PriceSet,
    ReturnCreate,
    StockLine,
    StockQuery,
)
from api.services.context import ServiceContext
from api.services.stock import ledger_mismatches


def _level(client: InProcessClient, sku: str, loc: str) -> tuple[int, int]:
    [lv] = client.stock_levels(StockQuery(skus=[sku], locations=[loc]))
    return lv.on_hand, lv.reserved


def _cart(client: InProcessClient, loc: str, lines: dict[str, int]) -> int:
    cart = client.create_cart(CartCreate(channel=Channel.WEB, location=loc))
    for sku, q in lines.items():
        client.set_cart_line(cart.id, CartLineSet(sku=sku, quantity=q))
    return cart.id


def test_reservation_expires_and_releases_stock_at_the_ttl(
    fresh_staff: InProcessClient, clock: ManualClock
) -> None:
    staff = fresh_staff
    s = seed(staff, n_skus=1, stock=5)
    shopper = staff.as_principal("customer", "c-exp")
    cart_id = _cart(shopper, s.location, {s.skus[0]: 3})
    assert _level(staff, s.skus[0], s.location) == (5, 3)
    clock.advance(timedelta(seconds=899))
    assert staff.expire_reservations() == 0
    assert _level(staff, s.skus[0], s.location) == (5, 3)
    clock.advance(timedelta(seconds=1))  # exactly reservation_ttl after the last change
    assert staff.expire_reservations() == 1
    assert _level(staff, s.skus[0], s.location) == (5, 0)
    assert shopper.get_cart(cart_id).status == "expired"
    assert staff.expire_reservations() == 0


def test_changing_a_line_extends_the_reservation_window(
    staff: InProcessClient, clock: ManualClock
) -> None:
    s = seed(staff, n_skus=1, stock=5)
    shopper = staff.as_principal("customer", "c-ext")
    cart_id = _cart(shopper, s.location, {s.skus[0]: 1})
    clock.advance(timedelta(seconds=600))
    shopper.set_cart_line(cart_id, CartLineSet(sku=s.skus[0], quantity=2))
    clock.advance(timedelta(seconds=600))
    assert staff.expire_reservations() == 0
    assert _level(staff, s.skus[0], s.location) == (5, 2)


def test_cart_line_beyond_available_is_refused_with_line_details(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=2)
    shopper = staff.as_principal("customer", "c-short")
    cart = shopper.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
    shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=1))
    with pytest.raises(CommerceError) as err:
        shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=3))
    assert err.value.code == "INSUFFICIENT_STOCK"
    assert err.value.details == [
        {"sku": s.skus[0], "code": "INSUFFICIENT_STOCK", "requested": 3, "available": 2}
    ]
    assert [(ln.sku, ln.quantity) for ln in shopper.get_cart(cart.id).lines] == [(s.skus[0], 1)]
    shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=0))
    assert shopper.get_cart(cart.id).lines == [] and _level(staff, s.skus[0], s.location) == (2, 0)


def test_checkout_snapshots_price_and_charges_once(
    staff: InProcessClient, env: ServiceContext
) -> None:
    s = seed(staff, n_skus=2, stock=10, price_cents=1000)
    staff.set_prices([PriceSet(sku=s.skus[0], channel=Channel.WEB, price_cents=900)])
    shopper = staff.as_principal("customer", "c-pay")
    cart_id = _cart(shopper, s.location, {s.skus[0]: 2, s.skus[1]: 1})
    staff.set_prices(
        [PriceSet(sku=s.skus[0], channel=Channel.WEB, price_cents=5000)]
    )  # after the snapshot
    order = shopper.checkout(CheckoutRequest(cart_id=cart_id))
    assert order.status == OrderStatus.PAID and order.total_cents == 2 * 900 + 1001
    assert order.payment is not None and order.payment.captured_cents == order.total_cents
    again = shopper.checkout(CheckoutRequest(cart_id=cart_id))  # retry without a key
    assert again.id == order.id
    assert (
        isinstance(env.gateway, SimulatedGateway) and env.gateway.charges[f"order-{order.id}"] == 1
    )
    assert shopper.get_order(order.id) == order
    assert _level(staff, s.skus[0], s.location) == (10, 2)  # held for the order until it ships


def test_checkout_of_expired_cart_retakes_stock_or_reports_each_short_line(
    fresh_staff: InProcessClient, clock: ManualClock
) -> None:
    staff = fresh_staff
    s = seed(staff, n_skus=3, stock=2)
    shopper = staff.as_principal("customer", "c-late")
    cart_id = _cart(shopper, s.location, {s.skus[0]: 2, s.skus[1]: 2, s.skus[2]: 1})
    clock.advance(timedelta(hours=1))
    assert staff.expire_reservations() == 1
    other = staff.as_principal("customer", "c-fast")
    _cart(other, s.location, {s.skus[0]: 1, s.skus[1]: 2})
    with pytest.raises(CommerceError) as err:
        shopper.checkout(CheckoutRequest(cart_id=cart_id))
    assert err.value.code == "INSUFFICIENT_STOCK" and err.value.status == 409
    assert err.value.details == [
        {"sku": s.skus[0], "code": "INSUFFICIENT_STOCK", "requested": 2, "available": 1},
        {"sku": s.skus[1], "code": "INSUFFICIENT_STOCK", "requested": 2, "available": 0},
    ]
    assert shopper.get_cart(cart_id).status == "expired"  # nothing changed
    assert _level(staff, s.skus[2], s.location) == (2, 0)
    # expired carts are checked out as they are, not edited
    with pytest.raises(CommerceError) as err2:
        shopper.set_cart_line(cart_id, CartLineSet(sku=s.skus[2], quantity=1))
    assert err2.value.code == "CONFLICT"


def test_declined_payment_cancels_the_order_and_releases_stock(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=4)
    shopper = staff.as_principal("customer", "c-decl")
    cart_id = _cart(shopper, s.location, {s.skus[0]: 3})
    with pytest.raises(CommerceError) as err:
        shopper.checkout(CheckoutRequest(cart_id=cart_id, payment_token="tok_decline"))
    assert (err.value.code, err.value.status) == ("PAYMENT_DECLINED", 402)
    assert isinstance(err.value.details, dict)
    order = shopper.get_order(int(str(err.value.details["order_id"])))
    assert order.status == OrderStatus.CANCELLED and order.payment is not None
    assert order.payment.status == "declined" and order.payment.captured_cents == 0
    assert _level(staff, s.skus[0], s.location) == (4, 0)


def test_gateway_timeout_leaves_order_unpaid_until_expiry_releases_it(
    fresh_staff: InProcessClient, clock: ManualClock
) -> None:
    staff = fresh_staff
    s = seed(staff, n_skus=1, stock=4)
    shopper = staff.as_principal("customer", "c-tmo")
    cart_id = _cart(shopper, s.location, {s.skus[0]: 2})
    with pytest.raises(CommerceError) as err:
        shopper.checkout(CheckoutRequest(cart_id=cart_id, payment_token="tok_timeout"))
    assert err.value.code == "PAYMENT_TIMEOUT"
    assert _level(staff, s.skus[0], s.location) == (4, 2)
    clock.advance(timedelta(seconds=1799))
    assert staff.expire_unpaid_orders() == 0
    clock.advance(timedelta(seconds=1))
    assert staff.expire_unpaid_orders() == 1
    assert _level(staff, s.skus[0], s.location) == (4, 0)
    [order] = shopper.list_orders(status=OrderStatus.CANCELLED).items
    assert order.payment is not None and order.payment.status == "void"


def test_order_walks_the_state_machine_and_shipping_books_the_sale(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=5)
    shopper = staff.as_principal("customer", "c-sm")
    order = shopper.checkout(CheckoutRequest(cart_id=_cart(shopper, s.location, {s.skus[0]: 2})))
    with pytest.raises(CommerceError) as err:
        staff.transition_order(order.id, OrderStatus.SHIPPED)
    assert err.value.code == "INVALID_TRANSITION"
    assert err.value.details == {"order_id": order.id, "from": "paid", "to": "shipped"}
    assert staff.transition_order(order.id, OrderStatus.ALLOCATED).status == OrderStatus.ALLOCATED
    assert staff.transition_order(order.id, OrderStatus.SHIPPED).status == OrderStatus.SHIPPED
    assert _level(staff, s.skus[0], s.location) == (3, 0)
    with pytest.raises(CommerceError):
        shopper.cancel_order(order.id)  # shipped orders are returned, not cancelled
    assert staff.transition_order(order.id, OrderStatus.DELIVERED).status == OrderStatus.DELIVERED
    back = shopper.return_order(
        order.id, ReturnCreate(lines=[StockLine(sku=s.skus[0], quantity=1)])
    )
    assert back.status == OrderStatus.RETURNED and back.payment is not None
    assert back.payment.refunded_cents == back.lines[0].unit_price_cents
    with pytest.raises(CommerceError) as too_many:
        shopper.return_order(order.id, ReturnCreate(lines=[StockLine(sku=s.skus[0], quantity=2)]))
    assert too_many.value.code == "VALIDATION_ERROR"
    done = shopper.return_order(
        order.id, ReturnCreate(lines=[StockLine(sku=s.skus[0], quantity=1)])
    )
    assert done.status == OrderStatus.REFUNDED and done.payment is not None
    assert done.payment.refunded_cents == done.payment.captured_cents == done.total_cents
    assert _level(staff, s.skus[0], s.location) == (5, 0)
    with staff.ctx.engine.connect() as conn:
        assert ledger_mismatches(conn) == []


def test_cancel_releases_stock_and_refunds(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=5)
    shopper = staff.as_principal("customer", "c-cancel")
    order = shopper.checkout(CheckoutRequest(cart_id=_cart(shopper, s.location, {s.skus[0]: 2})))
    cancelled = shopper.cancel_order(order.id)
    assert cancelled.status == OrderStatus.CANCELLED and cancelled.payment is not None
    assert cancelled.payment.refunded_cents == order.total_cents
    assert _level(staff, s.skus[0], s.location) == (5, 0)
    with pytest.raises(CommerceError) as err:
        shopper.cancel_order(order.id)
    assert err.value.code == "INVALID_TRANSITION"


def test_money_guards_are_database_checks(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=5)
    shopper = staff.as_principal("customer", "c-guard")
    order = shopper.checkout(CheckoutRequest(cart_id=_cart(shopper, s.location, {s.skus[0]: 1})))
    for bad in ("captured_cents = authorized_cents + 1", "refunded_cents = captured_cents + 1"):
        with pytest.raises(IntegrityError), staff.ctx.engine.begin() as conn:
            conn.execute(text(f"UPDATE payments SET {bad} WHERE order_id = :o"), {"o": order.id})


def test_orders_list_newest_first_with_cursor(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=10)
    shopper = staff.as_principal("customer", "c-list")
    ids = [
        shopper.checkout(CheckoutRequest(cart_id=_cart(shopper, s.location, {s.skus[0]: 1}))).id
        for _ in range(5)
    ]
    seen, cursor = [], None
    while True:
        page = shopper.list_orders(limit=2, cursor=cursor)
        seen += [o.id for o in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == sorted(ids, reverse=True)
