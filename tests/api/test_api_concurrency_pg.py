"""The stock race over real HTTP on PostgreSQL (uvicorn on 127.0.0.1, random port).

64 concurrent checkouts for a SKU with 10 units: exactly 10 orders and 54 clean
INSUFFICIENT_STOCK answers, stock never negative, ledger equal to counters; 20 rounds. Each
cart's reservation has expired, so every checkout has to take the stock itself with the
conditional UPDATE: the race is on the checkout path.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from api_helpers import ServerThread, require_pg, seed
from sqlalchemy import text

from api.client.base import CommerceError
from api.client.http import HttpClient
from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.schemas import (
    CheckoutRequest,
    OrderStatus,
    StockQuery,
)
from api.services.context import Principal, ServiceContext
from api.services.stock import ledger_mismatches

N_CLIENTS, STOCK, ROUNDS = 64, 10, 20


@pytest.fixture(scope="module")
def backend() -> str:
    """PostgreSQL only: this is the must-show for the production database."""
    require_pg()
    return "postgres"


def _expired_carts(env: ServiceContext, location: str, sku: str, clock: ManualClock) -> list[int]:
    """Given: one cart per racer, each with a line of 1 unit whose reservation has expired
    (inserted set-based to keep 20 rounds fast; the race itself goes through the API)."""
    now = clock.now()
    with env.engine.begin() as conn:
        loc = conn.execute(
            text("SELECT id FROM locations WHERE code = :c"), {"c": location}
        ).scalar_one()
        sku_id = conn.execute(text("SELECT id FROM skus WHERE code = :c"), {"c": sku}).scalar_one()
        ids = [
            conn.execute(
                text(
                    "INSERT INTO carts (customer_id, channel, "
                    "location_id, status, expires_at, created_at) "
                    "VALUES (:cust, 'web', :loc, 'expired', :t, :t) RETURNING id"
                ),
                {"cust": f"race-{i}", "loc": loc, "t": now},
            ).scalar_one()
            for i in range(N_CLIENTS)
        ]
        conn.execute(
            text(
                "INSERT INTO cart_lines (cart_id, sku_id, quantity, "
                "unit_price_cents, reserved_qty) "
                "VALUES (:c, :s, 1, 1000, 0)"
            ),
            [{"c": c, "s": sku_id} for c in ids],
        )
    return ids


def _checkout(http: list[HttpClient], carts: list[int], sku: str, i: int) -> str:
    try:
        http[i].checkout(CheckoutRequest(cart_id=carts[i]))
        return "order"
    except CommerceError as exc:
        assert exc.status == 409 and exc.details == [
            {"sku": sku, "code": "INSUFFICIENT_STOCK", "requested": 1, "available": 0}
        ], exc
        return exc.code


def _min_available(env: ServiceContext) -> int:
    with env.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT COALESCE(MIN(on_hand - reserved), 0) FROM stock")
            ).scalar_one()
        )


@pytest.mark.slow
def test_64_concurrent_checkouts_for_10_units_sell_exactly_10_twenty_times(
    server: ServerThread, env: ServiceContext, clock: ManualClock
) -> None:
    staff = InProcessClient(env, Principal(role="staff", key_id=1))
    http = [server.client("customer", f"race-{i}") for i in range(N_CLIENTS)]
    pool = ThreadPoolExecutor(max_workers=N_CLIENTS)
    try:
        for rnd in range(ROUNDS):
            s = seed(staff, n_skus=1, stock=STOCK)
            sku = s.skus[0]
            carts = _expired_carts(env, s.location, sku, clock)

            outcomes = Counter(pool.map(partial(_checkout, http, carts, sku), range(N_CLIENTS)))
            assert outcomes == {"order": STOCK, "INSUFFICIENT_STOCK": N_CLIENTS - STOCK}, (
                rnd,
                outcomes,
            )
            [level] = staff.stock_levels(StockQuery(skus=[sku]))
            assert (level.on_hand, level.reserved, level.available) == (STOCK, STOCK, 0)
            assert _min_available(env) >= 0
            # ship the ten orders: stock reaches 0, the ledger still equals the counters
            sold = [
                o
                for o in staff.list_orders(status=OrderStatus.PAID, limit=500).items
                if o.location == s.location
            ]
            assert len(sold) == STOCK
            for o in sold:
                staff.transition_order(o.id, OrderStatus.ALLOCATED)
                staff.transition_order(o.id, OrderStatus.SHIPPED)
            [level] = staff.stock_levels(StockQuery(skus=[sku]))
            assert (level.on_hand, level.reserved) == (0, 0)
            with env.engine.connect() as conn:
                assert ledger_mismatches(conn) == []
    finally:
        pool.shutdown()
        for c in http:
            c.close()
