"""Simulated time over HTTP, for the twin in development and test deployments only.

With ``SHOPSPHERE_ACCEPT_SIM_TIME_HEADER=true`` a request may carry ``X-Simulated-Time`` (an
ISO 8601 datetime with a timezone); everything the request records (orders, carts, movements,
prices, idempotency keys) is stamped with that time instead of the server clock's, so a twin
driving the API over HTTP gets the same timestamps as in-process with its ``ManualClock``.
Production mode refuses the setting at start-up (see :class:`api.settings.Settings`), so no
request can ever move a production clock.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from datetime import datetime

from api.clock import Clock
from api.guard import ASGIApp, Receive, Scope, Send, _reply

HEADER = b"x-simulated-time"
SIM_NOW: ContextVar[datetime | None] = ContextVar("shopsphere_sim_now", default=None)


class SimTimeClock:
    """``base``'s time, unless the current request named a simulated time."""

    def __init__(self, base: Clock) -> None:
        self.base = base

    def now(self) -> datetime:
        sim = SIM_NOW.get()
        return sim if sim is not None else self.base.now()


def parse_sim_time(raw: str) -> datetime:
    """Parse the header value. Raises ValueError (no timezone, not ISO 8601)."""
    when = datetime.fromisoformat(raw.strip())
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"X-Simulated-Time {raw[:40]!r} must carry a timezone")
    return when


class SimTimeMiddleware:
    """Reads ``X-Simulated-Time`` into :data:`SIM_NOW` for the request (422 when malformed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for k, v in scope["headers"]:
                if k == HEADER:
                    text = v.decode("latin-1")
                    try:
                        when = parse_sim_time(text)
                    except ValueError:
                        body = {
                            "code": "VALIDATION_ERROR",
                            "message": "X-Simulated-Time must be an ISO 8601 datetime with a "
                            "timezone, e.g. 2026-03-01T09:00:00Z",
                            "details": {"field": "X-Simulated-Time", "value": text[:40]},
                        }
                        await _reply(send, 422, json.dumps(body, ensure_ascii=True).encode())
                        return
                    token = SIM_NOW.set(when)
                    try:
                        await self.app(scope, receive, send)
                    finally:
                        SIM_NOW.reset(token)
                    return
        await self.app(scope, receive, send)
