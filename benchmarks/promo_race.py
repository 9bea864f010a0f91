"""Voucher race on PostgreSQL: N concurrent checkouts with a voucher limited to L uses.

Each round creates a fresh voucher (``max_uses`` L), releases N threads at once through a
barrier, each placing an express checkout with the voucher through the in-process client
(the same service the HTTP routes call, on a pool of 20 PostgreSQL connections), and counts
the outcomes: exactly L orders and N - L ``VOUCHER_EXHAUSTED`` answers, the promotion's use
counter and its order discount lines equal to L. Prints the per-round outcome and the median
round time.

    python benchmarks/promo_race.py --db postgresql+psycopg://shop:shop@127.0.0.1:5432/shop_promo
    python benchmarks/promo_race.py            # a throwaway database on the local cluster
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.db import make_engine, upgrade_schema
from api.payments import SimulatedGateway
from api.schemas import (
    Channel,
    CheckoutLine,
    CheckoutRequest,
    LocationCreate,
    LocationKind,
    ReceiptCreate,
    SkuImportRow,
    StockLine,
)
from api.schemas_promo import PromotionCreate
from api.services import promotions
from api.services.context import Principal, ServiceContext


def run(url: str, clients: int, limit: int, rounds: int) -> int:
    """Run the race; returns the number of rounds whose outcome was wrong."""
    schema = f"promo_race_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(url, pool_size=12, max_overflow=8, pg_schema=schema)
    bad = 0
    try:
        upgrade_schema(engine)
        ctx = ServiceContext(
            engine=engine,
            clock=ManualClock(),
            gateway=SimulatedGateway(),
            reservation_ttl=timedelta(minutes=15),
        )
        staff_p = Principal(role="staff", key_id=1)
        staff = InProcessClient(ctx, staff_p)
        staff.import_skus(
            [
                SkuImportRow(
                    sku="RACE-1", product="RACE", name="Race item", category="RACE",
                    cost_cents=500, list_price_cents=1000,
                )
            ]
        )  # fmt: skip
        staff.create_location(
            LocationCreate(code="W-RACE", kind=LocationKind.WAREHOUSE, name="W", lat=0, lon=0)
        )
        staff.receive(
            ReceiptCreate(location="W-RACE", lines=[StockLine(sku="RACE-1", quantity=10**6)])
        )
        shoppers = [staff.as_principal("customer", f"racer-{i}") for i in range(clients)]
        times: list[float] = []
        with ThreadPoolExecutor(max_workers=clients) as pool:
            for rnd in range(rounds):
                code = f"RACE-{rnd}"
                pid = promotions.create_promotion(
                    ctx,
                    staff_p,
                    PromotionCreate(
                        name="race", kind="fixed", code=code, amount_off_cents=100, max_uses=limit
                    ),
                ).id
                start = threading.Barrier(clients)

                def use(i: int, code: str = code, start: threading.Barrier = start) -> str:
                    req = CheckoutRequest(
                        lines=[CheckoutLine(sku="RACE-1", quantity=1)],
                        location="W-RACE",
                        channel=Channel.WEB,
                        voucher=code,
                    )
                    start.wait()
                    try:
                        shoppers[i].checkout(req)
                    except CommerceError as exc:
                        return exc.code
                    return "order"

                t0 = time.perf_counter()
                got = Counter(pool.map(use, range(clients)))
                times.append(time.perf_counter() - t0)
                uses = promotions.get_promotion(ctx, staff_p, pid).uses
                with engine.connect() as conn:
                    lines = conn.execute(
                        text("SELECT count(*) FROM order_discounts WHERE promotion_id = :p"),
                        {"p": pid},
                    ).scalar_one()
                ok = got == {"order": limit, "VOUCHER_EXHAUSTED": clients - limit}
                ok = ok and uses == limit and lines == limit
                bad += not ok
                other = clients - got["order"] - got["VOUCHER_EXHAUSTED"]
                print(
                    f"round {rnd + 1:2d}: {got['order']} orders, "
                    f"{got['VOUCHER_EXHAUSTED']} VOUCHER_EXHAUSTED, other {other}, "
                    f"uses {uses}, discount lines {lines}, {times[-1] * 1000:.0f} ms"
                    + ("" if ok else "  <-- WRONG")
                )
        print(
            f"\n{clients} concurrent uses of a voucher limited to {limit}, {rounds} rounds: "
            f"{rounds - bad}/{rounds} rounds exactly {limit} uses; median round "
            f"{statistics.median(times) * 1000:.0f} ms; {platform.node()}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--db", default=os.environ.get("SHOPSPHERE_TEST_PG_URL"))
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    ctx: AbstractContextManager[str]
    if args.db:
        ctx = nullcontext(args.db)
    else:
        from _pg import throwaway_database

        ctx = throwaway_database("promo_race")
    with ctx as url:
        bad = run(url, args.clients, args.limit, args.rounds)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
