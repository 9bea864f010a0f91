"""CLI verbs of the load-tester: ``replay`` and ``replay-trace`` (flash-sale, convert, keys,
store-keys, seed).

A user's mistake (bad trace, bad option, unreachable target) prints one message naming the
field and the value and exits with status 2, never a traceback.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from shopsphere_cli.errors import fail

trace_app = typer.Typer(
    help="Replay traces: generate a flash sale, convert a twin trace, keys, seeding.",
    no_args_is_help=True,
)
DEFAULT_SECRET = "shopsphere-replay-dev"
SECRET_OPTION = typer.Option(
    DEFAULT_SECRET, "--key-secret", help="Secret the shoppers' API keys are derived from."
)


def _keybook(trace: Any, keys: Path | None, secret: str) -> Any:
    from replay.keys import KeyBook, derive

    return KeyBook.load(keys) if keys else derive(secret, trace.shoppers())


def _render(stats: Any) -> Any:
    import numpy as np
    from rich.table import Table

    t = Table(title="shopsphere replay", show_header=False)
    t.add_row("elapsed", f"{stats.elapsed_s:7.1f} s")
    t.add_row("finished / total", f"{stats.done} / {stats.total}")
    t.add_row("in flight", str(stats.in_flight))
    if stats.recent_ms:
        t.add_row("checkout p99 (last 0.5 s)", f"{np.percentile(stats.recent_ms, 99):.1f} ms")
    for code, n in stats.codes.most_common(6):
        t.add_row(f"  {code}", str(n))
    return t


RECEIVER_NAME = "replay"
"""The endpoint name the replay's receiver has in the target's SHOPSPHERE_WEBHOOK_ENDPOINTS."""


def replay(
    trace_path: Path = typer.Argument(..., help="Trace: native (.jsonl) or a twin traffic.jsonl."),
    target: str | None = typer.Option(None, "--target", help="Base URL of the API."),
    speed: float = typer.Option(1.0, "--speed", help="Time compression (10: 10x faster)."),
    duration: float | None = typer.Option(
        None, "--duration", help="Replay only the first S seconds (replay time)."
    ),
    chaos: str | None = typer.Option(
        None, "--chaos", help="Faults, e.g. 'kill-worker@15,pg-restart@30' (replay seconds)."
    ),
    out: Path = typer.Option(Path("replay_out"), "--out", help="Results directory."),
    keys: Path | None = typer.Option(None, "--keys", help="Key file (name -> token JSON)."),
    key_secret: str = SECRET_OPTION,
    pool: int = typer.Option(128, "--pool", min=1, max=10_000, help="Most requests in flight."),
    timeout: float = typer.Option(30.0, "--timeout", help="Per-attempt timeout (s)."),
    seed_catalog: bool = typer.Option(
        False, "--seed-catalog", help="Create the trace's catalog and stock first."
    ),
    serve_db: str | None = typer.Option(
        None, "--serve-db", help="Start a local server on this database (keys stored first)."
    ),
    workers: int = typer.Option(2, "--workers", min=1, max=64, help="Workers of --serve-db."),
    server_pid: int | None = typer.Option(
        None, "--server-pid", help="Master pid of the target (for kill-worker)."
    ),
    pg_restart_cmd: str | None = typer.Option(
        None, "--pg-restart-cmd", help="Command restarting PostgreSQL (for pg-restart)."
    ),
    check: bool = typer.Option(True, "--check/--no-check", help="Verify orders and stock after."),
    quiet: bool = typer.Option(False, "--quiet", help="No live progress."),
    seed: int = typer.Option(0, "--seed", help="Seed of the retry jitter and chaos choices."),
    webhooks: bool = typer.Option(
        True,
        "--webhooks/--no-webhooks",
        help="Run a webhook receiver and check the outbox after (with --serve-db, or a target "
        "configured to deliver to --receiver-port).",
    ),
    receiver_port: int = typer.Option(
        0, "--receiver-port", min=0, max=65535, help="Receiver port (0: a free one)."
    ),
    webhook_secret: str = typer.Option(
        "replay-webhook-secret-0123", "--webhook-secret", help="Secret of the signatures."
    ),
) -> None:
    """Replay a trace open-loop against a live API; write Parquet, a report and plots."""
    import numpy as np

    from replay.errors import ReplayError

    if speed <= 0:
        raise fail(f"--speed must be positive, got {speed!r}")
    if duration is not None and duration <= 0:
        raise fail(f"--duration must be positive, got {duration!r}")
    if target is None and serve_db is None:
        raise fail("give --target URL (or --serve-db URL to start a local server)")
    try:
        summary = _replay(
            trace_path, target, speed, duration, chaos, out, keys, key_secret, pool, timeout,
            seed_catalog, serve_db, workers, server_pid, pg_restart_cmd, check, quiet,
            np.random.default_rng(seed),
            webhooks and (serve_db is not None or receiver_port > 0), receiver_port,
            webhook_secret,
        )  # fmt: skip
    except ReplayError as exc:
        raise fail(str(exc)) from None
    co = summary["latency"].get("checkout", {})
    typer.echo(
        f"{summary['requests']} requests, {summary['orders_acknowledged']} orders acknowledged, "
        f"checkout p50 {co.get('p50_ms', float('nan')):.1f} ms p99 "
        f"{co.get('p99_ms', float('nan')):.1f} ms, 429s {summary['responses_429']}; "
        f"report: {out / 'report.md'}"
    )
    if summary["checks"] and not summary["checks"].get("ok", True):
        typer.echo(f"post-run checks FAILED: {summary['checks']}", err=True)
        raise typer.Exit(code=1)


def _replay(
    trace_path: Path,
    target: str | None,
    speed: float,
    duration: float | None,
    chaos: str | None,
    out: Path,
    keys: Path | None,
    key_secret: str,
    pool: int,
    timeout: float,
    seed_catalog: bool,
    serve_db: str | None,
    workers: int,
    server_pid: int | None,
    pg_restart_cmd: str | None,
    check: bool,
    quiet: bool,
    rng: Any,
    webhooks: bool = False,
    receiver_port: int = 0,
    webhook_secret: str = "",
) -> dict[str, Any]:
    import asyncio
    import logging

    from api.client.http import HttpClient
    from replay.chaos import ChaosRunner, parse_schedule
    from replay.engine import Replayer
    from replay.receiver import WebhookReceiver
    from replay.results import acknowledged_orders, write_results
    from replay.seed import seed_catalog as do_seed
    from replay.server import LocalServer
    from replay.trace import load
    from replay.verify import check_after_replay, check_webhooks, webhook_status

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    trace = load(trace_path).window(duration, speed)
    book = _keybook(trace, keys, key_secret)
    actions = parse_schedule(chaos) if chaos else []
    server = None
    out.mkdir(parents=True, exist_ok=True)
    receiver = WebhookReceiver(webhook_secret, port=receiver_port) if webhooks else None
    if receiver is not None:
        receiver.__enter__()
    if serve_db is not None:
        env = {}
        if receiver is not None:
            env = {
                "SHOPSPHERE_WEBHOOK_ENDPOINTS": f"{RECEIVER_NAME}={receiver.url}",
                "SHOPSPHERE_WEBHOOK_SECRET": webhook_secret,
                "SHOPSPHERE_WEBHOOK_LEASE_SECONDS": "5",
                "SHOPSPHERE_WEBHOOK_POLL_SECONDS": "0.1",
            }
        server = LocalServer(serve_db, book, workers=workers, env=env, log_path=out / "server.log")
        server.store_keys(out / "keys.json")
        server.start()
        target, server_pid = server.url, server.pid
    assert target is not None
    try:
        staff = HttpClient(target, book.token("staff"), timeout_s=60)
        catalog = trace.meta.get("catalog")
        if seed_catalog:
            from replay.seed import SeedResult

            res: SeedResult = do_seed(staff, catalog or {})
            typer.echo(f"seeded {res.skus} SKUs at {res.location}")
        before = webhook_status(target, book.token("staff")) if receiver is not None else None
        runner = ChaosRunner(actions, server_pid=server_pid, pg_restart_cmd=pg_restart_cmd, rng=rng)
        rp = Replayer(
            trace,
            target,
            book,
            speed=speed,
            pool=pool,
            timeout_s=timeout,
            run_id=f"r{int(time.time())}",
            rng=rng,
        )
        if quiet:
            result = asyncio.run(rp.run([runner.task()] if actions else None))
        else:
            from rich.live import Live

            with Live(_render(rp.stats), refresh_per_second=4) as live:
                result = asyncio.run(
                    rp.run(
                        [runner.task()] if actions else None,
                        monitor=lambda s: live.update(_render(s)),
                    )
                )
        checks = None
        if check:
            initial = {s["sku"]: int(s["stock"]) for s in catalog["skus"]} if catalog else None
            checks = check_after_replay(
                staff,
                acknowledged_orders(result),
                location=catalog["location"] if catalog else None,
                initial_stock=initial,
            )
            if receiver is not None:
                wh = check_webhooks(
                    target,
                    book.token("staff"),
                    receiver,
                    acknowledged_orders(result),
                    endpoint=RECEIVER_NAME,
                    before=before,
                )
                checks.update(wh)
                checks["ok"] = bool(checks["ok"] and wh["webhooks_ok"])
        staff.close()
        return write_results(result, out, checks)
    finally:
        if server is not None:
            server.stop()
        if receiver is not None:
            receiver.__exit__(None, None, None)


@trace_app.command("flash-sale")
def flash_sale(
    out: Path = typer.Argument(..., help="Trace file to write."),
    duration: float = typer.Option(60.0, help="Trace length (s)."),
    t0: float = typer.Option(10.0, help="Drop time of the hot SKUs (s)."),
    ramp: float = typer.Option(3.0, help="Seconds to reach the peak."),
    hold: float = typer.Option(30.0, help="Seconds at the peak (then exponential decay)."),
    peak: float = typer.Option(139.0, help="Peak checkout attempts per second."),
    multiplier: float = typer.Option(10.0, help="Peak over the pre-sale rate."),
    hot: int = typer.Option(5, help="Hot SKUs."),
    hot_stock: int = typer.Option(500, help="Units of each hot SKU."),
    shoppers: int = typer.Option(3000, help="Distinct human shoppers."),
    bots: int = typer.Option(40, help="Distinct bots."),
    bot_fraction: float = typer.Option(0.2, help="Share of sessions after the drop that are bots."),
    abandon: float = typer.Option(0.15, help="Share of human sessions that abandon the cart."),
    waiting_room: bool = typer.Option(
        False, "--waiting-room", help="Sessions after hot SKUs queue in the API's waiting room."
    ),
    seed: int = typer.Option(7, help="Random seed."),
) -> None:
    """Generate a flash-sale trace (native format, with the catalog to seed in its header)."""
    import numpy as np

    from replay.errors import ReplayError
    from replay.flashsale import FlashSaleSpec, generate

    spec = FlashSaleSpec(
        duration_s=duration,
        t0_s=t0,
        ramp_s=ramp,
        hold_s=hold,
        peak_orders_per_s=peak,
        multiplier=multiplier,
        n_hot=hot,
        hot_stock=hot_stock,
        n_shoppers=shoppers,
        n_bots=bots,
        bot_fraction=bot_fraction,
        abandon_p=abandon,
        waiting_room=waiting_room,
    )
    try:
        tr = generate(spec, np.random.default_rng(seed))
    except ReplayError as exc:
        raise fail(str(exc)) from None
    tr.save(out)
    n_co = sum(r.op == "checkout" for r in tr.requests)
    typer.echo(f"{len(tr.requests)} requests, {n_co} checkouts, {len(tr.shoppers())} keys -> {out}")


@trace_app.command("convert")
def convert(
    traffic: Path = typer.Argument(..., help="A twin run's traffic.jsonl."),
    out: Path = typer.Argument(..., help="Native trace to write."),
) -> None:
    """Convert a twin ``traffic.jsonl`` into the native trace format."""
    from replay.errors import ReplayError
    from replay.trace import load

    try:
        tr = load(traffic)
    except ReplayError as exc:
        raise fail(str(exc)) from None
    tr.save(out)
    typer.echo(f"{len(tr.requests)} requests over {tr.duration_s:.0f} s -> {out}")


@trace_app.command("keys")
def keys_cmd(
    trace_path: Path = typer.Argument(..., help="Trace whose shoppers need keys."),
    out: Path = typer.Option(..., "--out", help="Key file to write (name -> token)."),
    key_secret: str = SECRET_OPTION,
) -> None:
    """Write the key file of a trace (staff and one key per shopper)."""
    from replay.errors import ReplayError
    from replay.keys import derive
    from replay.trace import load

    try:
        book = derive(key_secret, load(trace_path).shoppers())
    except ReplayError as exc:
        raise fail(str(exc)) from None
    book.save(out)
    typer.echo(f"{len(book.tokens)} keys -> {out}; store them with `replay-trace store-keys`")


@trace_app.command("store-keys")
def store_keys(
    key_file: Path = typer.Argument(..., help="Key file (name -> token JSON)."),
    db: str | None = typer.Option(None, "--db", help="Database URL (default: settings)."),
) -> None:
    """Store a key file's keys (hashed with the server's pepper) in the API's database."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from api.clock import SystemClock
    from api.db import make_engine
    from api.services.auth import ensure_keys
    from api.settings import BootstrapKey, Settings
    from replay.errors import ReplayError
    from replay.keys import KeyBook

    try:
        book = KeyBook.load(key_file)
    except ReplayError as exc:
        raise fail(str(exc)) from None
    settings = Settings(database_url=db) if db else Settings()
    keys = [
        BootstrapKey("staff", tok) if name == "staff" else BootstrapKey("customer", tok, name)
        for name, tok in book.tokens.items()
    ]
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        added = ensure_keys(engine, SystemClock(), settings.api_key_pepper, keys)
    except (OperationalError, ProgrammingError) as exc:
        raise fail(f"cannot store keys: {str(exc.orig).strip().splitlines()[0]}") from None
    finally:
        engine.dispose()
    typer.echo(f"stored {added} new key(s) of {len(keys)}")


@trace_app.command("seed")
def seed_cmd(
    trace_path: Path = typer.Argument(..., help="A synthetic trace (its header has a catalog)."),
    target: str = typer.Option(..., "--target", help="Base URL of the API."),
    keys: Path | None = typer.Option(None, "--keys", help="Key file (name -> token JSON)."),
    key_secret: str = SECRET_OPTION,
) -> None:
    """Create the catalog and stock a synthetic trace needs on an empty server."""
    from api.client.http import HttpClient
    from replay.errors import ReplayError
    from replay.seed import seed_catalog
    from replay.trace import load

    try:
        tr = load(trace_path)
        book = _keybook(tr, keys, key_secret)
        with HttpClient(target, book.token("staff")) as client:
            res = seed_catalog(client, tr.meta.get("catalog") or {})
    except ReplayError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"seeded {res.skus} SKUs and their stock at {res.location}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("replay")(replay)
    app.add_typer(trace_app, name="replay-trace")
