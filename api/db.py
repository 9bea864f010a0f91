"""Engines, schema creation (Alembic) and the unit of work.

Nothing here runs at import time: :func:`make_engine` builds an engine from a URL, and
:class:`UnitOfWork` opens one transaction on it, rolling back unless :meth:`UnitOfWork.commit`
was called. Services use SQLAlchemy Core statements on the connection (set-based, few round
trips); the ORM classes in :mod:`api.models` define the schema.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool, StaticPool

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(
    url: str,
    *,
    pool_size: int = 20,
    max_overflow: int = 20,
    pg_schema: str | None = None,
    pg_synchronous_commit: bool = True,
    echo: bool = False,
) -> Engine:
    """Create an engine for ``sqlite:///path`` / ``sqlite://`` (memory) or PostgreSQL (psycopg 3).

    SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` transactions, so that
    concurrent writers queue instead of failing. ``pg_schema`` sets the PostgreSQL search path
    (tests use one schema per module); ``pg_synchronous_commit=False`` trades the durability of
    the last few commits on a crash for speed (tests only).
    """
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, echo=echo, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # straight to the driver: exec_driver_sql costs ~0.15 ms of Python per transaction
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]

        return engine
    connect_args: dict[str, Any] = {}
    options = []
    if pg_schema:
        options.append(f"-csearch_path={pg_schema}")
    if not pg_synchronous_commit:
        options.append("-csynchronous_commit=off")
    if options:
        connect_args["options"] = " ".join(options)
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        connect_args=connect_args,
    )


def connection_budget_warning(url: str, workers: int, per_worker: int) -> str | None:
    """A warning if ``workers x per_worker`` connections may exceed what PostgreSQL allows.

    Reads ``max_connections``, ``superuser_reserved_connections`` and the sessions already open;
    returns ``None`` when the budget fits, for SQLite, or when the server cannot be asked.
    Over budget, requests fail with 503 ``SERVICE_UNAVAILABLE`` under load.
    """
    if not url.startswith("postgresql"):
        return None
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            max_conn = int(conn.execute(text("SHOW max_connections")).scalar_one())
            reserved = int(conn.execute(text("SHOW superuser_reserved_connections")).scalar_one())
            in_use = int(conn.execute(text("SELECT count(*) FROM pg_stat_activity")).scalar_one())
    except SQLAlchemyError as exc:
        log.debug("connection budget not checked: %s", exc)
        return None
    finally:
        engine.dispose()
    usable = max_conn - reserved - (in_use - 1)  # our own session goes away
    need = workers * per_worker
    if need < usable:
        return None
    return (
        f"{workers} worker(s) x {per_worker} connections (pool + overflow) = {need} but PostgreSQL "
        f"allows {max_conn} ({reserved} reserved, {in_use - 1} in use): lower "
        "SHOPSPHERE_DB_POOL_SIZE / SHOPSPHERE_DB_MAX_OVERFLOW or --workers, or raise "
        "max_connections"
    )


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations in ``api/migrations`` up to ``revision`` on ``engine``."""
    from alembic import command
    from alembic.config import Config

    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # start-up chatter
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    log.info(
        "schema upgraded to %s on %s", revision, engine.url.render_as_string(hide_password=True)
    )


class TxHook(Protocol):
    """Joins the first transaction opened while it is installed (see :data:`TX_HOOK`)."""

    joined: bool

    def on_begin(self, conn: Connection) -> None: ...
    def on_commit(self) -> None: ...


TX_HOOK: ContextVar[TxHook | None] = ContextVar("shopsphere_tx_hook", default=None)
"""The idempotency layer installs a hook here so that an operation's ``Idempotency-Key`` row is
written in the operation's first transaction: the key exists if and only if the effect does."""


class UnitOfWork:
    """One database transaction: ``with UnitOfWork(engine) as uow: ...; uow.commit()``.

    Leaving the block without :meth:`commit` (normally or by an exception) rolls back.
    """

    __slots__ = ("_committed", "_engine", "_hook", "_tx", "conn")

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._committed = False
        self._hook: TxHook | None = None

    def __enter__(self) -> UnitOfWork:
        self.conn = self._engine.connect()
        self._tx = self.conn.begin()
        hook = TX_HOOK.get()
        if hook is not None and not hook.joined:
            hook.joined = True
            try:
                hook.on_begin(self.conn)
            except BaseException:
                hook.joined = False
                self._tx.rollback()
                self.conn.close()
                raise
            self._hook = hook
        return self

    def commit(self) -> None:
        self._tx.commit()
        self._committed = True
        if self._hook is not None:
            self._hook.on_commit()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed and self._tx.is_active:
                self._tx.rollback()
        finally:
            if self._hook is not None and not self._committed:
                self._hook.joined = False  # rolled back with the transaction
            self.conn.close()
