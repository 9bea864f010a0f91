"""Checkout load benchmark: uvicorn + PostgreSQL + concurrent shoppers on one machine.

Prints, side by side in one run, one row per ``--flows`` entry (default all three):

- ``ceiling``: the bare-PostgreSQL ceiling -- threads with psycopg and nothing else doing what an
  express checkout writes (conditional reserve + order + line + payment, one transaction), on a
  location of its own;
- ``express``: express checkout over HTTP -- one ``POST /v1/checkout`` with the line inline;
- ``cart``: the cart flow over HTTP -- ``POST /v1/carts`` -> ``PUT /v1/carts/{id}/lines`` ->
  ``POST /v1/checkout``.

Each row: orders/s in the timed window, p50/p95/p99 latency (ms; the checkout request for
express, the whole flow for the cart), CPU ms per order split into API, PostgreSQL and load
generator (the load-independent figure on a shared machine), and oversold units.

What it does:

1. Uses ``--db URL`` or creates a throwaway PostgreSQL role and database (starting the local
   cluster if needed; everything is dropped/stopped again at the end, see ``benchmarks/_pg.py``),
   migrates it and stores the API keys (one staff key, one customer key per shopper).
2. Starts the API with uvicorn on 127.0.0.1 (``--workers``, ``--pool-size``), waits for every
   worker, and seeds through the HTTP API with the staff key: a store, ``--skus`` SKUs with
   1,000,000 units each, and a hot SKU that gets only ``--hot-stock`` units per run, so that it
   sells out and ``INSUFFICIENT_STOCK`` happens (oversell would show there first).
3. Per run, a separate process (``benchmarks/_checkout_load.py``) runs ``--concurrency``
   shoppers over loopback keep-alive connections for ``--warmup`` + ``--duration`` seconds.
4. Verifies through the API after every HTTP run: no negative stock counter, reserved units ==
   units of unshipped orders (+ carts still holding stock), on hand == units received ==
   movements ledger, paid orders == those the shoppers saw; oversold units are reported.

``--workers``, ``--concurrency`` and ``--pool-size`` take comma lists (a sweep); each row runs
``--repeats`` times and the median is reported. ``--py-spy DIR`` records one extra, uncounted
run of each HTTP row with py-spy (how the express fast path was found).

Run: ``python benchmarks/checkout.py --workers 2 --concurrency 32 --duration 10 --repeats 3``
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import multiprocessing as mp
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from _checkout_load import CeilingPlan, LoadPlan, LoadResult, run_ceiling, run_load
from _pg import throwaway_database

log = logging.getLogger("benchmarks.checkout")
HOLDING = ("placed", "paid", "allocated")  # order states that hold reserved stock
TARGET_CPS, TARGET_P99_MS = 600.0, 100.0
TARGET_CART_FPS, TARGET_CEILING_SHARE = 300.0, 0.25


def machine_info() -> dict[str, Any]:
    """CPU model, logical CPUs (and those usable by this process), memory, kernel, Python."""
    model, mem_kb = "unknown", 0
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    return {
        "cpu_model": model,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "mem_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": os.getloadavg(),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Keys:
    pepper: str
    staff: str
    customers: tuple[str, ...]

    def spec(self) -> str:
        return ",".join(
            [f"staff:{self.staff}"]
            + [f"customer:{t}:bench-c{i}" for i, t in enumerate(self.customers)]
        )


def prepare_database(url: str, keys: Keys) -> None:
    """Migrate the schema and store the keys once, before any worker starts (workers would race
    on inserting the same bootstrap keys)."""
    from api.clock import SystemClock
    from api.db import make_engine, upgrade_schema
    from api.services.auth import ensure_keys
    from api.settings import parse_bootstrap_keys

    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        upgrade_schema(engine)
        ensure_keys(engine, SystemClock(), keys.pepper, parse_bootstrap_keys(keys.spec()))
    finally:
        engine.dispose()


@contextmanager
def api_server(
    url: str, keys: Keys, workers: int, pool_size: int, max_overflow: int, logdir: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """Run uvicorn on 127.0.0.1 until every worker reported start-up; yield (process, port, log)."""
    port = free_port()
    env = dict(
        os.environ,
        SHOPSPHERE_DATABASE_URL=url,
        SHOPSPHERE_MODE="production",
        SHOPSPHERE_API_KEY_PEPPER=keys.pepper,
        SHOPSPHERE_BOOTSTRAP_API_KEYS=keys.spec(),
        SHOPSPHERE_DB_POOL_SIZE=str(pool_size),
        SHOPSPHERE_DB_MAX_OVERFLOW=str(max_overflow),
    )
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "api.app:create_app_from_env",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "info",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    logfile = logdir / f"uvicorn-w{workers}-p{pool_size}.log"
    with open(logfile, "wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 120
        while logfile.read_text(errors="replace").count("Application startup complete") < workers:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = logfile.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"uvicorn did not start (exit {proc.poll()}):\n{tail}")
            time.sleep(0.2)
        httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=10).raise_for_status()
        log.info(
            "uvicorn up: %d worker(s), pool %d+%d, port %d", workers, pool_size, max_overflow, port
        )
        yield proc, port, logfile
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@dataclass(slots=True)
class Store:
    """What was seeded, and what the verification has accumulated so far."""

    location: str
    skus: tuple[str, ...]
    hot_sku: str
    received: Counter[str]
    ordered: Counter[str]  # units of orders that hold stock (placed, paid, allocated) so far
    paid: Counter[str]  # units of paid orders
    paid_orders: int = 0
    max_order_id: int = 0
    unpaid_orders: int = 0  # placed/cancelled after a failed checkout request
    client_paid_orders: int = 0
    client_paid_units: Counter[str] | None = None
    dangling: list[int] | None = None  # carts that may still hold stock without an order


def _ok(r: httpx.Response, what: str) -> Any:
    if r.status_code >= 300:
        raise RuntimeError(f"{what}: HTTP {r.status_code} {r.text[:500]}")
    return r.json()


def seed(api: httpx.Client, n_skus: int, tag: str) -> Store:
    """Create a store, ``n_skus`` SKUs with 1,000,000 units each and one hot SKU (no stock yet)."""
    loc = f"BENCH-{tag}"
    _ok(
        api.post(
            "/v1/locations",
            json={
                "code": loc,
                "kind": "store",
                "name": "Benchmark store",
                "lat": 52.52,
                "lon": 13.405,
            },
        ),
        "create location",
    )
    skus = tuple(f"B{tag}-{i:05d}" for i in range(n_skus))
    hot = f"B{tag}-HOT"
    rows = [
        {
            "sku": s,
            "product": f"P{tag}-{i // 4}",
            "name": f"Bench item {i}",
            "category": "bench",
            "cost_cents": 400 + i % 300,
            "list_price_cents": 1000 + i % 500,
        }
        for i, s in enumerate(skus)
    ]
    rows.append(
        {
            "sku": hot,
            "product": f"P{tag}-HOT",
            "name": "Flash-sale item",
            "category": "bench",
            "cost_cents": 2000,
            "list_price_cents": 4999,
        }
    )
    _ok(api.post("/v1/skus/import", json=rows), "import skus")
    lines = [{"sku": s, "quantity": 1_000_000} for s in skus]
    _ok(
        api.post(
            "/v1/stock/receipts", json={"location": loc, "lines": lines, "reference": "bench-seed"}
        ),
        "receive stock",
    )
    return Store(
        location=loc,
        skus=skus,
        hot_sku=hot,
        received=Counter(dict.fromkeys(skus, 1_000_000)),
        ordered=Counter(),
        paid=Counter(),
        client_paid_units=Counter(),
        dangling=[],
    )


def restock_hot(api: httpx.Client, store: Store, units: int, ref: str) -> None:
    _ok(
        api.post(
            "/v1/stock/receipts",
            json={
                "location": store.location,
                "reference": ref,
                "lines": [{"sku": store.hot_sku, "quantity": units}],
            },
        ),
        "restock",
    )
    store.received[store.hot_sku] += units


def _pages(api: httpx.Client, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        page = _ok(api.get(path, params={**params, **({"cursor": cursor} if cursor else {})}), path)
        yield from page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def verify(api: httpx.Client, store: Store) -> dict[str, Any]:
    """Check the stock invariants through the API; returns the findings (``ok`` True if none).

    Per SKU: no negative counter; reserved == units of orders holding stock + units of carts
    still open; on hand == units received == movements ledger; ordered <= received (oversell);
    and paid orders / units in the database == those the shoppers were told about."""
    problems: list[str] = []
    newest = store.max_order_id
    for o in _pages(api, "/v1/orders", {"limit": 500}):  # newest first: stop at the last seen
        if o["id"] <= store.max_order_id:
            break
        newest = max(newest, o["id"])
        if o["location"] != store.location:
            continue
        for ln in o["lines"]:
            if o["status"] in HOLDING:
                store.ordered[ln["sku"]] += ln["quantity"]
            if o["status"] == "paid":
                store.paid[ln["sku"]] += ln["quantity"]
        store.paid_orders += o["status"] == "paid"
        store.unpaid_orders += o["status"] != "paid"
    store.max_order_id = newest
    held: Counter[str] = Counter()
    assert store.dangling is not None
    for cid in store.dangling:
        cart = _ok(api.get(f"/v1/carts/{cid}"), "get cart")
        if cart["status"] == "open":
            for ln in cart["lines"]:
                held[ln["sku"]] += ln["quantity"]
    levels = _ok(api.post("/v1/stock/levels", json={"locations": [store.location]}), "stock levels")
    ledger: Counter[str] = Counter()
    for m in _pages(api, "/v1/stock/movements", {"location": store.location, "limit": 5000}):
        ledger[m["sku"]] += m["quantity"]
    negative = oversold = 0
    for lv in levels:
        s = lv["sku"]
        if min(lv["on_hand"], lv["reserved"], lv["available"]) < 0:
            negative += 1
            problems.append(f"negative counter {lv}")
        if store.ordered[s] > store.received[s]:
            oversold += store.ordered[s] - store.received[s]
        if lv["reserved"] != store.ordered[s] + held[s]:
            problems.append(
                f"{s}: reserved {lv['reserved']} != ordered {store.ordered[s]} + carts {held[s]}"
            )
        if lv["on_hand"] != store.received[s] or ledger[s] != lv["on_hand"]:
            problems.append(
                f"{s}: on_hand {lv['on_hand']}, received {store.received[s]}, ledger {ledger[s]}"
            )
    if store.paid_orders != store.client_paid_orders or store.paid != store.client_paid_units:
        problems.append(
            f"database has {store.paid_orders} paid orders, shoppers saw {store.client_paid_orders}"
        )
    hot = next(lv for lv in levels if lv["sku"] == store.hot_sku)
    return {
        "ok": not problems,
        "negative_counters": negative,
        "oversold_units": oversold,
        "stock_rows": len(levels),
        "paid_orders": store.paid_orders,
        "unpaid_orders": store.unpaid_orders,
        "open_carts_holding": sum(held.values()),
        "hot_sku": {
            "received": store.received[store.hot_sku],
            "ordered": store.ordered[store.hot_sku],
            "available": hot["available"],
        },
        "problems": problems[:20],
    }


def seed_ceiling(api: httpx.Client, store: Store, url: str, n: int) -> tuple[int, tuple[int, ...]]:
    """A location of its own for the bare-PostgreSQL ceiling (its orders never touch the
    store's figures): the first ``n`` SKUs with 1,000,000 units. Returns (location id, SKU ids)."""
    import psycopg

    loc = f"{store.location}-CEIL"
    _ok(
        api.post(
            "/v1/locations",
            json={"code": loc, "kind": "warehouse", "name": "Ceiling", "lat": 0, "lon": 0},
        ),
        "create ceiling location",
    )
    skus = store.skus[:n]
    lines = [{"sku": s, "quantity": 1_000_000} for s in skus]
    _ok(api.post("/v1/stock/receipts", json={"location": loc, "lines": lines}), "ceiling stock")
    with psycopg.connect(_dsn(url)) as conn:
        lid = conn.execute("SELECT id FROM locations WHERE code = %s", (loc,)).fetchone()
        ids = conn.execute("SELECT id FROM skus WHERE code = ANY(%s)", (list(skus),)).fetchall()
    assert lid is not None
    return int(lid[0]), tuple(int(r[0]) for r in ids)


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def ceiling_run(plan: CeilingPlan) -> dict[str, Any]:
    """One bare-PostgreSQL run (separate process): orders/s, latency, CPU ms per order, and the
    oversell check of the ceiling location (units reserved never above units on hand)."""
    import psycopg

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=run_ceiling, args=(plan, q), name="shopsphere-ceiling")
    proc.start()
    try:
        lat, cpu = q.get(timeout=plan.warmup_s + plan.duration_s + 120)
    finally:
        proc.join(timeout=30)
    n = max(len(lat), 1)
    with psycopg.connect(plan.dsn) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(greatest(reserved - on_hand, 0)), 0) FROM stock "
            "WHERE location_id = %s",
            (plan.location_id,),
        ).fetchone()
    assert row is not None
    return {
        "orders_per_s": len(lat) / plan.duration_s,
        "ms": {f"p{q}": pct(lat, q) for q in (50, 95, 99)},
        "cpu_ms_per_order": {
            "api": 0.0,
            "postgres": 1000 * cpu["postgres"] / n,
            "loadgen": 1000 * cpu["loadgen"] / n,
        },
        "oversold_units": int(row[0]),
        "ok": True,
    }


def warn_connection_budget(url: str, workers: int, pool: int, overflow: int) -> None:
    """Log a warning when the server's pools could exceed PostgreSQL's free connection slots
    (the API then answers 500 to requests that cannot get a connection)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        row = conn.execute(
            "SELECT current_setting('max_connections')::int - "
            "current_setting('superuser_reserved_connections')::int, "
            "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
        ).fetchone()
    assert row is not None
    free = int(row[0]) - int(row[1]) + 1  # this connection is about to close
    if workers * (pool + overflow) > free:
        log.warning(
            "%d workers x (pool %d + overflow %d) = %d connections may exceed the %d free "
            "PostgreSQL slots",
            workers,
            pool,
            overflow,
            workers * (pool + overflow),
            free,
        )


def pg_counters(url: str) -> dict[str, int]:
    """Cumulative ``pg_stat_database`` counters of the benchmark database (diagnostics only)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        row = conn.execute(
            "SELECT xact_commit, xact_rollback, sessions, deadlocks FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return dict(
        zip(("commits", "rollbacks", "sessions", "deadlocks"), (int(v) for v in row), strict=True)
    )


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def summarise(res: LoadResult, ncpu: int) -> dict[str, Any]:
    n = max(res.checkouts_in_window, 1)
    cpu = dict(res.cpu_s)
    cpu["loadgen"] = res.loadgen_cpu_s
    cpu["rest_of_machine"] = cpu.pop("machine_busy") - sum(
        cpu.values()
    )  # other users, PG background, kernel
    ours = 1000 * (cpu["server"] + cpu["postgres"] + cpu["loadgen"]) / n  # CPU ms per checkout
    return {
        "checkouts_per_s": res.checkouts_in_window / res.window_s,
        "checkout_ms": {f"p{q}": pct(res.checkout_ms, q) for q in (50, 95, 99)},
        "flow_ms": {f"p{q}": pct(res.flow_ms, q) for q in (50, 95, 99)},
        "errors": dict(res.errors.most_common()),
        "cpu_ms_per_checkout": {k: 1000 * v / n for k, v in cpu.items()},
        "machine_busy_share": (res.cpu_s["machine_busy"] / (res.window_s * ncpu)),
        # what server + PostgreSQL + load generator could do with every CPU to themselves
        "cpu_bound_capacity_per_s": 1000 * ncpu / ours if res.checkouts_in_window else float("nan"),
        "paid_orders_whole_run": res.paid_orders,
    }


def one_run(
    api: httpx.Client, store: Store, args: argparse.Namespace, plan: LoadPlan, url: str
) -> dict[str, Any]:
    restock_hot(api, store, args.hot_stock, f"restock-{plan.run_tag}")
    pg0 = pg_counters(url)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=run_load, args=(plan, q), name="shopsphere-load")
    proc.start()
    try:
        res: LoadResult = q.get(timeout=plan.warmup_s + plan.duration_s + 180)
    finally:
        proc.join(timeout=30)
    store.client_paid_orders += res.paid_orders
    assert store.client_paid_units is not None
    store.client_paid_units.update(res.paid_units)
    assert store.dangling is not None
    store.dangling.extend(res.dangling_carts)
    out = summarise(res, os.cpu_count() or 1)
    time.sleep(1.0)  # PostgreSQL flushes backend statistics about once a second
    pg1 = pg_counters(url)
    out["postgres_per_checkout"] = {k: (pg1[k] - pg0[k]) / max(res.paid_orders, 1) for k in pg0}
    out["verification"] = verify(api, store)
    return out


def _fmt(r: dict[str, Any]) -> str:
    c, f, v = r["checkout_ms"], r["flow_ms"], r["verification"]
    cpu = " ".join(f"{k} {x:.2f}" for k, x in r["cpu_ms_per_checkout"].items())
    pg = r["postgres_per_checkout"]
    return (
        f"{r['checkouts_per_s']:7.1f} checkouts/s | checkout p50/p95/p99 "
        f"{c['p50']:.1f}/{c['p95']:.1f}/"
        f"{c['p99']:.1f} ms | flow {f['p50']:.1f}/{f['p95']:.1f}/{f['p99']:.1f} ms | "
        f"CPU ms/checkout: {cpu} | busy {100 * r['machine_busy_share']:.0f}% | CPU-bound capacity "
        f"{r['cpu_bound_capacity_per_s']:.0f}/s | per checkout: {pg['commits']:.1f} commits, "
        f"{pg['sessions']:.2f} new PG sessions | "
        f"oversold {v['oversold_units']} negative {v['negative_counters']} "
        f"{'OK' if v['ok'] else 'FAILED ' + '; '.join(v['problems'][:3])}"
        f"\n      errors {r['errors']}"
    )


def _error_lines(logfile: Path, n: int = 12) -> str:
    lines = logfile.read_text(errors="replace").splitlines()
    hits = [ln for ln in lines if "Error" in ln or "error" in ln or "Exception" in ln]
    return "\n".join("    " + ln[:300] for ln in hits[-n:])


def _ints(text: str) -> list[int]:
    try:
        vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma list of integers") from exc
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive integers, e.g. 1,2,3")
    return vals


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument(
        "--db", help="PostgreSQL URL (postgresql+psycopg://...); default: a throwaway database"
    )
    p.add_argument("--workers", type=_ints, default=[2], help="uvicorn workers (comma list: sweep)")
    p.add_argument(
        "--concurrency", type=_ints, default=[32], help="concurrent shoppers (comma list)"
    )
    p.add_argument(
        "--pool-size", type=_ints, default=[20], help="SQLAlchemy pool per worker (comma list)"
    )
    p.add_argument("--max-overflow", type=int, default=20)
    p.add_argument("--duration", type=float, default=20.0, help="timed window per run, seconds")
    p.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before the window")
    p.add_argument(
        "--repeats", type=int, default=3, help="runs per configuration (median reported)"
    )
    p.add_argument("--skus", type=int, default=1000, help="SKUs with ample stock")
    p.add_argument(
        "--hot-stock", type=int, default=10, help="units of the hot SKU received per run"
    )
    p.add_argument(
        "--hot-share", type=float, default=0.05, help="share of flows buying the hot SKU"
    )
    p.add_argument("--max-qty", type=int, default=3, help="units per line: uniform on 1..max-qty")
    p.add_argument(
        "--client", choices=("raw", "httpx"), default="raw", help="load generator's HTTP client"
    )
    p.add_argument(
        "--idempotency",
        choices=("none", "checkout", "all"),
        default="checkout",
        help="which POSTs carry an Idempotency-Key",
    )
    p.add_argument(
        "--flows",
        default="ceiling,express,cart",
        help="rows to measure, comma list of: ceiling (bare PostgreSQL), express, cart",
    )
    p.add_argument("--seed", type=int, default=20261126)
    p.add_argument("--json", type=Path, help="write all figures to this file")
    p.add_argument(
        "--py-spy",
        type=Path,
        help="after each configuration, record one extra (uncounted) "
        "run's server stacks with py-spy into this folder",
    )
    args = p.parse_args(argv)
    if args.repeats < 1 or args.duration <= 0 or not 0 <= args.hot_share <= 1:
        p.error("--repeats >= 1, --duration > 0 and 0 <= --hot-share <= 1")
    args.flows = [f.strip() for f in args.flows.split(",") if f.strip()]
    if not args.flows or set(args.flows) - {"ceiling", "express", "cart"}:
        p.error("--flows: a comma list of ceiling, express, cart")
    return args


def profile_run(
    api: httpx.Client,
    store: Store,
    args: argparse.Namespace,
    plan: LoadPlan,
    server_pid: int,
    name: str,
    url: str,
) -> None:
    args.py_spy.mkdir(parents=True, exist_ok=True)
    out = args.py_spy / f"{name}.txt"
    exe = Path(sys.executable).parent / "py-spy"
    spy = subprocess.Popen(
        [
            str(exe) if exe.exists() else "py-spy",
            "record",
            "--subprocesses",
            "--nonblocking",
            "--gil",
            "--format",
            "raw",
            "--pid",
            str(server_pid),
            "--duration",
            str(int(plan.warmup_s + plan.duration_s)),
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        r = one_run(api, store, args, plan, url)
    finally:
        spy.wait(timeout=120)
    print(f"  py-spy run (not counted) -> {out}\n    " + _fmt(r))


def _median_row(name: str, reps: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of repeated runs as one table row (orders/s, latency, CPU ms per order)."""
    if name == "ceiling":
        rate = statistics.median(r["orders_per_s"] for r in reps)
        ms = {q: statistics.median(r["ms"][q] for r in reps) for q in ("p50", "p95", "p99")}
        cpu = {
            k: statistics.median(r["cpu_ms_per_order"][k] for r in reps)
            for k in ("api", "postgres", "loadgen")
        }
    else:
        rate = statistics.median(r["checkouts_per_s"] for r in reps)
        part = "checkout_ms" if name == "express" else "flow_ms"
        ms = {q: statistics.median(r[part][q] for r in reps) for q in ("p50", "p95", "p99")}
        cpu = {
            "api": statistics.median(r["cpu_ms_per_checkout"]["server"] for r in reps),
            "postgres": statistics.median(r["cpu_ms_per_checkout"]["postgres"] for r in reps),
            "loadgen": statistics.median(r["cpu_ms_per_checkout"]["loadgen"] for r in reps),
        }
    oversold = sum(
        r["oversold_units"] if name == "ceiling" else r["verification"]["oversold_units"]
        for r in reps
    )
    ok = all(r["ok"] if name == "ceiling" else r["verification"]["ok"] for r in reps)
    return {
        "row": name,
        "orders_per_s": rate,
        "ms": ms,
        "cpu_ms": cpu,
        "oversold": oversold,
        "ok": ok,
        "runs": len(reps),
    }


LABEL = {
    "ceiling": "bare PostgreSQL ceiling (psycopg, 1 tx/order)",
    "express": "express checkout over HTTP (1 request)",
    "cart": "cart flow over HTTP (3 requests)",
}


def print_table(rows: list[dict[str, Any]]) -> str:
    """The side-by-side table (markdown), also printed."""
    head = (
        "| row | orders/s | p50 / p95 / p99 ms | CPU ms/order (API + PostgreSQL + load gen) "
        "| oversold units |\n|---|---:|---:|---:|---:|"
    )
    out = [head]
    for r in rows:
        ms, cpu = r["ms"], r["cpu_ms"]
        total = cpu["api"] + cpu["postgres"] + cpu["loadgen"]
        out.append(
            f"| {LABEL[r['row']]} | {r['orders_per_s']:.0f} | {ms['p50']:.1f} / {ms['p95']:.1f} / "
            f"{ms['p99']:.1f} | {total:.2f} ({cpu['api']:.2f} + {cpu['postgres']:.2f} + "
            f"{cpu['loadgen']:.2f}) | {r['oversold']} |"
        )
    text = "\n".join(out)
    print(text)
    return text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    info = machine_info()
    print(
        f"machine: {info['cpu_model']}, {info['logical_cpus']} logical CPUs "
        f"({info['usable_cpus']} usable), "
        f"{info['mem_gib']} GiB, load average at start {info['loadavg_at_start']}"
    )
    tag = secrets.token_hex(3).upper()
    keys = Keys(
        pepper=secrets.token_hex(24),
        staff=secrets.token_hex(16),
        customers=tuple(secrets.token_hex(16) for _ in range(min(max(args.concurrency), 256))),
    )
    runs: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    store: Store | None = None
    db_cm = nullcontext(args.db) if args.db else throwaway_database()
    with db_cm as url, tempfile.TemporaryDirectory(prefix="shopsphere-bench-") as tmp:
        prepare_database(url, keys)
        db_name = url.rsplit("/", 1)[1].split("?")[0]
        for workers, pool in itertools.product(args.workers, args.pool_size):
            warn_connection_budget(url, workers, pool, args.max_overflow)
            with (
                api_server(url, keys, workers, pool, args.max_overflow, Path(tmp)) as (
                    proc,
                    port,
                    logfile,
                ),
                httpx.Client(
                    base_url=f"http://127.0.0.1:{port}",
                    headers={"X-API-Key": keys.staff},
                    timeout=120,
                ) as api,
            ):
                store = store or seed(api, args.skus, tag)
                ceil_ids = None
                for conc in args.concurrency:
                    cfg = {
                        "workers": workers,
                        "pool_size": pool,
                        "max_overflow": args.max_overflow,
                        "concurrency": conc,
                        "client": args.client,
                        "idempotency": args.idempotency,
                    }
                    print(
                        f"\n== workers {workers}, pool {pool}+{args.max_overflow}, "
                        f"concurrency {conc}, "
                        f"client {args.client}, Idempotency-Key on {args.idempotency}"
                    )
                    rows: list[dict[str, Any]] = []
                    for flow in args.flows:
                        reps: list[dict[str, Any]] = []
                        if flow == "ceiling":
                            if ceil_ids is None:
                                ceil_ids = seed_ceiling(api, store, url, min(args.skus, 200))
                            for rep in range(args.repeats):
                                r = ceiling_run(
                                    CeilingPlan(
                                        dsn=_dsn(url),
                                        location_id=ceil_ids[0],
                                        sku_ids=ceil_ids[1],
                                        concurrency=conc,
                                        warmup_s=args.warmup,
                                        duration_s=args.duration,
                                        seed=args.seed + rep,
                                        db_name=db_name,
                                    )
                                )
                                r.update(cfg, row=flow, repeat=rep + 1)
                                reps.append(r)
                                runs.append(r)
                                print(
                                    f"  ceiling run {rep + 1}: {r['orders_per_s']:.0f} orders/s, "
                                    f"p99 {r['ms']['p99']:.1f} ms, "
                                    f"CPU ms/order {r['cpu_ms_per_order']}"
                                )
                            rows.append(_median_row(flow, reps))
                            continue
                        for rep in range(args.repeats + (1 if args.py_spy else 0)):
                            plan = LoadPlan(
                                host="127.0.0.1",
                                port=port,
                                customer_keys=keys.customers[:conc],
                                location=store.location,
                                skus=store.skus,
                                hot_sku=store.hot_sku,
                                hot_share=args.hot_share,
                                max_qty=args.max_qty,
                                concurrency=conc,
                                warmup_s=args.warmup,
                                duration_s=args.duration,
                                client=args.client,
                                idempotency=args.idempotency,
                                seed=args.seed + len(runs) + rep,
                                run_tag=f"{tag}-w{workers}p{pool}c{conc}{flow}r{rep}",
                                server_pid=proc.pid,
                                db_name=db_name,
                                flow=flow,
                            )
                            if rep == args.repeats:
                                profile_run(
                                    api,
                                    store,
                                    args,
                                    plan,
                                    proc.pid,
                                    f"{flow}-w{workers}-p{pool}-c{conc}",
                                    url,
                                )
                                continue
                            r = one_run(api, store, args, plan, url)
                            r.update(cfg, row=flow, repeat=rep + 1)
                            runs.append(r)
                            reps.append(r)
                            print(f"  {flow} run {rep + 1}: " + _fmt(r))
                            if any(
                                k.split()[1].startswith("5") or k.startswith("transport")
                                for k in r["errors"]
                            ):
                                print("  server errors (log tail):\n" + _error_lines(logfile))
                        rows.append(_median_row(flow, reps))
                    print(f"\n  median of {args.repeats} run(s) per row, side by side:")
                    table = print_table(rows)
                    tables.append({**cfg, "rows": rows, "markdown": table})
    verdicts = []
    for t in tables:
        by = {r["row"]: r for r in t["rows"]}
        ceiling = by.get("ceiling", {}).get("orders_per_s")
        if "express" in by:
            e = by["express"]
            ok = e["orders_per_s"] >= TARGET_CPS and e["ms"]["p99"] < TARGET_P99_MS
            ok = ok and e["oversold"] == 0 and e["ok"]
            share = e["orders_per_s"] / ceiling if ceiling else float("nan")
            ok = ok and (ceiling is None or share >= TARGET_CEILING_SHARE)
            verdicts.append(
                f"express (concurrency {t['concurrency']}): {e['orders_per_s']:.0f}/s, p99 "
                f"{e['ms']['p99']:.1f} ms, {share:.2f} of the ceiling -> target "
                f"(>= {TARGET_CPS:.0f}/s, p99 < {TARGET_P99_MS:.0f} ms, "
                f">= {TARGET_CEILING_SHARE} of ceiling, zero oversell) "
                f"{'MET' if ok else 'NOT MET'}"
            )
        if "cart" in by:
            c = by["cart"]
            ok = c["orders_per_s"] >= TARGET_CART_FPS and c["oversold"] == 0 and c["ok"]
            verdicts.append(
                f"cart flow (concurrency {t['concurrency']}): {c['orders_per_s']:.0f} flows/s -> "
                f"target (>= {TARGET_CART_FPS:.0f}/s, zero oversell) {'MET' if ok else 'NOT MET'}"
            )
    print("\n" + "\n".join(verdicts))
    print(f"(other processes shared the CPUs: load average at end {os.getloadavg()})")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "tables": tables,
                    "verdicts": verdicts,
                    "runs": runs,
                    "loadavg_at_end": os.getloadavg(),
                },
                indent=2,
                default=str,
            )
        )
    return 0 if all(r["ok"] for t in tables for r in t["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
