"""CPU cost per call of the in-process commerce client (the twin's path), on in-memory SQLite.

Runs ``--flows`` shopper flows (create cart -> set line -> checkout -> allocate/ship/deliver ->
one POS sale) through :class:`api.client.inprocess.InProcessClient` and prints the process CPU
milliseconds per call of each kind (``time.process_time``, so other jobs on a shared machine
do not inflate it). ``--repeats`` runs, the minimum per call kind is reported.

    .venv/bin/python benchmarks/inprocess_calls.py --flows 500 --repeats 3 [--key] [--profile]

``--http`` sends every call through :class:`~api.client.http.HttpClient` to uvicorn serving the
same database in a thread of this process (CPU of client and server together).
``--batch B`` runs the same flows through the batch operations, B flows per call
(``batch_create_carts`` with the line inline, ``batch_checkout``, ``batch_transition_orders``)
and prints CPU ms per *item* beside the single calls; ``--db file`` uses a SQLite file (WAL)
instead of memory, where a commit costs more.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
import uuid
from collections.abc import Callable
from typing import Any

from api.client.base import CommerceClient
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
from api.schemas_batch import CartOpen, CheckoutItem, TransitionItem

KINDS = ("create_cart", "set_cart_line", "checkout", "transition_order", "pos_sales")
BATCH_KINDS = ("cart+line", "checkout", "transition_order")


def _staff(db: str, tmp: str) -> InProcessClient:
    if db == "file":
        return InProcessClient.for_sqlite(f"{tmp}/bench-{uuid.uuid4().hex[:8]}.db", ManualClock())
    return InProcessClient.for_sqlite(":memory:", ManualClock())


_SERVERS: list[Any] = []


def _shopper(staff: InProcessClient, http: bool) -> tuple[CommerceClient, CommerceClient]:
    """The staff and shopper clients: in-process, or HTTP to uvicorn in a thread of this
    process (so ``process_time`` counts client and server CPU together)."""
    if not http:
        return staff, staff.as_principal("customer", customer_id="c1")
    import socket
    import threading

    import uvicorn

    from api.app import create_app
    from api.client.http import HttpClient
    from api.services.auth import create_api_key
    from api.settings import Settings

    pepper = "bench-pepper-0123456789"
    app = create_app(
        Settings(api_key_pepper=pepper, bootstrap_api_keys="", sweep_interval_seconds=0),
        ctx=staff.ctx,
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    _SERVERS.append(server)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    engine, clock = staff.ctx.engine, staff.ctx.clock
    return (
        HttpClient(url, create_api_key(engine, clock, pepper, "staff")),
        HttpClient(url, create_api_key(engine, clock, pepper, "customer", "c1")),
    )


def _stop_servers() -> None:
    while _SERVERS:
        _SERVERS.pop().should_exit = True


def run(
    flows: int,
    *,
    key: bool,
    n_skus: int = 50,
    db: str = "memory",
    tmp: str = "/tmp",
    http: bool = False,
) -> dict[str, float]:
    """CPU ms per call of each kind over ``flows`` flows (after 20 warm-up flows)."""
    staff = _staff(db, tmp)
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
    staff, shopper = _shopper(staff, http)  # type: ignore[assignment]
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
    _stop_servers()
    return {k: spent[k] / calls[k] * 1000 for k in KINDS}


def run_batched(
    flows: int,
    batch: int,
    *,
    key: bool,
    n_skus: int = 50,
    db: str = "memory",
    tmp: str = "/tmp",
    http: bool = False,
) -> dict[str, float]:
    """CPU ms per item of the batch operations, ``batch`` flows per call (after a warm-up)."""
    staff = _staff(db, tmp)
    rows = [
        SkuImportRow(
            sku=f"S{i}", product=f"P{i}", name=f"Item {i}", category="C", cost_cents=100,
            list_price_cents=200,
        )
        for i in range(n_skus)
    ]  # fmt: skip
    staff.import_skus(rows)
    staff.create_location(
        LocationCreate(code="W", kind=LocationKind.STORE, name="Store", lat=1, lon=1)
    )
    staff.receive(
        ReceiptCreate(location="W", lines=[StockLine(sku=r.sku, quantity=10**6) for r in rows])
    )
    staff, shopper = _shopper(staff, http)  # type: ignore[assignment]
    spent = dict.fromkeys(BATCH_KINDS, 0.0)
    items = dict.fromkeys(BATCH_KINDS, 0)

    def timed(kind: str, n: int, fn: Callable[[], object]) -> object:
        t0 = time.process_time()
        out = fn()
        spent[kind] += time.process_time() - t0
        items[kind] += n
        return out

    def group(first: int, n: int) -> None:
        opened = timed(
            "cart+line",
            n,
            lambda: shopper.batch_create_carts(
                [
                    CartOpen(
                        channel=Channel.WEB,
                        location="W",
                        lines=[CartLineSet(sku=f"S{i % n_skus}", quantity=1)],
                    )
                    for i in range(first, first + n)
                ]
            ),
        )
        cids = [r.unwrap().id for r in opened.items]  # type: ignore[attr-defined]
        paid = timed(
            "checkout",
            n,
            lambda: shopper.batch_checkout(
                [
                    CheckoutItem(cart_id=c, idempotency_key=uuid.uuid4().hex if key else None)
                    for c in cids
                ]
            ),
        )
        oids = [r.unwrap().id for r in paid.items]  # type: ignore[attr-defined]
        for to in (OrderStatus.ALLOCATED, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            timed(
                "transition_order",
                n,
                lambda to=to: staff.batch_transition_orders(  # type: ignore[misc]
                    [TransitionItem(order_id=o, to=to) for o in oids]
                ),
            )

    group(0, min(batch, 20))
    spent, items = dict.fromkeys(BATCH_KINDS, 0.0), dict.fromkeys(BATCH_KINDS, 0)
    for first in range(0, flows, batch):
        group(first, min(batch, flows - first))
    _stop_servers()
    return {k: spent[k] / items[k] * 1000 for k in BATCH_KINDS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--key", action="store_true", help="checkout with an Idempotency-Key")
    ap.add_argument("--profile", action="store_true", help="cProfile one run (top 30 by own time)")
    ap.add_argument(
        "--batch", type=int, default=0, help="also run the batch operations, B per call"
    )
    ap.add_argument("--db", choices=("memory", "file"), default="memory")
    ap.add_argument(
        "--http", action="store_true", help="through HttpClient and uvicorn (client + server CPU)"
    )
    args = ap.parse_args()
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        run(args.flows, key=args.key)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        return
    import platform
    import tempfile

    tmp = tempfile.mkdtemp()
    best = dict.fromkeys(KINDS, float("inf"))
    for _ in range(args.repeats):
        for k, v in run(args.flows, key=args.key, db=args.db, tmp=tmp, http=args.http).items():
            best[k] = min(best[k], v)
    print(
        f"CPU ms per call (min of {args.repeats} runs of {args.flows} flows; SQLite {args.db}; "
        f"{'HTTP, client + server' if args.http else 'in-process'}; "
        f"{platform.node()}, {platform.processor() or platform.machine()}):"
    )
    for k in KINDS:
        print(f"  {k:<17} {best[k]:.3f}")
    if not args.batch:
        return
    bbest = dict.fromkeys(BATCH_KINDS, float("inf"))
    for _ in range(args.repeats):
        for k, v in run_batched(
            args.flows, args.batch, key=args.key, db=args.db, tmp=tmp, http=args.http
        ).items():
            bbest[k] = min(bbest[k], v)
    single = {
        "cart+line": best["create_cart"] + best["set_cart_line"],
        "checkout": best["checkout"],
        "transition_order": best["transition_order"],
    }
    print(f"CPU ms per item, batches of {args.batch} vs single calls:")
    print(f"  {'item':<17} {'single':>8} {'batch':>8} {'ratio':>6}")
    for k in BATCH_KINDS:
        print(f"  {k:<17} {single[k]:8.3f} {bbest[k]:8.3f} {bbest[k] / single[k]:6.2f}")


if __name__ == "__main__":
    main()
