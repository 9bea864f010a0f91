"""Latency of the policy endpoints' service layer on an embedded SQLite database.

Seeds ``--skus`` SKUs at one store with ``--days`` days of POS sales (one movement per SKU and
day), then times a replenishment plan for every stocked SKU (``forecast_order_up_to``) and a
price quote for all of them (``elasticity``, which fits demand per SKU from the daily sales and
prices). Prints the median wall and CPU time of ``--repeat`` runs after a warm-up call (CPU time
is the steadier figure on a shared machine). Run: ``python benchmarks/policy_serving.py``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.schemas import (
    Channel,
    LocationCreate,
    LocationKind,
    PolicySpec,
    PosSale,
    PosSaleBatch,
    PriceQuoteRequest,
    PriceSet,
    ReceiptCreate,
    ReplenishmentPlanRequest,
    SkuImportRow,
    StockLine,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--skus", type=int, default=5000)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    clock = ManualClock(t0)
    with tempfile.TemporaryDirectory() as tmp:
        client = InProcessClient.for_sqlite(Path(tmp) / "bench.db", clock)
        skus = [f"B{i:06d}" for i in range(args.skus)]
        client.import_skus(
            [
                SkuImportRow(
                    sku=s,
                    product=f"P{s}",
                    name=s,
                    category="C",
                    cost_cents=500,
                    list_price_cents=1000,
                )
                for s in skus
            ]
        )
        client.create_location(
            LocationCreate(code="ST", kind=LocationKind.STORE, name="Store", lat=0, lon=0)
        )
        client.receive(
            ReceiptCreate(
                location="ST", lines=[StockLine(sku=s, quantity=10 * args.days) for s in skus]
            )
        )
        seed_start = time.perf_counter()
        for d in range(args.days):
            day = t0 + timedelta(days=d)
            clock.set(day)
            price = 1000 if d % 2 else 900
            client.set_prices(
                [PriceSet(sku=s, channel=Channel.STORE, price_cents=price) for s in skus]
            )
            clock.set(day + timedelta(hours=12))
            qty = rng.poisson(4.0, len(skus)) + 1
            client.pos_sales(
                PosSaleBatch(
                    location="ST",
                    sales=[PosSale(sku=s, quantity=int(q)) for s, q in zip(skus, qty, strict=True)],
                )
            )
        seeded = time.perf_counter() - seed_start
        clock.set(t0 + timedelta(days=args.days, hours=1))
        plan_body = ReplenishmentPlanRequest(
            location="ST", history_days=args.days, policy=PolicySpec(name="forecast_order_up_to")
        )
        quote_body = PriceQuoteRequest(
            skus=skus,
            channel=Channel.STORE,
            location="ST",
            history_days=args.days,
            policy=PolicySpec(name="elasticity", params={"history_days": args.days}),
        )
        client.plan_replenishment(plan_body)  # warm-up: imports the policies (scipy) once
        timings: dict[str, list[tuple[float, float]]] = {"plan": [], "quote": []}
        for _ in range(args.repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            plan = client.plan_replenishment(plan_body)
            timings["plan"].append((time.perf_counter() - wall, time.process_time() - cpu))
            wall, cpu = time.perf_counter(), time.process_time()
            quote = client.quote_prices(quote_body)
            timings["quote"].append((time.perf_counter() - wall, time.process_time() - cpu))
        assert len(plan.lines) == len(quote.lines) == len(skus)
        client.close()
    print(f"seeded {args.skus} SKUs x {args.days} days of sales in {seeded:.1f} s")
    for name, ts in timings.items():
        wall = statistics.median(t[0] for t in ts)
        cpu = statistics.median(t[1] for t in ts)
        print(
            f"{name}: {args.skus} SKUs, {args.days}-day history: median {wall * 1000:.0f} ms wall, "
            f"{cpu * 1000:.0f} ms CPU ({args.skus / cpu:,.0f} SKUs per CPU-second; "
            "SQLite in-process)"
        )


if __name__ == "__main__":
    main()
