"""CLI verbs of the commerce API: ``serve``, ``db upgrade``, ``apikey create|revoke``, ``demo``.

Settings come from ``SHOPSPHERE_*`` environment variables; ``--db`` overrides the database URL.
A user's mistake (bad settings, unreachable database) prints one clear message and exits with
status 2, never a traceback.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import typer

from shopsphere_cli.errors import fail

log = logging.getLogger(__name__)

db_app = typer.Typer(help="Database schema management (Alembic migrations).", no_args_is_help=True)
payments_app = typer.Typer(help="Payments: reconcile with the gateway.", no_args_is_help=True)
key_app = typer.Typer(
    help="API keys (stored hashed; the token is shown once).", no_args_is_help=True
)

DB_OPTION = typer.Option(
    None,
    "--db",
    help="Database URL (default: SHOPSPHERE_DATABASE_URL or "
    "sqlite:///./shopsphere.db), e.g. postgresql+psycopg://user:pw@host:5432/db.",
)


def _settings(db: str | None) -> Any:
    from pydantic import ValidationError

    from api.settings import Settings

    if db:
        os.environ["SHOPSPHERE_DATABASE_URL"] = db  # uvicorn workers inherit it
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        where = f"setting SHOPSPHERE_{field.upper()}" if field else "settings"
        raise fail(f"invalid {where}: {first['msg'].removeprefix('Value error, ')}") from None


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _upgrade(url: str) -> None:
    from sqlalchemy.exc import OperationalError

    from api.db import make_engine, upgrade_schema

    engine = make_engine(url, pool_size=2)
    try:
        upgrade_schema(engine)
    except OperationalError as exc:
        raise fail(
            f"cannot reach database {_safe_url(url)}: {str(exc.orig).strip().splitlines()[0]}"
        ) from None
    finally:
        engine.dispose()


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(1, min=1, max=64, help="uvicorn worker processes."),
    db: str | None = DB_OPTION,
    migrate: bool | None = typer.Option(
        None,
        "--migrate/--no-migrate",
        help="Run migrations before serving (default: on in development mode, off in production).",
    ),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve the commerce API (FastAPI + uvicorn) under /v1; OpenAPI at /docs."""
    import uvicorn

    settings = _settings(db)
    if migrate if migrate is not None else settings.mode == "development":
        _upgrade(settings.database_url)
    from api.db import connection_budget_warning

    budget = connection_budget_warning(
        settings.database_url, workers, settings.connections_per_worker
    )
    if budget:
        log.warning("connection budget: %s", budget)
    log.info(
        "serving %s on http://%s:%d with %d worker(s), mode %s",
        _safe_url(settings.database_url),
        host,
        port,
        workers,
        settings.mode,
    )
    uvicorn.run(
        "api.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        timeout_keep_alive=30,
    )


@db_app.command("upgrade")
def db_upgrade(db: str | None = DB_OPTION) -> None:
    """Create or migrate the schema to the latest revision (SQLite or PostgreSQL)."""
    settings = _settings(db)
    _upgrade(settings.database_url)
    typer.echo(f"schema up to date on {_safe_url(settings.database_url)}")


@key_app.command("create")
def apikey_create(
    role: str = typer.Option(..., help="customer, staff or service."),
    customer_id: str | None = typer.Option(
        None, "--customer-id", help="Required for (and only for) customer keys."
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Create an API key and print its token (only its hash is stored)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from api.client.base import CommerceError
    from api.clock import SystemClock
    from api.db import make_engine
    from api.services.auth import create_api_key

    settings = _settings(db)
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        token = create_api_key(engine, SystemClock(), settings.api_key_pepper, role, customer_id)
    except CommerceError as exc:
        raise fail(exc.message) from None
    except (OperationalError, ProgrammingError) as exc:
        raise fail(
            f"cannot store the key in {_safe_url(settings.database_url)} (did you run "
            f"`shopsphere db upgrade`?): {str(exc.orig).strip().splitlines()[0]}"
        ) from None
    finally:
        engine.dispose()
    typer.echo(token)


@payments_app.command("reconcile")
def payments_reconcile(
    db: str | None = DB_OPTION,
    grace_seconds: float | None = typer.Option(
        None,
        min=0,
        help="Only payments pending this long (default: SHOPSPHERE_PAYMENT_GRACE_SECONDS).",
    ),
) -> None:
    """Resolve payments left pending by a crash: ask the gateway, mark orders paid or
    payment_failed (releasing their stock), refund charges of cancelled orders."""
    from datetime import timedelta

    from sqlalchemy.exc import OperationalError, ProgrammingError

    from api.app import build_env
    from api.services.checkout import reconcile_payments
    from api.services.context import Principal

    settings = _settings(db)
    if not settings.sim_gateway_path:
        raise fail(
            "no gateway to ask: set SHOPSPHERE_SIM_GATEWAY_PATH to the simulated gateway's file "
            "(an in-memory gateway would report every pending payment as never charged)"
        )
    ctx = build_env(settings)
    if grace_seconds is not None:
        ctx.payment_grace = timedelta(seconds=grace_seconds)
    try:
        res = reconcile_payments(ctx, Principal(role="service", key_id=0))
    except (OperationalError, ProgrammingError) as exc:
        raise fail(
            f"cannot reconcile on {_safe_url(settings.database_url)}: "
            f"{str(exc.orig).strip().splitlines()[0]}"
        ) from None
    finally:
        ctx.engine.dispose()
    typer.echo(f"paid {res.paid}, payment_failed {res.failed}, refunded {res.refunded}")


@key_app.command("revoke")
def apikey_revoke(
    token: str | None = typer.Option(None, "--token", help="The key's token."),
    key_id: int | None = typer.Option(None, "--id", min=1, help="The key's id."),
    db: str | None = DB_OPTION,
) -> None:
    """Revoke an API key (by token or id); every server worker refuses it within a second."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from api.client.base import CommerceError
    from api.db import make_engine
    from api.services.auth import revoke_api_key

    if (token is None) == (key_id is None):
        raise fail("give exactly one of --token and --id")
    settings = _settings(db)
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        ids = revoke_api_key(engine, settings.api_key_pepper, token=token, key_id=key_id)
    except CommerceError as exc:
        raise fail(exc.message) from None
    except (OperationalError, ProgrammingError) as exc:
        raise fail(
            f"cannot revoke in {_safe_url(settings.database_url)}: "
            f"{str(exc.orig).strip().splitlines()[0]}"
        ) from None
    finally:
        engine.dispose()
    if not ids:
        what = f"--id {key_id}" if key_id is not None else "--token (hidden)"
        raise fail(f"no active API key matches {what}")
    typer.echo(f"revoked API key {ids[0]}")


def demo(
    db: str = typer.Option("sqlite://", "--db", help="Database URL (default: in-memory SQLite)."),
    skus: int = typer.Option(200, min=1, max=100_000, help="SKUs to import."),
    orders: int = typer.Option(100, min=0, max=100_000, help="Checkouts to attempt."),
    seed: int = typer.Option(7, help="Random seed."),
) -> None:
    """Seed a catalog and place orders through the in-process client; print a summary."""
    from api.client.inprocess import InProcessClient
    from api.clock import ManualClock
    from api.demo import run_demo

    clock = ManualClock()
    client = InProcessClient.for_url(db, clock)
    try:
        summary = run_demo(client, n_skus=skus, n_orders=orders, seed=seed, clock=clock)
    finally:
        client.close()
    for k, v in summary.items():
        typer.echo(f"{k:>24}: {v}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("serve")(serve)
    app.command("demo")(demo)
    app.add_typer(db_app, name="db")
    app.add_typer(key_app, name="apikey")
    app.add_typer(payments_app, name="payments")
