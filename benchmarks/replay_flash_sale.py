"""Flash-sale replays against the real API on PostgreSQL: the seed's peak, 3x, and chaos.

Each run: a fresh database, a local ``shopsphere serve --workers W`` with per-key rate limits,
the catalog seeded, the shoppers' keys stored, then a 60 s open-loop replay of a flash-sale trace
whose peak is ``--peak`` checkout attempts per second (500,000 orders/h ~ 139/s), and the post-run
checks (acknowledged orders present, ledger equals counters, nothing oversold). The chaos run
uses a private PostgreSQL cluster (``initdb`` into a temporary directory, started as the
``postgres`` user when run as root) so that restarting it disturbs nobody else, and kills an API
worker with SIGKILL twice.

The waiting room is on unless ``--no-waiting-room``: sessions after a hot SKU queue and poll
until admitted (20 admissions per second per hot SKU, burst 50).

Usage::

    python benchmarks/replay_flash_sale.py --pg-url postgresql+psycopg://shop:shop@127.0.0.1:5432/postgres

Prints one Markdown table row per run (checkout p50/p99 from the corrected HDR histograms,
answers by code, 429s, orders acknowledged and found). The figures are one run each, not a
median: every run is a minute of full load on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import psycopg
from sqlalchemy.engine import make_url

from api.client.http import HttpClient
from replay.chaos import ChaosRunner, parse_schedule
from replay.engine import Replayer
from replay.flashsale import FlashSaleSpec, generate
from replay.keys import derive
from replay.receiver import WebhookReceiver
from replay.results import acknowledged_orders, write_results
from replay.seed import seed_catalog
from replay.server import LocalServer, free_port
from replay.verify import check_after_replay, check_webhooks

WEBHOOK_SECRET = "bench-webhook-secret-0123"


def _fresh_db(admin_url: str, name: str) -> str:
    u = make_url(admin_url)
    dsn = (
        f"host={u.host} port={u.port or 5432} user={u.username} password={u.password} "
        f"dbname={u.database or 'postgres'}"
    )
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    return u.set(database=name).render_as_string(hide_password=False)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster in a temporary directory (for pg-restart chaos)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="replay_pg_"))
        self.port = free_port()
        self.root = os.geteuid() == 0

    def _run(self, cmd: str) -> None:
        full = ["su", "postgres", "-c", cmd] if self.root else ["bash", "-c", cmd]
        subprocess.run(full, check=True, capture_output=True)

    @property
    def restart_cmd(self) -> str:
        cmd = f"pg_ctl -D {self.dir}/data -w -m fast restart -l {self.dir}/log"
        return f'su postgres -c "{cmd}"' if self.root else cmd

    def start(self) -> str:
        if self.root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(f"initdb -D {self.dir}/data -U postgres --auth=trust >/dev/null")
        self._run(
            f"pg_ctl -D {self.dir}/data -w -l {self.dir}/log "
            f"-o '-p {self.port} -k {self.dir} -c max_connections=60 -c fsync=off' start"
        )
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run(f"pg_ctl -D {self.dir}/data -w -m immediate stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of the processes ``pids`` and their children so far."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            continue
        for p in procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
    return total


def _pg_cpu_s() -> float:
    """CPU seconds of every ``postgres`` process on the machine (other users' included)."""
    total = 0.0
    for p in psutil.process_iter(["name"]):
        try:
            if p.info["name"] and p.info["name"].startswith("postgres"):
                t = p.cpu_times()
                total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _one(
    name: str,
    db_url: str,
    trace: Any,
    out: Path,
    *,
    workers: int,
    chaos: str | None,
    pg_restart_cmd: str | None,
    seed: int,
    waiting_room: bool,
    max_in_flight: int = 0,
    admit_per_s: float = 20.0,
    admit_burst: int = 50,
) -> dict[str, Any]:
    book = derive(f"bench-{name}", trace.shoppers())
    env = {
        "SHOPSPHERE_DB_POOL_SIZE": "8",
        "SHOPSPHERE_DB_MAX_OVERFLOW": "2",
        "SHOPSPHERE_RATE_LIMIT_KEY_PER_S": "5",
        "SHOPSPHERE_RATE_LIMIT_KEY_BURST": "10",
        "SHOPSPHERE_SWEEP_INTERVAL_SECONDS": "5",
        "SHOPSPHERE_RESERVATION_TTL_SECONDS": "30",
    }
    if waiting_room:
        hot = [s["sku"] for s in trace.meta["catalog"]["skus"] if s["hot"]]
        env["SHOPSPHERE_WAITING_ROOM_SKUS"] = ",".join(hot)
        env["SHOPSPHERE_WAITING_ROOM_ADMIT_PER_S"] = str(admit_per_s)
        env["SHOPSPHERE_WAITING_ROOM_BURST"] = str(admit_burst)
    if max_in_flight:
        env["SHOPSPHERE_MAX_IN_FLIGHT"] = str(max_in_flight)
    receiver = WebhookReceiver(WEBHOOK_SECRET)
    receiver.__enter__()
    env["SHOPSPHERE_WEBHOOK_ENDPOINTS"] = f"replay={receiver.url}"
    env["SHOPSPHERE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    env["SHOPSPHERE_WEBHOOK_LEASE_SECONDS"] = "5"
    out.mkdir(parents=True, exist_ok=True)
    server = LocalServer(db_url, book, workers=workers, env=env, log_path=out / "server.log")
    server.store_keys(out / "keys.json")
    server.start()
    rng = np.random.default_rng(seed)
    try:
        staff = HttpClient(server.url, book.token("staff"), timeout_s=60)
        seeded = seed_catalog(staff, trace.meta["catalog"])
        side = []
        if chaos:
            side.append(
                ChaosRunner(
                    parse_schedule(chaos),
                    server_pid=server.pid,
                    pg_restart_cmd=pg_restart_cmd,
                    rng=rng,
                ).task()
            )
        rp = Replayer(trace, server.url, book, pool=256, run_id=f"bench-{name}", rng=rng)
        cpu0 = (time.process_time(), _cpu_s([server.pid]), _pg_cpu_s(), time.perf_counter())
        result = asyncio.run(rp.run(side))
        cpu1 = (time.process_time(), _cpu_s([server.pid]), _pg_cpu_s(), time.perf_counter())
        wall = cpu1[3] - cpu0[3]
        profile = {
            "wall_s": round(wall, 1),
            "replayer_cpu_s": round(cpu1[0] - cpu0[0], 1),
            "api_cpu_s": round(cpu1[1] - cpu0[1], 1),
            "postgres_cpu_s": round(cpu1[2] - cpu0[2], 1),
            "cores": os.cpu_count(),
            "load_avg_1m_end": round(os.getloadavg()[0], 1),
        }
        print(f"{name}: cpu profile {profile}")
        checks = check_after_replay(
            staff,
            acknowledged_orders(result),
            location=seeded.location,
            initial_stock=seeded.initial_stock,
        )
        hooks = check_webhooks(
            server.url,
            book.token("staff"),
            receiver,
            acknowledged_orders(result),
            endpoint="replay",
            timeout_s=300,
        )
        checks.update(hooks)
        checks["ok"] = bool(checks["ok"] and hooks["webhooks_ok"])
        staff.close()
    finally:
        server.stop()
        receiver.__exit__(None, None, None)
    summary = write_results(result, out, checks)
    summary["profile"] = profile
    (out / "profile.json").write_text(json.dumps(profile, indent=2))
    return summary


def _row(name: str, s: dict[str, Any]) -> str:
    co = s["latency"].get("checkout", {})
    codes = s["codes_by_op"].get("checkout", {})
    top = ", ".join(f"{k} {v}" for k, v in list(codes.items())[:5])
    c = s["checks"]
    adm = (
        f"{s['waiting_room_admissions']} / {s['waiting_room_sessions']}"
        if s["waiting_room_sessions"]
        else "off"
    )
    return (
        f"| {name} | {s['checkouts_attempted']} | {co.get('p50_ms', float('nan')):.0f} | "
        f"{co.get('p99_ms', float('nan')):.0f} | {top} | {s['responses_429']} | {adm} | "
        f"{c.get('orders_acknowledged')} / {c.get('orders_found')} | "
        f"{c.get('units_oversold')} | {c.get('ledger_mismatches')} | "
        f"{c.get('webhook_delivered')} / {c.get('webhook_events')}, dup effects "
        f"{c.get('receiver_duplicate_effects')} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", default="postgresql+psycopg://shop:shop@127.0.0.1:5432/postgres")
    ap.add_argument("--peak", type=float, default=139.0, help="checkout attempts/s at the peak")
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("/tmp/replay_bench"))
    ap.add_argument("--runs", default="peak,3x,chaos")
    ap.add_argument("--chaos", default="kill-worker@15,pg-restart@30,kill-worker@45")
    ap.add_argument(
        "--no-waiting-room", action="store_true", help="hot SKUs without the waiting room"
    )
    ap.add_argument("--admit-per-s", type=float, default=20.0, help="waiting-room rate per SKU")
    ap.add_argument("--admit-burst", type=int, default=50, help="waiting-room burst per SKU")
    ap.add_argument(
        "--max-in-flight",
        type=int,
        default=0,
        help="SHOPSPHERE_MAX_IN_FLIGHT per worker (0: no load shedding)",
    )
    args = ap.parse_args()
    runs = args.runs.split(",")
    rows = []
    load = os.getloadavg()
    for name in runs:
        peak = args.peak * (3 if name == "3x" else 1)
        spec = FlashSaleSpec(
            duration_s=args.duration,
            t0_s=5.0,
            ramp_s=2.0,
            hold_s=args.duration,
            peak_orders_per_s=peak,
            multiplier=10.0,
            n_hot=5,
            hot_stock=500,
            n_shoppers=3000,
            n_bots=40,
            waiting_room=not args.no_waiting_room,
        )
        trace = generate(spec, np.random.default_rng(7))
        t0 = time.perf_counter()
        pg = None
        try:
            if name == "chaos":
                pg = PrivatePostgres()
                db = pg.start()
                restart = pg.restart_cmd
            else:
                db = _fresh_db(args.pg_url, f"shop_replay_bench_{name}")
                restart = None
            s = _one(
                name,
                db,
                trace,
                args.out / name,
                workers=args.workers,
                chaos=args.chaos if name == "chaos" else None,
                pg_restart_cmd=restart,
                seed=7,
                waiting_room=not args.no_waiting_room,
                max_in_flight=args.max_in_flight,
                admit_per_s=args.admit_per_s,
                admit_burst=args.admit_burst,
            )
        finally:
            if pg is not None:
                pg.stop()
        label = f"{name} ({peak:.0f}/s peak)"
        rows.append(_row(label, s))
        print(f"{label}: done in {time.perf_counter() - t0:.0f} s; {args.out / name}/report.md")
    print()
    print(
        f"machine: {platform.node()}, {os.cpu_count()} cores, shared with other engineers "
        f"(load average at start {load[0]:.1f}); API: {args.workers} uvicorn workers, "
        "PostgreSQL 15, per-key limit 5/s burst 10, waiting room "
        f"{'off' if args.no_waiting_room else f'{args.admit_per_s:g} admissions/s per hot SKU'}"
        f"{'' if args.no_waiting_room else f', burst {args.admit_burst}'}; max in flight per "
        f"worker {args.max_in_flight or 'off'}; one run each"
    )
    print()
    print(
        "| run | checkouts | checkout p50 ms | checkout p99 ms | checkout answers | 429s | "
        "admitted / queued | orders acked / found | oversold | ledger mismatches | "
        "webhooks delivered / events |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
