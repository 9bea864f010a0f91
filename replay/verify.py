"""Checks after a replay (or a chaos run), through the staff key:

* every order the API acknowledged (201 on checkout) is present;
* the stock ledger equals the counters: for every SKU and location seeded, ``on_hand`` equals
  the sum of its movements;
* nothing is oversold: no negative ``on_hand`` or ``available``, and the units of live orders
  (not cancelled) of each SKU never exceed the stock it was seeded with.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from api.client.base import CommerceError
from api.client.http import HttpClient
from api.schemas import OrderStatus, StockQuery

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
