"""CPU cost per call of the in-process commerce client (the twin's path), on in-memory SQLite.

Runs ``--flows`` shopper flows (create cart -> set line -> checkout -> allocate/ship/deliver ->
one POS sale) through :class:`api.client.inprocess.InProcessClient` and prints the process CPU
milliseconds per call of each kind (``time.process_time``, so other jobs on a shared machine
do not inflate it). ``--repeats`` runs, the minimum per call kind is reported.

    .venv/bin/python benchmarks/inprocess_calls.py --flows 500 --repeats 3 [--key] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
import uuid
from collections.abc import Callable

from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.schemas import (
    CartCreate,
    CartLineSet,
    Channel,
    CheckoutRequest,
    LocationCreate,
    LocationKind,
    OrderStatus,
    PosSale,
    PosSaleBatch,
    ReceiptCreate,
    SkuImportRow,
    StockLine,
)

KINDS = ("create_cart", "set_cart_line", "checkout", "transition_order", "pos_sales")


def run(flows: int, *, key: bool, n_skus: int = 50) -> dict[str, float]:
    """CPU ms per call of each kind over ``flows`` flows (after 20 warm-up flows)."""
    staff = InProcessClient.for_sqlite(":memory:", ManualClock())
    rows = [
        SkuImportRow(
            sku=f"S{i}",
            product=f"P{i}",
            name=f"Item {i}",
            category="C",
            cost_cents=100,
            list_price_cents=200,
        )
        for i in range(n_skus)
    ]
    staff.import_skus(rows)
    staff.create_location(
        LocationCreate(code="W", kind=LocationKind.STORE, name="Store", lat=1, lon=1)
    )
    staff.receive(
        ReceiptCreate(location="W", lines=[StockLine(sku=r.sku, quantity=10**6) for r in rows])
    )
    shopper = staff.as_principal("customer", customer_id="c1")
    spent = dict.fromkeys(KINDS, 0.0)
    calls = dict.fromkeys(KINDS, 0)

    def timed(kind: str, fn: Callable[[], object]) -> object:
        t0 = time.process_time()
        out = fn()
        spent[kind] += time.process_time() - t0
        calls[kind] += 1
        return out

    def flow(i: int) -> None:
        cart = timed(
            "create_cart",
            lambda: shopper.create_cart(CartCreate(channel=Channel.WEB, location="W")),
        )
        cid = cart.id  # type: ignore[attr-defined]
        timed(
            "set_cart_line",
            lambda: shopper.set_cart_line(cid, CartLineSet(sku=f"S{i % n_skus}", quantity=1)),
        )
        order = timed(
            "checkout",
            lambda: shopper.checkout(
                CheckoutRequest(cart_id=cid), idempotency_key=uuid.uuid4().hex if key else None
            ),
        )
        oid = order.id  # type: ignore[attr-defined]
        for to in (OrderStatus.ALLOCATED, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            timed("transition_order", lambda to=to: staff.transition_order(oid, to))  # type: ignore[misc]
        timed(
            "pos_sales",
            lambda: staff.pos_sales(
                PosSaleBatch(location="W", sales=[PosSale(sku=f"S{(i + 1) % n_skus}", quantity=1)])
            ),
        )

    for i in range(20):
        flow(i)
    spent, calls = dict.fromkeys(KINDS, 0.0), dict.fromkeys(KINDS, 0)
    for i in range(flows):
        flow(i)
    return {k: spent[k] / calls[k] * 1000 for k in KINDS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--key", action="store_true", help="checkout with an Idempotency-Key")
    ap.add_argument("--profile", action="store_true", help="cProfile one run (top 30 by own time)")
    args = ap.parse_args()
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        run(args.flows, key=args.key)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        return
    best = dict.fromkeys(KINDS, float("inf"))
    for _ in range(args.repeats):
        for k, v in run(args.flows, key=args.key).items():
            best[k] = min(best[k], v)
    print(f"CPU ms per call (min of {args.repeats} runs of {args.flows} flows):")
    for k in KINDS:
        print(f"  {k:<17} {best[k]:.3f}")


if __name__ == "__main__":
    main()
