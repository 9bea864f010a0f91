"""``shopsphere webhooks dispatch | status | dead-letters | redrive``: the outbox from the shell.

Settings come from ``SHOPSPHERE_*`` (``WEBHOOK_ENDPOINTS``, ``WEBHOOK_SECRET``, the retry
schedule); ``--db`` overrides the database URL. See :mod:`api.webhooks`.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from typing import Any

import typer

from shopsphere_cli.api_cmds import DB_OPTION, _safe_url, _settings
from shopsphere_cli.errors import fail

log = logging.getLogger(__name__)
webhooks_app = typer.Typer(
    help="Webhooks from the transactional outbox: dispatch, status, dead letters.",
    no_args_is_help=True,
)


def _engine(settings: Any) -> Any:
    from api.db import make_engine

    return make_engine(settings.database_url, pool_size=2, max_overflow=2)


def _db_fail(settings: Any, exc: Exception) -> typer.Exit:
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()
    return fail(
        f"cannot use the outbox in {_safe_url(settings.database_url)} (did you run "
        f"`shopsphere db upgrade`?): {first[0] if first else type(exc).__name__}"
    )


@webhooks_app.command("dispatch")
def dispatch(
    db: str | None = DB_OPTION,
    once: bool = typer.Option(False, "--once", help="One pass, then exit (default: run on)."),
    poll_s: float | None = typer.Option(
        None, "--poll", min=0.01, help="Seconds between idle passes (default: setting)."
    ),
) -> None:
    """Deliver outbox events to SHOPSPHERE_WEBHOOK_ENDPOINTS (signed, retried, dead-lettered).
    Runs until SIGINT/SIGTERM; any number may run beside the API's own dispatchers."""
    from sqlalchemy.exc import DBAPIError

    from api.clock import SystemClock
    from api.webhooks import DispatchConfig, Dispatcher

    settings = _settings(db)
    config = DispatchConfig.from_settings(settings)
    if not config.endpoints:
        raise fail("no endpoints: set SHOPSPHERE_WEBHOOK_ENDPOINTS to name=url[,name=url...]")
    engine = _engine(settings)
    d = Dispatcher(engine, SystemClock(), config)
    try:
        if once:
            res = d.run_once()
            typer.echo(
                f"fanned out {res.fanned_out}, delivered {res.delivered}, retried {res.retried}, "
                f"dead {res.dead}"
            )
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        log.info("dispatching to %s", ", ".join(e.name for e in config.endpoints))
        d.run(stop, poll_s or float(settings.webhook_poll_seconds))
    except DBAPIError as exc:
        raise _db_fail(settings, exc) from None
    finally:
        d.close()
        engine.dispose()


@webhooks_app.command("status")
def status_cmd(db: str | None = DB_OPTION) -> None:
    """Events, events not fanned out, deliveries per endpoint and status (JSON)."""
    from sqlalchemy.exc import DBAPIError

    from api.webhooks import status

    settings = _settings(db)
    engine = _engine(settings)
    try:
        typer.echo(json.dumps(status(engine), indent=2))
    except DBAPIError as exc:
        raise _db_fail(settings, exc) from None
    finally:
        engine.dispose()


@webhooks_app.command("dead-letters")
def dead_letters_cmd(
    db: str | None = DB_OPTION,
    limit: int = typer.Option(100, min=1, max=100_000, help="At most this many."),
) -> None:
    """Dead-lettered deliveries, one JSON object per line."""
    from sqlalchemy.exc import DBAPIError

    from api.webhooks import dead_letters

    settings = _settings(db)
    engine = _engine(settings)
    try:
        for d in dead_letters(engine, limit=limit):
            typer.echo(json.dumps(d))
    except DBAPIError as exc:
        raise _db_fail(settings, exc) from None
    finally:
        engine.dispose()


@webhooks_app.command("redrive")
def redrive_cmd(
    db: str | None = DB_OPTION,
    ids: list[int] | None = typer.Option(None, "--id", min=1, help="Delivery id (repeatable)."),
    endpoint: str | None = typer.Option(None, "--endpoint", help="Only this endpoint's."),
) -> None:
    """Put dead deliveries back to pending (all, or --id ..., or one --endpoint's)."""
    from sqlalchemy.exc import DBAPIError

    from api.clock import SystemClock
    from api.webhooks import redrive

    settings = _settings(db)
    engine = _engine(settings)
    try:
        n = redrive(engine, SystemClock(), ids=ids or None, endpoint=endpoint)
    except DBAPIError as exc:
        raise _db_fail(settings, exc) from None
    finally:
        engine.dispose()
    typer.echo(f"redriven {n}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(webhooks_app, name="webhooks")
