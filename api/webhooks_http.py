"""The webhooks' HTTP side: staff routes over the outbox and the in-app dispatcher thread.

* ``GET /v1/webhooks/status``: events, events not fanned out yet, deliveries per endpoint and
  status (``pending``, ``delivered``, ``dead``);
* ``GET /v1/webhooks/dead-letters?after_id=&limit=``: dead deliveries with their event;
* ``POST /v1/webhooks/dead-letters/redrive`` (``{"ids": [...]}`` or ``{"endpoint": name}`` or
  ``{}`` for all): back to ``pending``, due now, attempts reset.

All staff/service only. :func:`start_dispatcher` runs :class:`api.webhooks.Dispatcher` in a
daemon thread of the worker when endpoints are configured.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.routes.deps import CtxDep, WhoDep
from api.schemas import Strict
from api.services.context import ServiceContext, require_staff
from api.webhooks import DispatchConfig, Dispatcher, dead_letters, redrive, status


class DeliveryCounts(BaseModel):
    pending: int = 0
    delivered: int = 0
    dead: int = 0


class WebhookStatus(BaseModel):
    """Outbox and delivery counts."""

    events: int
    not_fanned_out: int
    endpoints: dict[str, DeliveryCounts]


class DeadLetter(BaseModel):
    delivery_id: int
    event_id: str
    endpoint: str
    kind: str
    order_id: int
    attempts: int
    last_error: str | None


class RedriveRequest(Strict):
    """Which dead deliveries to retry: ``ids``, one ``endpoint``'s, or (neither) all."""

    ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(default=None, max_length=10_000)
    endpoint: str | None = Field(default=None, min_length=1, max_length=64)


class RedriveResult(BaseModel):
    redriven: int


router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.get("/status", response_model=WebhookStatus)
def get_status(ctx: CtxDep, who: WhoDep) -> WebhookStatus:
    """Outbox and delivery counts (staff)."""
    require_staff(who, "reading webhook status")
    return WebhookStatus.model_validate(status(ctx.engine))


@router.get("/dead-letters", response_model=list[DeadLetter])
def get_dead_letters(
    ctx: CtxDep,
    who: WhoDep,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeadLetter]:
    """Dead-lettered deliveries in id order (staff); page with ``after_id``."""
    require_staff(who, "reading dead letters")
    return [
        DeadLetter.model_validate(d)
        for d in dead_letters(ctx.engine, limit=limit, after_id=after_id)
    ]


@router.post("/dead-letters/redrive", response_model=RedriveResult)
def post_redrive(body: RedriveRequest, ctx: CtxDep, who: WhoDep) -> RedriveResult:
    """Retry dead deliveries (staff); idempotent by nature (only dead ones move)."""
    require_staff(who, "redriving dead letters")
    return RedriveResult(
        redriven=redrive(ctx.engine, ctx.clock, ids=body.ids, endpoint=body.endpoint)
    )


def start_dispatcher(
    ctx: ServiceContext, settings: Any
) -> tuple[threading.Thread, threading.Event, Dispatcher] | None:
    """Start a dispatcher thread when endpoints are configured and in-app dispatch is on."""
    config = DispatchConfig.from_settings(settings)
    if not config.endpoints or not settings.webhook_dispatch_in_app:
        return None
    dispatcher = Dispatcher(ctx.engine, ctx.clock, config)
    stop = threading.Event()
    thread = threading.Thread(
        target=dispatcher.run,
        args=(stop, float(settings.webhook_poll_seconds)),
        name="shopsphere-webhooks",
        daemon=True,
    )
    thread.start()
    return thread, stop, dispatcher


def stop_dispatcher(running: tuple[threading.Thread, threading.Event, Dispatcher] | None) -> None:
    if running is None:
        return
    thread, stop, dispatcher = running
    stop.set()
    thread.join(timeout=10)
    dispatcher.close()
