"""Idempotency-Key semantics in the service layer (both doors share it)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from api_helpers import seed

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.payments import SimulatedGateway
from api.schemas import (
    CartCreate,
    CartLineSet,
    Channel,
    CheckoutRequest,
    ReceiptCreate,
    StockLine,
    StockQuery,
)


def test_same_key_and_body_returns_the_stored_result_without_a_second_effect(
    staff: InProcessClient,
) -> None:
    s = seed(staff, n_skus=1, stock=0)
    body = ReceiptCreate(location=s.location, lines=[StockLine(sku=s.skus[0], quantity=5)])
    first = staff.receive(body, idempotency_key="rcpt-1")
    assert staff.receive(body, idempotency_key="rcpt-1") == first
    [level] = staff.stock_levels(StockQuery(skus=s.skus))
    assert level.on_hand == 5
    assert len(staff.movements(sku=s.skus[0]).items) == 1


def test_same_key_with_another_body_is_idempotency_mismatch(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=0)
    staff.receive(
        ReceiptCreate(location=s.location, lines=[StockLine(sku=s.skus[0], quantity=5)]),
        idempotency_key="rcpt-2",
    )
    with pytest.raises(CommerceError) as err:
        staff.receive(
            ReceiptCreate(location=s.location, lines=[StockLine(sku=s.skus[0], quantity=6)]),
            idempotency_key="rcpt-2",
        )
    assert (err.value.code, err.value.status) == ("IDEMPOTENCY_MISMATCH", 422)


def test_keys_are_scoped_per_principal(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=10)
    a, b = staff.as_principal("customer", "idem-a"), staff.as_principal("customer", "idem-b")
    body = CartCreate(channel=Channel.WEB, location=s.location)
    assert a.create_cart(body, idempotency_key="k").customer_id == "idem-a"
    assert b.create_cart(body, idempotency_key="k").customer_id == "idem-b"


def test_a_stored_error_is_replayed_for_the_same_key(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=1)
    shopper = staff.as_principal("customer", "idem-err")
    cart = shopper.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
    shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=1))
    with pytest.raises(CommerceError) as first:
        shopper.checkout(
            CheckoutRequest(cart_id=cart.id, payment_token="tok_decline"), idempotency_key="co"
        )
    with pytest.raises(CommerceError) as again:
        shopper.checkout(
            CheckoutRequest(cart_id=cart.id, payment_token="tok_decline"), idempotency_key="co"
        )
    assert (
        (again.value.code, again.value.status, again.value.details)
        == (first.value.code, first.value.status, first.value.details)
        == ("PAYMENT_DECLINED", 402, first.value.details)
    )


def test_concurrent_duplicates_create_one_order_and_one_charge(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=5)
    shopper = staff.as_principal("customer", "idem-race")
    cart = shopper.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
    shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=1))
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(
            pool.map(
                lambda _: (
                    shopper.checkout(CheckoutRequest(cart_id=cart.id), idempotency_key="dup").id
                ),
                range(16),
            )
        )
    assert len(set(ids)) == 1
    gw = staff.ctx.gateway
    assert isinstance(gw, SimulatedGateway) and gw.charges[f"order-{ids[0]}"] == 1
    assert len(shopper.list_orders().items) == 1


def test_checkout_error_in_the_placement_transaction_is_stored_and_replayed(
    staff: InProcessClient,
) -> None:
    s = seed(staff, n_skus=1, stock=0)
    shopper = staff.as_principal("customer", "idem-empty")
    cart = shopper.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
    with pytest.raises(CommerceError) as first:  # empty cart: the key row rolls back with the order
        shopper.checkout(CheckoutRequest(cart_id=cart.id), idempotency_key="co-empty")
    assert first.value.code == "VALIDATION_ERROR"
    with pytest.raises(CommerceError) as again:
        shopper.checkout(CheckoutRequest(cart_id=cart.id), idempotency_key="co-empty")
    assert (again.value.code, again.value.status) == (first.value.code, first.value.status)
    with pytest.raises(CommerceError) as other:
        shopper.checkout(CheckoutRequest(cart_id=cart.id + 1), idempotency_key="co-empty")
    assert other.value.code == "IDEMPOTENCY_MISMATCH"


def test_checkout_with_a_key_commits_twice_and_replays_the_paid_order(
    staff: InProcessClient,
) -> None:
    from sqlalchemy import event

    s = seed(staff, n_skus=1, stock=5)
    shopper = staff.as_principal("customer", "idem-commits")
    cart = shopper.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
    shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=2))
    commits: list[int] = []

    def count(_conn: object) -> None:
        commits.append(1)

    event.listen(staff.ctx.engine, "commit", count)
    try:
        order = shopper.checkout(CheckoutRequest(cart_id=cart.id), idempotency_key="co-2")
    finally:
        event.remove(staff.ctx.engine, "commit", count)
    assert len(commits) == 2  # placement (+ key row), payment (+ stored result)
    assert order.status == "paid"
    assert shopper.checkout(CheckoutRequest(cart_id=cart.id), idempotency_key="co-2") == order
    [level] = staff.stock_levels(StockQuery(skus=s.skus))
    assert (level.on_hand, level.reserved) == (5, 2)
