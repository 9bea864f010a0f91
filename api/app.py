"""The FastAPI application factory.

``create_app(settings, clock=None)`` builds an app on its own engine; nothing is created at
import time. Every error a caller can cause leaves through :func:`_service_error` /
:func:`_validation_error` as a typed :class:`api.schemas.ErrorBody` (4xx), never a 500.

In production mode the clock is always :class:`api.clock.SystemClock`; passing another clock
raises. A background sweeper (``sweep_interval_seconds``) expires reservations and unpaid
orders on that clock.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import (
    DataError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import ratelimit, waiting_room, webhooks_http
from api.clock import Clock, SystemClock
from api.db import make_engine, upgrade_schema
from api.errors import ServiceError, ServiceUnavailableError
from api.guard import RequestGuard
from api.openapi import install_openapi
from api.payments import PaymentGateway, SimulatedGateway
from api.routes import (
    batch,
    catalog,
    fulfilment,
    orders,
    policies,
    promotions,
    purchase_limits,
    recommendations,
    shelf,
    stock,
    visual,
)
from api.schemas import ErrorBody
from api.services import carts as cart_svc
from api.services import checkout as checkout_svc
from api.services import orders as order_svc
from api.services.auth import Authenticator, ensure_keys
from api.services.context import Principal, ServiceContext
from api.settings import Settings
from api.simtime import SimTimeClock, SimTimeMiddleware

log = logging.getLogger(__name__)
_SWEEPER = Principal(role="service", customer_id=None, key_id=0)


def _body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return ErrorBody(code=code, message=message, details=details).model_dump()


def printable(value: str, limit: int = 100) -> str:
    """``value`` cut to ``limit`` characters with NUL and lone surrogates escaped, so that an
    error can always echo what it refuses."""
    v = value[:limit]
    if "\x00" in v:
        v = v.replace("\x00", "\\x00")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        v = v.encode("utf-8", "backslashreplace").decode("utf-8")
    return v


def _clean_errors(errors: Any) -> list[object]:
    out: list[object] = []
    for e in list(errors)[:50]:
        if isinstance(e, dict):
            item: dict[str, object] = {
                "loc": [printable(str(p)) for p in e.get("loc", ())],
                "msg": printable(str(e.get("msg", "")), 300),
                "type": str(e.get("type", "")),
            }
            value = e.get("input")
            # echo the bad value only when it is a scalar (never a whole body), kept short
            if (
                isinstance(value, str | int | bool)
                or (isinstance(value, float) and math.isfinite(value))
            ) and e.get("type") != "json_invalid":
                if isinstance(value, str):
                    item["value"] = printable(value)
                elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
                    item["value"] = printable(str(value), 40)
                else:
                    item["value"] = value
            out.append(item)
    return out


class SafeJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: rendering never fails, whatever a caller sent."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":"), default=str).encode()


RETRY_AFTER_S = 1
"""``Retry-After`` (seconds) sent with every 503."""
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
)
"""Database failures that mean "unavailable or overloaded, retry later", not a bug: pool
timeout, connection slots exhausted, server gone, lock or statement timeout."""


async def _service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.status == 503 else None
    return SafeJSONResponse(
        _body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers
    )


async def _unavailable_error(request: Request, exc: Exception) -> JSONResponse:
    """Database unavailable/overloaded -> typed, retryable 503 (never an untyped 500)."""
    log.warning(
        "database unavailable on %s %s: %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        str(exc).splitlines()[0] if str(exc) else "",
    )
    err = ServiceUnavailableError(
        "the database is unavailable or overloaded; retry shortly",
        details={"retry_after_s": RETRY_AFTER_S, "cause": type(exc).__name__},
    )
    return await _service_error(request, err)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _clean_errors(exc.errors())
    first = details[0] if details else {}
    where = ".".join(first.get("loc", [])) if isinstance(first, dict) else ""
    msg = first.get("msg", "invalid request") if isinstance(first, dict) else "invalid request"
    if isinstance(first, dict) and "value" in first:
        msg = f"{first['value']!r}: {msg}"
    return SafeJSONResponse(
        _body("VALIDATION_ERROR", f"{where}: {msg}" if where else str(msg), details),
        status_code=422,
    )


async def _model_error(request: Request, exc: Exception) -> JSONResponse:
    """A schema refused a value built inside a use case (e.g. a batch item turned into a single
    request): the caller's input, answered like any validation error."""
    assert isinstance(exc, ValidationError)
    return await _validation_error(
        request, RequestValidationError(exc.errors(include_url=False, include_context=False))
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 401: "UNAUTHENTICATED"}.get(
        exc.status_code, "HTTP_ERROR"
    )
    return SafeJSONResponse(
        _body(code, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    # SQLite cannot bind an integer beyond 64 bits: the caller's input, not our failure
    log.info("overflow mapped to 422: %s", exc)
    return SafeJSONResponse(
        _body("VALIDATION_ERROR", "a value is out of the accepted range"), status_code=422
    )


async def _db_data_error(request: Request, exc: Exception) -> JSONResponse:
    """The database refused a value (too long for its column, out of range): the caller's
    input, answered 422. Schemas bound every field, so this is a second line of defence."""
    log.warning(
        "database refused a value on %s %s: %s",
        request.method,
        request.url.path,
        str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else "",
    )
    return SafeJSONResponse(
        _body("VALIDATION_ERROR", "a value does not fit its field (too long or out of range)"),
        status_code=422,
    )


def build_env(
    settings: Settings,
    clock: Clock | None = None,
    gateway: PaymentGateway | None = None,
    *,
    pg_schema: str | None = None,
) -> ServiceContext:
    """Engine and services environment for ``settings`` (used by the app and the CLI)."""
    if settings.mode == "production" and clock is not None and not isinstance(clock, SystemClock):
        raise ValueError("production mode always uses the system clock; do not pass a clock")
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pg_schema=pg_schema,
    )
    return ServiceContext(
        engine=engine,
        clock=SystemClock() if settings.mode == "production" else (clock or SystemClock()),
        gateway=gateway
        or SimulatedGateway(
            latency_s=settings.payment_latency_ms / 1000, path=settings.sim_gateway_path
        ),
        reservation_ttl=timedelta(seconds=settings.reservation_ttl_seconds),
        unpaid_order_ttl=timedelta(seconds=settings.unpaid_order_ttl_seconds),
        idempotency_wait_s=settings.idempotency_wait_seconds,
        idempotency_lease_s=settings.idempotency_lease_seconds,
        payment_grace=timedelta(seconds=settings.payment_grace_seconds),
    )


def _sweep_loop(ctx: ServiceContext, interval_s: float, stop: threading.Event) -> None:
    while not stop.wait(interval_s):
        try:
            n = cart_svc.expire_reservations(ctx, _SWEEPER)
            r = checkout_svc.reconcile_payments(ctx, _SWEEPER)
            m = order_svc.expire_unpaid_orders(ctx, _SWEEPER)
            if n or m or r.total:
                log.info(
                    "sweeper expired %d carts and %d unpaid orders; reconciled %d payments",
                    n,
                    m,
                    r.total,
                )
        except (OperationalError, ProgrammingError, DataError, InterfaceError):
            log.exception("sweeper pass failed; will retry")


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    *,
    gateway: PaymentGateway | None = None,
    ctx: ServiceContext | None = None,
) -> FastAPI:
    """Build the commerce API.

    Args:
        settings: configuration (default: read from ``SHOPSPHERE_*`` environment variables).
        clock: development/test clock (e.g. ManualClock); refused in production mode.
        gateway: payment gateway (default: SimulatedGateway with ``payment_latency_ms``).
        ctx: a ready environment (tests share one with an in-process client).

    Raises:
        ValueError: a non-system clock in production mode.
    """
    settings = settings or Settings()
    ctx = ctx or build_env(settings, clock, gateway)
    if settings.mode == "production" and not isinstance(ctx.clock, SystemClock):
        raise ValueError("production mode always uses the system clock")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # sync routes run in anyio's thread pool (40 threads by default); one thread per pooled
        # connection keeps requests in flight <= pool size, so no overflow connection churn
        to_thread.current_default_thread_limiter().total_tokens = (
            settings.threadpool_size or settings.db_pool_size
        )
        if settings.auto_create_schema:
            upgrade_schema(ctx.engine)
        added = ensure_keys(ctx.engine, ctx.clock, settings.api_key_pepper, settings.bootstrap_keys)
        if added:
            log.info("stored %d bootstrap API key(s)", added)
        stop = threading.Event()
        sweeper = None
        if settings.sweep_interval_seconds > 0:
            sweeper = threading.Thread(
                target=_sweep_loop,
                args=(ctx, settings.sweep_interval_seconds, stop),
                name="shopsphere-sweeper",
                daemon=True,
            )
            sweeper.start()
        dispatcher = webhooks_http.start_dispatcher(ctx, settings)  # outbox -> webhooks
        try:
            yield
        finally:
            stop.set()
            webhooks_http.stop_dispatcher(dispatcher)
            if sweeper is not None:
                sweeper.join(timeout=5)

    app = FastAPI(
        title="ShopSphere commerce API",
        version="1.0.0",
        description="Catalog, stock ledger, carts, checkout, orders, payments and prices. "
        "Authenticate with `X-API-Key: <token>`; unsafe POSTs honour `Idempotency-Key`.",
        lifespan=lifespan,
    )
    app.openapi_version = "3.1.0"
    app.state.ctx = ctx
    app.state.settings = settings
    # development/test only (Settings refuses it in production)
    if settings.accept_sim_time_header and not isinstance(ctx.clock, SimTimeClock):
        ctx.clock = SimTimeClock(ctx.clock)
    app.state.auth = Authenticator(ctx.engine, settings.api_key_pepper)
    app.add_middleware(
        RequestGuard,
        auth=app.state.auth,
        max_body_bytes=settings.max_body_bytes,
        max_bulk_body_bytes=settings.max_bulk_body_bytes,
        max_json_depth=settings.max_json_depth,
    )
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ValidationError, _model_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OverflowError, _data_error)
    app.add_exception_handler(DataError, _db_data_error)
    for exc_type in UNAVAILABLE_ERRORS:
        app.add_exception_handler(exc_type, _unavailable_error)

    @app.get("/v1/health", tags=["admin"])
    def health() -> dict[str, str]:
        return {"status": "ok", "mode": settings.mode}

    app.include_router(catalog.router)
    app.include_router(stock.router)
    app.include_router(shelf.router)
    app.include_router(orders.router)
    app.include_router(batch.router)
    app.include_router(fulfilment.router)
    app.include_router(webhooks_http.router)
    app.include_router(purchase_limits.router)
    app.include_router(promotions.router)
    app.include_router(recommendations.router)
    app.include_router(visual.router)
    policies.install(app, settings)  # builds the configured policies; refuses bad ones
    waiting_room.install(app, settings)  # hot-SKU admission when configured
    ratelimit.install(app, settings)  # per-key and per-address limits when configured
    install_openapi(app)
    if settings.accept_sim_time_header:
        app.add_middleware(SimTimeMiddleware)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory api.app:create_app_from_env`` (reads SHOPSPHERE_*)."""
    return create_app(Settings())
