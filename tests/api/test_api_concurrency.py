"""Correctness under concurrency, over real HTTP (uvicorn on 127.0.0.1, random port).

* 200 checkouts retried with the same Idempotency-Keys, duplicates in flight at the same time:
  each order and each charge exactly once (SQLite and PostgreSQL). The 64-way stock race is in
  test_api_concurrency_pg.py.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from api_helpers import ServerThread, seed
from sqlalchemy import text

from api.client.base import CommerceError
from api.client.http import HttpClient
from api.client.inprocess import InProcessClient
from api.payments import SimulatedGateway
from api.schemas import (
    CartCreate,
    CartLineSet,
    Channel,
    CheckoutRequest,
    StockQuery,
)
from api.services.context import Principal, ServiceContext

N_CLIENTS, STOCK, ROUNDS = 64, 10, 20


def _min_available(env: ServiceContext) -> int:
    with env.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT COALESCE(MIN(on_hand - reserved), 0) FROM stock")
            ).scalar_one()
        )


@pytest.mark.slow
def test_200_retried_checkouts_create_each_order_and_charge_once(
    server: ServerThread, env: ServiceContext
) -> None:
    staff = InProcessClient(env, Principal(role="staff", key_id=1))
    s = seed(staff, n_skus=1, stock=1000)
    shopper = staff.as_principal("customer", "retry-c")
    carts = []
    for _ in range(200):
        cart = shopper.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
        shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=1))
        carts.append(cart.id)
    client: HttpClient = server.client("customer", "retry-c")
    key = {cid: f"retry-{s.prefix}-{cid}" for cid in carts}

    def attempt(cid: int) -> int:
        for _ in range(50):
            try:
                return client.checkout(CheckoutRequest(cart_id=cid), idempotency_key=key[cid]).id
            except CommerceError as exc:  # the twin is still running: retry, as a client would
                assert exc.code == "IDEMPOTENCY_IN_PROGRESS", exc
        raise AssertionError("never completed")

    with ThreadPoolExecutor(max_workers=32) as pool:
        # every key sent three times, two of them at the same time
        first = list(pool.map(attempt, carts + carts))
    retried = [attempt(cid) for cid in carts]
    assert first[:200] == first[200:] == retried
    assert len(set(retried)) == 200
    with env.engine.connect() as conn:
        n_orders = conn.execute(
            text("SELECT COUNT(*) FROM orders WHERE customer_id = 'retry-c'")
        ).scalar_one()
        n_captured = conn.execute(
            text(
                "SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                "WHERE o.customer_id = 'retry-c' AND p.captured_cents = "
                "p.authorized_cents AND p.captured_cents > 0"
            )
        ).scalar_one()
    assert n_orders == 200 and n_captured == 200
    assert isinstance(env.gateway, SimulatedGateway)
    assert sorted(env.gateway.charges[f"order-{oid}"] for oid in retried) == [1] * 200
    [level] = staff.stock_levels(StockQuery(skus=s.skus))
    assert (level.on_hand, level.reserved) == (1000, 200)
