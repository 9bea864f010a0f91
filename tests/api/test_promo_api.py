"""Promotions through the service (SQLite and PostgreSQL): vouchers at express and cart
checkout, discount lines on carts and orders, typed errors, usage limits, uses given back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import ServerThread, seed

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.schemas import (
    CartCreate,
    CartLineSet,
    Channel,
    CheckoutLine,
    CheckoutRequest,
    OrderStatus,
    StockQuery,
)
from api.schemas_promo import PromotionCreate, VoucherSet
from api.services import promotions
from api.services.context import Principal, ServiceContext
from api.services.promotions_cart import set_cart_voucher

STAFF = Principal(role="staff", key_id=1)


def _promo(env: ServiceContext, **kw: object) -> int:
    body = PromotionCreate.model_validate({"name": "promo", **kw})
    return promotions.create_promotion(env, STAFF, body).id


def _express(
    client: InProcessClient, location: str, lines: dict[str, int], **kw: object
) -> CheckoutRequest:
    return CheckoutRequest(
        lines=[CheckoutLine(sku=s, quantity=q) for s, q in lines.items()],
        location=location,
        channel=Channel.WEB,
        **kw,  # type: ignore[arg-type]
    )


def _code(fn: object) -> tuple[int, str, object]:
    try:
        fn()  # type: ignore[operator]
    except CommerceError as exc:
        return exc.status, exc.code, exc.details
    raise AssertionError("expected a CommerceError")


def test_a_percent_voucher_at_express_checkout_is_charged_and_shown_on_the_order(
    env: ServiceContext, staff: InProcessClient
) -> None:
    s = seed(staff, n_skus=2, stock=10, price_cents=1000)  # prices 1000, 1001
    code = f"{s.prefix}-TEN"
    pid = _promo(env, kind="percent", code=code, percent_off=10, skus=[s.skus[1]])
    shopper = staff.as_principal("customer", "c-1")
    order = shopper.checkout(
        _express(shopper, s.location, {s.skus[0]: 1, s.skus[1]: 2}, voucher=code)
    )
    assert order.discount_cents == 200  # 10% of 2002, rounded down
    assert order.total_cents == 1000 + 2002 - 200
    assert order.payment is not None and order.payment.captured_cents == order.total_cents
    [d] = order.discounts
    assert (d.promotion_id, d.code, d.amount_cents) == (pid, code, 200)
    again = shopper.get_order(order.id)
    assert again.discounts == order.discounts and again.total_cents == order.total_cents


def test_a_cart_shows_automatic_and_voucher_discounts_and_checkout_charges_them(
    env: ServiceContext, staff: InProcessClient
) -> None:
    s = seed(staff, n_skus=2, stock=10, price_cents=1000)
    _promo(env, kind="bundle", bundle_qty=2, bundle_price_cents=1500, skus=[s.skus[0]])
    code = f"{s.prefix}-FIVE"
    _promo(env, kind="fixed", code=code, amount_off_cents=500, min_subtotal_cents=3000)
    shopper = staff.as_principal("customer", "c-2")
    cart = shopper.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
    shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=2))
    cart = shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[1], quantity=1))
    assert [d.amount_cents for d in cart.discounts] == [500]  # the bundle: 2000 -> 1500
    assert cart.total_cents == 2000 + 1001 - 500
    who = Principal(role="customer", key_id=2, customer_id="c-2")
    cart = set_cart_voucher(env, who, cart.id, VoucherSet(code=code))
    assert cart.voucher == code
    assert [(d.code, d.amount_cents) for d in cart.discounts] == [(None, 500), (code, 500)]
    assert cart.total_cents == 3001 - 1000
    order = shopper.checkout(CheckoutRequest(cart_id=cart.id))
    assert (order.total_cents, order.discount_cents) == (2001, 1000)
    assert order.payment is not None and order.payment.captured_cents == 2001


def test_voucher_errors_are_typed_conflicts_naming_the_voucher(
    env: ServiceContext, staff: InProcessClient, clock: ManualClock
) -> None:
    s = seed(staff, n_skus=2, stock=10)
    now = clock.now()
    shopper = staff.as_principal("customer", "c-3")
    p = s.prefix
    _promo(env, kind="percent", code=f"{p}-OLD", percent_off=5, valid_from=now - timedelta(days=2),
           valid_to=now - timedelta(days=1))  # fmt: skip
    _promo(env, kind="percent", code=f"{p}-SOON", percent_off=5, valid_from=now + timedelta(days=1))
    _promo(env, kind="percent", code=f"{p}-APP", percent_off=5, channel="app")
    _promo(env, kind="percent", code=f"{p}-S1", percent_off=5, skus=[s.skus[1]])
    _promo(env, kind="fixed", code=f"{p}-BIG", amount_off_cents=5, min_subtotal_cents=10**6)

    def co(code: str) -> tuple[int, str, object]:
        return _code(lambda: shopper.checkout(_express(shopper, s.location, {s.skus[0]: 1},
                                                       voucher=code)))  # fmt: skip

    assert co(f"{p}-NOPE")[:2] == (404, "VOUCHER_NOT_FOUND")
    assert co(f"{p}-OLD")[:2] == (409, "VOUCHER_EXPIRED")
    assert co(f"{p}-SOON")[:2] == (409, "VOUCHER_EXPIRED")
    status, code, details = co(f"{p}-APP")
    assert (status, code, details["reason"]) == (409, "VOUCHER_NOT_APPLICABLE", "channel")  # type: ignore[index]
    assert co(f"{p}-S1")[2]["reason"] == "no_eligible_items"  # type: ignore[index]
    assert co(f"{p}-BIG")[2]["reason"] == "min_subtotal"  # type: ignore[index]
    # nothing was sold or reserved by the refused checkouts
    [level] = staff.stock_levels(StockQuery(skus=[s.skus[0]], locations=[s.location]))
    assert (level.on_hand, level.reserved) == (10, 0)
    # the simulated clock moves: the early voucher becomes valid
    clock.advance(timedelta(days=1, seconds=1))
    order = shopper.checkout(_express(shopper, s.location, {s.skus[0]: 1}, voucher=f"{p}-SOON"))
    assert order.discount_cents == 50


def test_usage_limits_total_and_per_customer_and_uses_given_back_on_cancel(
    env: ServiceContext, staff: InProcessClient
) -> None:
    s = seed(staff, n_skus=1, stock=20)
    code = f"{s.prefix}-LIM"
    pid = _promo(env, kind="fixed", code=code, amount_off_cents=100, max_uses=3,
                 max_uses_per_customer=2)  # fmt: skip
    a, b = staff.as_principal("customer", "a"), staff.as_principal("customer", "b")
    first = a.checkout(_express(a, s.location, {s.skus[0]: 1}, voucher=code))
    a.checkout(_express(a, s.location, {s.skus[0]: 1}, voucher=code))
    status, err, details = _code(
        lambda: a.checkout(_express(a, s.location, {s.skus[0]: 1}, voucher=code))
    )
    assert (status, err, details["scope"]) == (409, "VOUCHER_EXHAUSTED", "customer")  # type: ignore[index]
    b.checkout(_express(b, s.location, {s.skus[0]: 1}, voucher=code))
    status, err, details = _code(
        lambda: b.checkout(_express(b, s.location, {s.skus[0]: 1}, voucher=code))
    )
    assert (status, err, details["scope"]) == (409, "VOUCHER_EXHAUSTED", "total")  # type: ignore[index]
    assert promotions.get_promotion(env, STAFF, pid).uses == 3
    cancelled = a.cancel_order(first.id)
    assert cancelled.status == OrderStatus.CANCELLED
    assert promotions.get_promotion(env, STAFF, pid).uses == 2
    a.checkout(_express(a, s.location, {s.skus[0]: 1}, voucher=code))  # a's use came back
    assert promotions.get_promotion(env, STAFF, pid).uses == 3


def test_a_declined_payment_gives_the_voucher_use_back(
    env: ServiceContext, staff: InProcessClient
) -> None:
    s = seed(staff, n_skus=1, stock=5)
    code = f"{s.prefix}-ONE"
    pid = _promo(env, kind="percent", code=code, percent_off=50, max_uses=1)
    shopper = staff.as_principal("customer", "d")
    req = _express(shopper, s.location, {s.skus[0]: 1}, voucher=code, payment_token="tok_decline")
    assert _code(lambda: shopper.checkout(req))[:2] == (402, "PAYMENT_DECLINED")
    assert promotions.get_promotion(env, STAFF, pid).uses == 0
    order = shopper.checkout(_express(shopper, s.location, {s.skus[0]: 1}, voucher=code))
    assert order.discount_cents == 500
    assert promotions.get_promotion(env, STAFF, pid).uses == 1


def test_an_automatic_promotion_applies_to_express_checkout_within_its_window(
    env: ServiceContext, staff: InProcessClient, clock: ManualClock
) -> None:
    s = seed(staff, n_skus=1, stock=5, price_cents=2000)
    now = clock.now()
    _promo(env, kind="percent", percent_off=25, skus=[s.skus[0]], valid_from=now,
           valid_to=now + timedelta(hours=1))  # fmt: skip
    shopper = staff.as_principal("customer", "e")
    order = shopper.checkout(_express(shopper, s.location, {s.skus[0]: 2}))
    assert (order.total_cents, order.discount_cents) == (3000, 1000)
    clock.advance(timedelta(hours=1))
    order = shopper.checkout(_express(shopper, s.location, {s.skus[0]: 2}))
    assert (order.total_cents, order.discount_cents, order.discounts) == (4000, 0, [])


def test_promotions_are_staff_only_and_checked_at_the_edge(
    env: ServiceContext, staff: InProcessClient, server: ServerThread
) -> None:
    s = seed(staff, n_skus=1, stock=5)
    body = {"name": "x", "kind": "percent", "percent_off": 10, "code": f"{s.prefix}-H"}
    with server.client("customer", "h") as shopper, server.client("staff") as boss:
        r = shopper._http.post("/v1/promotions", json=body)  # type: ignore[attr-defined]
        assert r.status_code == 403
        r = boss._http.post("/v1/promotions", json={**body, "percent_off": 0})  # type: ignore[attr-defined]
        assert r.status_code == 422
        r = boss._http.post("/v1/promotions", json={**body, "max_uses": 5, "code": None})  # type: ignore[attr-defined]
        assert r.status_code == 422
        r = boss._http.post("/v1/promotions", json=body)  # type: ignore[attr-defined]
        assert r.status_code == 201 and r.json()["uses"] == 0
        r = boss._http.post("/v1/promotions", json=body)  # type: ignore[attr-defined]
        assert r.status_code == 409
        cart = shopper.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
        shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=1))
        r = shopper._http.put(f"/v1/carts/{cart.id}/voucher", json={"code": f"{s.prefix}-H"})  # type: ignore[attr-defined]
        assert r.status_code == 200 and r.json()["discount_cents"] == 100
        r = shopper._http.put(f"/v1/carts/{cart.id}/voucher", json={"code": "NOPE-1"})  # type: ignore[attr-defined]
        assert (r.status_code, r.json()["code"]) == (404, "VOUCHER_NOT_FOUND")


@pytest.mark.parametrize("n", [1])
def test_cart_without_promotions_is_priced_as_before(
    env: ServiceContext, staff: InProcessClient, n: int
) -> None:
    s = seed(staff, n_skus=1, stock=5)
    shopper = staff.as_principal("customer", "f")
    cart = shopper.create_cart(CartCreate(channel=Channel.APP, location=s.location))
    cart = shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=n))
    assert (cart.total_cents, cart.discounts, cart.voucher) == (1000, [], None)
