"""In-process :class:`~api.client.base.CommerceClient`: calls the service layer directly.

No HTTP, no serialisation: the twin uses this at tens of thousands of calls per simulated day.
It runs on the injected clock (usually a :class:`~api.clock.ManualClock`) and as one principal;
:meth:`InProcessClient.as_principal` gives a client for another caller on the same database.
Each call runs the service function the operation table names
(:mod:`api.client.operations`), honouring ``Idempotency-Key`` as the HTTP routes do. A
database that is unreachable or overloaded (connection refused, pool timeout, lock timeout)
raises ``ServiceUnavailableError`` (503, ``retry_after_s``), as the HTTP door answers.

Example::

    clock = ManualClock()
    client = InProcessClient.for_sqlite(":memory:", clock)   # service role, schema migrated
    shopper = client.as_principal("customer", customer_id="c-1")
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from api.client.base import OperationClient
from api.client.operations import Operation, adapter
from api.clock import Clock, SystemClock
from api.db import make_engine, upgrade_schema
from api.errors import ServiceUnavailableError
from api.payments import PaymentGateway, SimulatedGateway
from api.services.context import Principal, ServiceContext
from api.services.idempotency import run_idempotent

R = TypeVar("R")

UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
)
"""Database failures meaning "unavailable or overloaded, retry later" (as ``api.app`` maps)."""
RETRY_AFTER_S = 1.0


def make_context(
    url: str,
    clock: Clock | None = None,
    *,
    gateway: PaymentGateway | None = None,
    reservation_ttl_seconds: float = 900,
    unpaid_order_ttl_seconds: float = 1800,
    migrate: bool = True,
    pool_size: int = 20,
    pg_schema: str | None = None,
) -> ServiceContext:
    """Engine + clock + gateway for ``url``; runs the migrations first when ``migrate``."""
    engine = make_engine(url, pool_size=pool_size, pg_schema=pg_schema)
    if migrate:
        upgrade_schema(engine)
    return ServiceContext(
        engine=engine,
        clock=clock or SystemClock(),
        gateway=gateway or SimulatedGateway(),
        reservation_ttl=timedelta(seconds=reservation_ttl_seconds),
        unpaid_order_ttl=timedelta(seconds=unpaid_order_ttl_seconds),
    )


class InProcessClient(OperationClient):
    """CommerceClient over the service layer for one principal."""

    def __init__(self, ctx: ServiceContext, principal: Principal) -> None:
        self.ctx = ctx
        self.principal = principal

    # ---- construction ----------------------------------------------------------------
    @classmethod
    def for_sqlite(
        cls,
        path: str | Path = ":memory:",
        clock: Clock | None = None,
        *,
        role: str = "service",
        customer_id: str | None = None,
        gateway: PaymentGateway | None = None,
        reservation_ttl_seconds: float = 900,
        unpaid_order_ttl_seconds: float = 1800,
    ) -> InProcessClient:
        """A client on an embedded SQLite database (``":memory:"`` or a file path), migrated."""
        url = "sqlite://" if str(path) == ":memory:" else f"sqlite:///{Path(path)}"
        return cls.for_url(
            url,
            clock,
            role=role,
            customer_id=customer_id,
            gateway=gateway,
            reservation_ttl_seconds=reservation_ttl_seconds,
            unpaid_order_ttl_seconds=unpaid_order_ttl_seconds,
        )

    @classmethod
    def for_url(
        cls,
        url: str,
        clock: Clock | None = None,
        *,
        role: str = "service",
        customer_id: str | None = None,
        gateway: PaymentGateway | None = None,
        reservation_ttl_seconds: float = 900,
        unpaid_order_ttl_seconds: float = 1800,
        migrate: bool = True,
    ) -> InProcessClient:
        """A client on any supported database URL (SQLite or ``postgresql+psycopg://``)."""
        ctx = make_context(
            url,
            clock,
            gateway=gateway,
            reservation_ttl_seconds=reservation_ttl_seconds,
            unpaid_order_ttl_seconds=unpaid_order_ttl_seconds,
            migrate=migrate,
        )
        return cls(ctx, Principal(role=role, customer_id=customer_id))

    def as_principal(self, role: str, customer_id: str | None = None) -> InProcessClient:
        """Same database and clock, another caller (e.g. a customer)."""
        return InProcessClient(self.ctx, Principal(role=role, customer_id=customer_id))

    def close(self) -> None:
        self.ctx.engine.dispose()

    # ---- the one door ------------------------------------------------------------------
    def _invoke(self, op: Operation[R], args: Mapping[str, Any], key: str | None) -> R:
        ctx, who = self.ctx, self.principal
        fn = op.function()
        pos, kw = op.split(args)
        try:
            if op.idempotency == "service":  # the service honours the key itself
                out: R = fn(ctx, who, *pos, key, **kw)
                return out
            if key is None or op.idempotency == "none":
                out = fn(ctx, who, *pos, **kw)
                return out
            stored: TypeAdapter[R] = adapter(op.response)
            return run_idempotent(
                ctx,
                who,
                key,
                op.scope_for(args),
                op.request_body(args),
                stored,
                lambda: fn(ctx, who, *pos, **kw),
            )
        except UNAVAILABLE as exc:
            raise unavailable(exc) from exc


def unavailable(exc: BaseException) -> ServiceUnavailableError:
    """The typed, retryable error for a database failure ``exc`` (see :data:`UNAVAILABLE`)."""
    err = ServiceUnavailableError(
        "the database is unavailable or overloaded; retry shortly",
        details={"retry_after_s": RETRY_AFTER_S, "cause": type(exc).__name__},
    )
    err.retry_after_s = RETRY_AFTER_S
    return err
