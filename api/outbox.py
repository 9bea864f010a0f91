"""The transactional outbox: order events written in the order's own transaction.

:func:`record` inserts an ``outbox_events`` row on the connection of the transaction that
changes the order, so the event commits if and only if the change does: no event without its
change, no change without its event, whatever crashes when. The PostgreSQL fast path of
checkout (:mod:`api.services.checkout_pg`) writes the same rows inside its single statements
(:data:`PLACED_CTE`, :data:`PAID_CTE`). :mod:`api.webhooks` delivers them.

Event kinds and their ``data`` (JSON):

* ``order.placed``: ``order_id``, ``customer_id``, ``status``, ``total_cents``, ``lines``
  (``sku``, ``quantity``, ``unit_price_cents``);
* ``order.paid``: ``order_id``, ``status``, ``amount_cents``;
* ``order.cancelled``: ``order_id``, ``status``, ``reason`` (``declined``, ``cancelled``,
  ``unpaid_expired``);
* ``order.refunded``: ``order_id``, ``status``, ``refunded_cents`` (this refund).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, insert

from api.models import T

_EV = T["outbox_events"]
_INS = insert(_EV)
KINDS = ("order.placed", "order.paid", "order.cancelled", "order.refunded")


def record(conn: Connection, kind: str, order_id: int, data: dict[str, Any], now: datetime) -> None:
    """Insert one event in ``conn``'s open transaction.

    Raises:
        ValueError: ``kind`` is not one of :data:`KINDS` (a programming error).
    """
    record_many(conn, kind, [(order_id, data)], now)


def record_many(
    conn: Connection, kind: str, events: Sequence[tuple[int, dict[str, Any]]], now: datetime
) -> None:
    """Insert one event of ``kind`` per (order id, data) in ``conn``'s open transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox event kind {kind!r}; one of {KINDS}")
    if not events:
        return
    conn.execute(
        _INS,
        [
            {
                "kind": kind,
                "aggregate_id": oid,
                "payload": orjson.dumps(data).decode(),
                "created_at": now,
                "fanned_out": False,
            }
            for oid, data in events
        ],
    )


# Pieces of the PostgreSQL fast path's statements (see api.services.checkout_pg): they expect
# CTEs ``o`` (the new order: id, total_cents) and ``pr`` (its lines: code, q, price).
PLACED_CTE = """
ev AS (
  INSERT INTO outbox_events (kind, aggregate_id, payload, created_at, fanned_out)
  SELECT 'order.placed', o.id, json_build_object(
      'order_id', o.id, 'customer_id', %(cust)s::text, 'status', 'placed',
      'total_cents', o.total_cents,
      'lines', (SELECT json_agg(json_build_object('sku', pr.code, 'quantity', pr.q,
                                                  'unit_price_cents', pr.price) ORDER BY pr.code)
                FROM pr))::text,
    %(now)s, false
  FROM o
)"""

PAID_CTE = """
ev AS (
  INSERT INTO outbox_events (kind, aggregate_id, payload, created_at, fanned_out)
  SELECT 'order.paid', o.id, json_build_object(
      'order_id', o.id, 'status', 'paid', 'amount_cents', %(amt)s::bigint)::text,
    %(now)s, false
  FROM o
)"""
