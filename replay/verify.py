"""Checks after a replay (or a chaos run), through the staff key:

* every order the API acknowledged (201 on checkout) is present;
* the stock ledger equals the counters: for every SKU and location seeded, ``on_hand`` equals
  the sum of its movements;
* nothing is oversold: no negative ``on_hand`` or ``available``, and the units of live orders
  (not cancelled) of each SKU never exceed the stock it was seeded with;
* (:func:`check_webhooks`, when the replay ran a :class:`replay.receiver.WebhookReceiver` that
  the target delivers to) every outbox event was delivered, with at most one effect at the
  receiver, and every acknowledged order's events arrived.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx

from api.client.base import CommerceError
from api.client.http import HttpClient
from api.schemas import OrderStatus, StockQuery
from replay.receiver import WebhookReceiver

R = TypeVar("R")
_DEAD = {OrderStatus.CANCELLED}


def _patient(fn: Callable[[], R], attempts: int = 30) -> R:
    """Retry while the server is rate limiting or still recovering from a fault."""
    for i in range(attempts):
        try:
            return fn()
        except CommerceError as exc:
            if exc.status not in (429, 503) or i == attempts - 1:
                raise
        except Exception:  # transport error or 5xx while a worker restarts
            if i == attempts - 1:
                raise
        time.sleep(min(0.2 * 2**i, 2.0))
    raise AssertionError("unreachable")


def check_after_replay(
    client: HttpClient,
    acknowledged: Sequence[int],
    *,
    location: str | None = None,
    initial_stock: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Run the checks; returns figures and ``ok`` (all held).

    Args:
        client: a staff client of the target.
        acknowledged: order ids the replay saw acknowledged.
        location: the seeded location (ledger and oversell checks), or None to skip them.
        initial_stock: units seeded per SKU (oversell check against orders).
    """
    found: set[int] = set()
    sold: Counter[str] = Counter()
    cursor: str | None = None
    while True:
        page = _patient(lambda c=cursor: client.list_orders(cursor=c, limit=500))  # type: ignore[misc]
        for o in page.items:
            found.add(o.id)
            if o.status not in _DEAD:
                for line in o.lines:
                    sold[line.sku] += line.quantity
        cursor = page.next_cursor
        if not cursor:
            break
    missing = sorted(set(acknowledged) - found)
    out: dict[str, Any] = {
        "orders_acknowledged": len(set(acknowledged)),
        "orders_found": len(set(acknowledged) & found),
        "orders_missing": len(missing),
    }
    if location is not None:
        skus = sorted(initial_stock) if initial_stock else None
        levels = _patient(lambda: client.stock_levels(StockQuery(skus=skus, locations=[location])))
        mismatches = 0
        negative = 0
        for lv in levels:
            total = 0
            cur: str | None = None
            while True:
                page_m = _patient(
                    lambda c=cur, s=lv.sku: client.movements(  # type: ignore[misc]
                        sku=s, location=location, cursor=c, limit=5000
                    )
                )
                total += sum(m.quantity for m in page_m.items)
                cur = page_m.next_cursor
                if not cur:
                    break
            mismatches += total != lv.on_hand
            negative += lv.on_hand < 0 or lv.available < 0
        oversold = 0
        if initial_stock:
            oversold = sum(max(0, sold[s] - n) for s, n in initial_stock.items())
        out.update(
            {
                "stock_rows_checked": len(levels),
                "ledger_mismatches": mismatches,
                "negative_stock_rows": negative,
                "units_oversold": oversold,
            }
        )
    out["ok"] = (
        not missing
        and out.get("ledger_mismatches", 0) == 0
        and out.get("negative_stock_rows", 0) == 0
        and out.get("units_oversold", 0) == 0
    )
    return out


def webhook_status(target: str, staff_token: str) -> dict[str, Any]:
    """``GET /v1/webhooks/status`` of the target (staff key), patiently."""

    def get() -> dict[str, Any]:
        r = httpx.get(
            f"{target.rstrip('/')}/v1/webhooks/status",
            headers={"X-API-Key": staff_token},
            timeout=30,
        )
        if r.status_code in (429, 503) or r.status_code >= 500:
            raise CommerceError("UNAVAILABLE", r.text[:200], status=503)
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    return _patient(get)


def check_webhooks(
    target: str,
    staff_token: str,
    receiver: WebhookReceiver,
    acknowledged: Sequence[int],
    *,
    endpoint: str,
    before: dict[str, Any] | None = None,
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """After a replay: wait (up to ``timeout_s``) until the outbox has no pending delivery for
    ``endpoint``, then check that every event written since ``before`` (the status taken before
    the replay) was delivered, that the receiver got each of them and applied each effect once,
    and that every acknowledged order's ``order.placed`` and ``order.paid`` reached it.

    Returns figures and ``webhooks_ok``."""
    base_events = int((before or {}).get("events", 0))
    base_ep = (before or {}).get("endpoints", {}).get(endpoint, {})
    base_delivered = int(base_ep.get("delivered", 0))
    deadline = time.monotonic() + timeout_s
    t0 = time.monotonic()
    while True:
        st = webhook_status(target, staff_token)
        ep = st["endpoints"].get(endpoint, {"pending": 0, "delivered": 0, "dead": 0})
        pending = int(ep["pending"]) + int(st["not_fanned_out"])
        if pending == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    waited = time.monotonic() - t0
    events = int(st["events"]) - base_events
    delivered = int(ep["delivered"]) - base_delivered
    rx = receiver.summary()
    placed = {o for kind, o in receiver.applied.values() if kind == "order.placed"}
    paid = {o for kind, o in receiver.applied.values() if kind == "order.paid"}
    acked = set(acknowledged)
    out: dict[str, Any] = {
        "webhook_events": events,
        "webhook_delivered": delivered,
        "webhook_pending": pending,
        "webhook_dead": int(ep["dead"]) - int(base_ep.get("dead", 0)),
        "webhook_drain_s": round(waited, 1),
        "receiver_events": rx["events_received"],
        "receiver_deliveries": rx["deliveries_received"],
        "receiver_duplicate_effects": rx["duplicate_effects"],
        "receiver_bad_signatures": rx["bad_signatures"],
        "acked_orders_without_placed_event": len(acked - placed),
        "acked_orders_without_paid_event": len(acked - paid),
    }
    out["webhooks_ok"] = (
        pending == 0
        and out["webhook_dead"] == 0
        and delivered == events
        and rx["events_received"] == events
        and rx["duplicate_effects"] == 0
        and rx["bad_signatures"] == 0
        and not (acked - placed)
        and not (acked - paid)
    )
    return out
