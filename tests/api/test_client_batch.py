"""Batch operations keep each item's guarantees: a key per item shared with the single call,
every cart checked out exactly once and no stock oversold under concurrent batches, one
transaction per batch that an item's failure does not spoil, and the size limit in every door."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest
from api_helpers import ServerThread, seed

from api.client.base import CommerceClient
from api.client.fake import FakeCommerce
from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.errors import InvalidInputError
from api.schemas import CartCreate, CartLineSet, Channel, CheckoutRequest, OrderStatus, StockQuery
from api.schemas_batch import (
    MAX_BATCH_ITEMS,
    CartLineItem,
    CartOpen,
    CheckoutItem,
    TransitionItem,
)
from api.services.context import Principal, ServiceContext


def _carts(shopper: CommerceClient, location: str, sku: str, n: int) -> list[int]:
    opened = shopper.batch_create_carts(
        [
            CartOpen(
                channel=Channel.WEB, location=location, lines=[CartLineSet(sku=sku, quantity=1)]
            )
            for _ in range(n)
        ]
    )
    return [r.unwrap().id for r in opened.items]


def _threads(n: int, fn: Callable[[int], None]) -> None:
    ts = [threading.Thread(target=fn, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)


def test_a_checkout_item_key_is_the_single_calls_idempotency_key(staff: InProcessClient) -> None:
    s = seed(staff)
    shopper = staff.as_principal("customer", "c-key")
    a, b = _carts(shopper, s.location, s.skus[0], 2)
    single = shopper.checkout(CheckoutRequest(cart_id=a), idempotency_key="same-key")
    res = shopper.batch_checkout(
        [
            CheckoutItem(cart_id=a, idempotency_key="same-key"),
            CheckoutItem(cart_id=b, idempotency_key="same-key"),
        ]
    )
    assert res.items[0].unwrap() == single
    assert res.items[1].error is not None
    assert (res.items[1].error.code, res.items[1].error.status) == ("IDEMPOTENCY_MISMATCH", 422)


def test_concurrent_batches_check_out_each_cart_exactly_once(staff: InProcessClient) -> None:
    s = seed(staff, stock=50)
    shopper = staff.as_principal("customer", "c-race")
    carts = _carts(shopper, s.location, s.skus[0], 12)
    seen: list[list[int]] = []

    def run(i: int) -> None:
        res = shopper.batch_checkout([CheckoutItem(cart_id=c) for c in reversed(carts)])
        seen.append([r.unwrap().id for r in res.items])

    _threads(4, run)
    assert len(seen) == 4 and all(ids == seen[0] for ids in seen)
    assert len(set(seen[0])) == 12
    level = staff.stock_levels(StockQuery(skus=[s.skus[0]], locations=[s.location]))[0]
    assert (level.on_hand, level.reserved) == (50, 12)


def test_concurrent_cart_batches_never_reserve_more_than_the_stock(staff: InProcessClient) -> None:
    s = seed(staff, stock=10)
    shopper = staff.as_principal("customer", "c-flash")
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        res = shopper.batch_create_carts(
            [
                CartOpen(
                    channel=Channel.WEB,
                    location=s.location,
                    lines=[CartLineSet(sku=s.skus[0], quantity=1)],
                )
                for _ in range(6)
            ]
        )
        with lock:
            outcomes.extend("ok" if r.ok else r.error.code for r in res.items)  # type: ignore[union-attr]

    _threads(4, run)
    assert sorted(outcomes) == ["INSUFFICIENT_STOCK"] * 14 + ["ok"] * 10
    level = staff.stock_levels(StockQuery(skus=[s.skus[0]], locations=[s.location]))[0]
    assert (level.on_hand, level.reserved, level.available) == (10, 10, 0)


def test_a_failed_item_leaves_the_batch_and_the_ledger_consistent(staff: InProcessClient) -> None:
    s = seed(staff, stock=3)
    shopper = staff.as_principal("customer", "c-mix")
    cart = shopper.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
    res = shopper.batch_set_cart_lines(
        [
            CartLineItem(cart_id=cart.id, sku=s.skus[0], quantity=2),
            CartLineItem(cart_id=cart.id, sku=s.skus[1], quantity=4),  # short
            CartLineItem(cart_id=cart.id, sku=s.skus[1], quantity=3),
        ]
    )
    assert [r.ok for r in res.items] == [True, False, True]
    assert [(ln.sku, ln.quantity) for ln in shopper.get_cart(cart.id).lines] == [
        (s.skus[0], 2),
        (s.skus[1], 3),
    ]
    order = shopper.checkout(CheckoutRequest(cart_id=cart.id))
    moved = staff.batch_transition_orders(
        [
            TransitionItem(order_id=order.id, to=OrderStatus.ALLOCATED),
            TransitionItem(order_id=order.id, to=OrderStatus.DELIVERED),  # not shipped yet
            TransitionItem(order_id=order.id, to=OrderStatus.SHIPPED),
        ]
    )
    assert [r.ok for r in moved.items] == [True, False, True]
    levels = staff.stock_levels(StockQuery(skus=s.skus[:2], locations=[s.location]))
    assert [(lv.on_hand, lv.reserved) for lv in levels] == [(1, 0), (0, 0)]
    moves = staff.movements(location=s.location).items
    assert sum(m.quantity for m in moves if m.sku == s.skus[0]) == 1


@pytest.mark.slow
def test_every_door_refuses_a_batch_beyond_the_limit(env: ServiceContext) -> None:
    too_many = [CartLineItem(cart_id=1, sku="a", quantity=1)] * (MAX_BATCH_ITEMS + 1)
    fake = FakeCommerce(ManualClock())
    with ServerThread(env) as srv, srv.client("staff") as http:
        for client in (fake, InProcessClient(env, Principal(role="staff", key_id=1)), http):
            with pytest.raises(InvalidInputError) as info:
                client.batch_set_cart_lines(too_many)
            assert info.value.status == 422


def test_batch_routes_are_documented_with_their_item_results(env: ServiceContext) -> None:
    with ServerThread(env) as srv:
        doc = httpx.get(f"{srv.url}/openapi.json", timeout=60).json()
    for path in ("/v1/batch/carts", "/v1/batch/cart-lines", "/v1/batch/checkouts"):
        assert "200" in doc["paths"][path]["post"]["responses"], path
