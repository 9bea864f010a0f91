"""PostgreSQL fast path of checkout: one round trip per transaction, prepared statements.

Found with py-spy on ``benchmarks/checkout.py --flows express``: with the service's SQLAlchemy
Core statements an express checkout took about ten statements in two transactions, and
statement compilation/execution was the largest block of the API's CPU time. Here each
transaction is one statement, sent on the psycopg connection with ``prepare=True`` (planned
once per connection):

- :data:`PLACE_EXPRESS` reserves every line (rows locked in SKU order, so multi-line orders
  cannot deadlock), prices them, and writes the order, its lines, a pending payment and the
  ``Idempotency-Key`` row (carrying the order id) -- the order only when *every* line was
  reserved; otherwise the caller raises per-line ``INSUFFICIENT_STOCK`` and rolls back;
- :data:`BOOK_PAID` moves the order to ``paid``, books the capture and stores the key's outcome.

Both write their ``outbox_events`` row (``order.placed``, ``order.paid``) in the same statement
(:data:`api.outbox.PLACED_CTE`, :data:`api.outbox.PAID_CTE`).

Same guarantees as the portable path in :mod:`api.services.checkout`; SQLite uses that one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from api.outbox import PAID_CTE, PLACED_CTE

PLACE_EXPRESS = (
    """
WITH v(sku_id, q) AS (SELECT * FROM unnest(%(skus)s::bigint[], %(qtys)s::bigint[])),
lk AS (
  SELECT s.sku_id FROM stock s JOIN v ON s.sku_id = v.sku_id
  WHERE s.location_id = %(loc)s ORDER BY s.sku_id FOR UPDATE OF s
),
d AS (
  UPDATE stock s SET reserved = s.reserved + v.q FROM v
  WHERE s.sku_id = v.sku_id AND s.location_id = %(loc)s AND s.on_hand - s.reserved >= v.q
    AND (SELECT count(*) FROM lk) >= 0
  RETURNING s.sku_id
),
pr AS (
  SELECT v.sku_id, v.q, COALESCE((
      SELECT p.price_cents FROM prices p
      WHERE p.sku_id = v.sku_id AND p.channel = %(ch)s AND p.valid_from <= %(now)s
        AND (p.valid_to IS NULL OR p.valid_to > %(now)s)
      ORDER BY p.valid_from DESC, p.id DESC LIMIT 1
    ), k.list_price_cents) AS price, k.code AS code
  FROM v JOIN skus k ON k.id = v.sku_id
),
o AS (
  INSERT INTO orders (cart_id, customer_id, channel, location_id, status, total_cents,
                      created_at, updated_at)
  SELECT NULL, %(cust)s, %(ch)s, %(loc)s, 'placed', (SELECT sum(q * price) FROM pr),
         %(now)s, %(now)s
  WHERE (SELECT count(*) FROM d) = %(n)s
  RETURNING id, total_cents
),
ol AS (
  INSERT INTO order_lines (order_id, sku_id, quantity, unit_price_cents, returned_qty)
  SELECT o.id, pr.sku_id, pr.q, pr.price, 0 FROM o, pr
),
pay AS (
  INSERT INTO payments (order_id, amount_cents, authorized_cents, captured_cents,
                        refunded_cents, status)
  SELECT o.id, o.total_cents, 0, 0, 0, 'pending' FROM o
),
ik AS (
  INSERT INTO idempotency_keys (principal, key, request_hash, completed, created_at,
                                lease_until, resource_id)
  SELECT %(who)s::varchar, %(key)s::varchar, %(hash)s::varchar, false, %(now)s,
         %(lease)s::timestamptz, o.id FROM o
  WHERE %(key)s::varchar IS NOT NULL
),"""
    + PLACED_CTE
    + """
SELECT (SELECT id FROM o), (SELECT array_agg(sku_id) FROM d),
       (SELECT array_agg(price ORDER BY sku_id) FROM pr),
       (SELECT array_agg(sku_id ORDER BY sku_id) FROM pr)
"""
)

BOOK_PAID = (
    """
WITH o AS (
  UPDATE orders SET status = 'paid', updated_at = %(now)s
  WHERE id = %(oid)s AND status = 'placed' RETURNING id
),
p AS (
  UPDATE payments SET authorized_cents = %(amt)s, captured_cents = %(amt)s,
                      status = 'captured', gateway_ref = %(ref)s
  WHERE order_id IN (SELECT id FROM o)
),
k AS (
  UPDATE idempotency_keys SET completed = true, status_code = 200, response = %(resp)s::text
  WHERE principal = %(who)s::varchar AND key = %(key)s::varchar AND EXISTS (SELECT 1 FROM o)
),"""
    + PAID_CTE
    + """
SELECT count(*) FROM o
"""
)


def _driver(conn: Connection) -> Any:
    return conn.connection.driver_connection


def place_express(
    conn: Connection,
    *,
    location_id: int,
    qty: dict[int, int],
    channel: str,
    customer_id: str,
    now: datetime,
    key: tuple[str, str, str, datetime] | None,
) -> tuple[int | None, set[int], dict[int, int]]:
    """Run :data:`PLACE_EXPRESS` in ``conn``'s transaction.

    ``key``: (principal, key, request hash, lease end) or None. Returns (order id or None when a
    line was short, SKU ids reserved, unit price per SKU id). Raises psycopg's UniqueViolation
    when the key row already exists.
    """
    ids = sorted(qty)
    params = {
        "skus": ids,
        "qtys": [qty[i] for i in ids],
        "loc": location_id,
        "ch": channel,
        "now": now,
        "cust": customer_id,
        "n": len(ids),
        "who": key[0] if key else None,
        "key": key[1] if key else None,
        "hash": key[2] if key else None,
        "lease": key[3] if key else None,
    }
    row = _driver(conn).execute(PLACE_EXPRESS, params, prepare=True).fetchone()
    oid, reserved, prices, price_ids = row
    price = dict(zip(price_ids or [], prices or [], strict=True))
    return oid, set(reserved or []), price


def book_paid(
    conn: Connection,
    *,
    order_id: int,
    amount_cents: int,
    gateway_ref: str,
    now: datetime,
    key: tuple[str, str] | None,
    response: str | None,
) -> bool:
    """Run :data:`BOOK_PAID`; True when the order moved from placed to paid."""
    params = {
        "oid": order_id,
        "amt": amount_cents,
        "ref": gateway_ref,
        "now": now,
        "who": key[0] if key else None,
        "key": key[1] if key else None,
        "resp": response,
    }
    return int(_driver(conn).execute(BOOK_PAID, params, prepare=True).fetchone()[0]) == 1
