"""A waiting room for hot SKUs: first in, first out, fair under bots.

A customer joins the room of a hot SKU with ``POST /v1/waiting-room/{sku}`` and polls the same
call: it is idempotent, one ticket per customer and SKU (``UNIQUE (sku, customer_id)`` in the
database), so retrying or polling hard never moves anyone forward, and tickets are ordered by
their id (first come, first served). The ticket ``n`` places behind the first is admitted once

    n < burst + admit_per_s * (now - time of the room's first ticket)

so admissions flow at a fixed rate, in ticket order, across every worker process (the state is
in the database). An admitted caller gets an admission token, ``<expiry unix s>.<HMAC>`` bound to
the customer and the SKU and signed with the API key pepper; a caller still waiting gets its
``position`` (tickets ahead) and ``Retry-After``.

A waiting customer who polls again before the ``Retry-After`` they were given is answered
``429 RATE_LIMITED`` (``details.limit`` ``waiting_room_poll``) by the worker without a database
round trip (:class:`PollPacer`, per worker process), so bots polling in a tight loop cost the
server almost nothing and gain nothing.

Setting a cart line of a gated SKU (``PUT /v1/carts/{id}/lines`` with a positive quantity), or
an express checkout naming it in ``lines``, needs ``X-Admission-Token`` with a valid token of
that customer: otherwise ``403 ADMISSION_REQUIRED``. Staff and service keys are not gated.

Settings (``SHOPSPHERE_`` prefix): ``WAITING_ROOM_SKUS`` (comma-separated; empty: off),
``WAITING_ROOM_ADMIT_PER_S``, ``WAITING_ROOM_BURST``, ``WAITING_ROOM_TOKEN_TTL_SECONDS``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Path, Response
from pydantic import BaseModel
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from starlette.concurrency import run_in_threadpool

from api.db import UnitOfWork
from api.errors import ForbiddenError, NotFoundError, ServiceError
from api.models import T
from api.routes.deps import CtxDep, WhoDep

_W = T["waiting_room_tickets"]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
_CART_LINES = re.compile(r"^/v1/carts/\d+/lines$")
HEADER = "X-Admission-Token"
MAX_INSPECTED_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class WaitingRoomConfig:
    """Gated SKUs and the admission rate (per second) and burst."""

    skus: frozenset[str]
    admit_per_s: float = 1.0
    burst: int = 10
    token_ttl_s: int = 300

    @staticmethod
    def from_settings(settings: Any) -> WaitingRoomConfig:
        raw = str(getattr(settings, "waiting_room_skus", "") or "")
        return WaitingRoomConfig(
            skus=frozenset(s.strip() for s in raw.split(",") if s.strip()),
            admit_per_s=float(getattr(settings, "waiting_room_admit_per_s", 1.0)),
            burst=int(getattr(settings, "waiting_room_burst", 10)),
            token_ttl_s=int(getattr(settings, "waiting_room_token_ttl_seconds", 300)),
        )


class TicketRead(BaseModel):
    """A place in a waiting room; ``admission_token`` is set once admitted."""

    sku: str
    ticket: int
    position: int  # tickets ahead in this room
    admitted: bool
    admission_token: str | None = None
    retry_after_s: int | None = None


class AdmissionRequiredError(ServiceError):
    code_default = "ADMISSION_REQUIRED"
    status_default = 403


def _sign(pepper: str, customer: str, sku: str, exp: int) -> str:
    msg = f"{customer}|{sku}|{exp}".encode()
    return hmac.new(pepper.encode(), msg, hashlib.sha256).hexdigest()[:40]


def make_token(pepper: str, customer: str, sku: str, exp: int) -> str:
    """An admission token for ``customer`` and ``sku`` valid until ``exp`` (unix seconds)."""
    return f"{exp}.{_sign(pepper, customer, sku, exp)}"


def token_valid(pepper: str, token: str | None, customer: str, sku: str, now: float) -> bool:
    """Whether ``token`` admits ``customer`` to ``sku`` at ``now`` (unix seconds)."""
    if not token or "." not in token:
        return False
    exp_s, sig = token.split(".", 1)
    if not exp_s.isdigit() or int(exp_s) < now:
        return False
    return hmac.compare_digest(sig, _sign(pepper, customer, sku, int(exp_s)))


_MINE = select(_W.c.id).where(_W.c.sku == bindparam("sku"), _W.c.customer_id == bindparam("cust"))
_AHEAD = select(
    select(func.count())
    .select_from(_W)
    .where(_W.c.sku == bindparam("sku"), _W.c.id < bindparam("mine"))
    .scalar_subquery(),
    select(_W.c.created_at)
    .where(_W.c.sku == bindparam("sku"))
    .order_by(_W.c.id)
    .limit(1)
    .scalar_subquery(),
)


def join(ctx: Any, customer: str, sku: str, config: WaitingRoomConfig, pepper: str) -> TicketRead:
    """Take (or find) ``customer``'s ticket for ``sku`` and say whether it is admitted.

    A poll (the ticket exists) is two reads and no write; only the first call inserts."""
    now = ctx.clock.now()
    with ctx.engine.connect() as conn:
        mine = conn.execute(_MINE, {"sku": sku, "cust": customer}).scalar()
        conn.rollback()
    if mine is None:
        stmt = pg_insert(_W) if ctx.engine.dialect.name == "postgresql" else sqlite_insert(_W)
        with UnitOfWork(ctx.engine) as u:
            u.conn.execute(
                stmt.values(sku=sku, customer_id=customer, created_at=now).on_conflict_do_nothing(
                    index_elements=["sku", "customer_id"]
                )
            )
            u.commit()
    with ctx.engine.connect() as conn:
        if mine is None:
            mine = conn.execute(_MINE, {"sku": sku, "cust": customer}).scalar_one()
        ahead_raw, opened = conn.execute(_AHEAD, {"sku": sku, "mine": mine}).one()
        conn.rollback()
    ahead = int(ahead_raw or 0)
    elapsed = max(0.0, (now - opened).total_seconds()) if opened is not None else 0.0
    capacity = config.burst + config.admit_per_s * elapsed
    if ahead < capacity:
        exp = int(now.timestamp()) + config.token_ttl_s
        token = make_token(pepper, customer, sku, exp)
        return TicketRead(
            sku=sku, ticket=mine, position=ahead, admitted=True, admission_token=token
        )
    wait = max(1, math.ceil((ahead + 1 - capacity) / config.admit_per_s))
    return TicketRead(sku=sku, ticket=mine, position=ahead, admitted=False, retry_after_s=wait)


class PollPacer:
    """Per worker: a waiting customer who polls again sooner than the ``Retry-After`` they were
    given is answered 429 without touching the database (polling harder never moves anyone
    forward; it only costs the server). Bounded memory: expired entries are dropped once more
    than ``max_entries`` exist."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = 200_000):
        self.clock = clock
        self.max_entries = max_entries
        self._next: dict[tuple[str, str], float] = {}

    def wait_s(self, customer: str, sku: str) -> float:
        """Seconds until this customer may poll ``sku`` again (0: now)."""
        due = self._next.get((customer, sku))
        return 0.0 if due is None else max(0.0, due - self.clock())

    def told(self, customer: str, sku: str, retry_after_s: int | None) -> None:
        """Remember the Retry-After just answered (None: admitted, no pacing)."""
        key = (customer, sku)
        if retry_after_s is None:
            self._next.pop(key, None)
            return
        now = self.clock()
        self._next[key] = now + max(0.0, retry_after_s - POLL_SLACK_S)
        if len(self._next) > self.max_entries:
            for k in [k for k, t in self._next.items() if t <= now]:
                del self._next[k]


POLL_SLACK_S = 0.5
"""A poll this much earlier than its Retry-After is still served (clock and network jitter)."""


def _router(config: WaitingRoomConfig, pepper: str) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["waiting room"])
    pacer = PollPacer()

    @router.post("/waiting-room/{sku}", response_model=TicketRead)
    def join_room(
        ctx: CtxDep, who: WhoDep, sku: str = Path(min_length=1, max_length=64)
    ) -> Response:
        """Join (or poll) the waiting room of a hot SKU; customer keys only."""
        if sku not in config.skus:
            raise NotFoundError(f"no waiting room for sku {sku!r}", details={"sku": sku})
        if who.role != "customer" or not who.customer_id:
            raise ForbiddenError("only customer keys queue in a waiting room")
        early = pacer.wait_s(who.customer_id, sku)
        if early > 0:
            wait = max(1, math.ceil(early))
            return Response(
                orjson.dumps(
                    {
                        "code": "RATE_LIMITED",
                        "message": f"polled before Retry-After; poll again in {wait} s",
                        "details": {"limit": "waiting_room_poll", "retry_after_s": wait},
                    }
                ),
                status_code=429,
                media_type="application/json",
                headers={"Retry-After": str(wait)},
            )
        t = join(ctx, who.customer_id, sku, config, pepper)
        pacer.told(who.customer_id, sku, t.retry_after_s)
        headers = {"Retry-After": str(t.retry_after_s)} if t.retry_after_s else None
        return Response(t.model_dump_json(), media_type="application/json", headers=headers)

    return router


class AdmissionMiddleware:
    """Refuses cart lines (and express-checkout lines) of gated SKUs without a valid token."""

    def __init__(self, app: ASGIApp, config: WaitingRoomConfig, pepper: str) -> None:
        self.app = app
        self.config = config
        self.pepper = pepper

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope.get("path", ""), scope.get("method", "")
        gated = scope["type"] == "http" and (
            (method == "PUT" and _CART_LINES.match(path))
            or (method == "POST" and path == "/v1/checkout")
        )
        if not gated:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        size = 0
        while more and size <= MAX_INSPECTED_BYTES:
            msg = await receive()
            chunks.append(msg.get("body", b""))
            size += len(chunks[-1])
            more = bool(msg.get("more_body"))
        body = b"".join(chunks)
        if more:  # a cart line is tiny; padding must not smuggle a gated SKU past the check
            await self._reply(
                send,
                413,
                "PAYLOAD_TOO_LARGE",
                f"a cart line or checkout body is at most {MAX_INSPECTED_BYTES} bytes",
                {"limit_bytes": MAX_INSPECTED_BYTES},
            )
            return
        skus = self._gated_skus(body)
        if skus:
            denied = await self._denied(scope, skus)
            if denied is not None:
                await self._refuse(send, denied)
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": more}
            return await receive()

        await self.app(scope, replay, send)

    def _gated_skus(self, body: bytes) -> list[str]:
        try:
            d = orjson.loads(body)
        except orjson.JSONDecodeError:
            return []  # the route answers the bad body
        if not isinstance(d, dict):
            return []
        raw = d.get("lines")
        lines = raw if isinstance(raw, list) else [d]
        out = []
        for ln in lines:
            if isinstance(ln, dict) and ln.get("sku") in self.config.skus:
                q = ln.get("quantity", 1)
                if not isinstance(q, int) or q > 0:
                    out.append(str(ln["sku"]))
        return out

    async def _denied(self, scope: Scope, skus: list[str]) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        token = headers.get("x-api-key")
        auth_h = headers.get("authorization", "")
        if token is None and auth_h.lower().startswith("bearer "):
            token = auth_h[7:].strip()
        auth = scope["app"].state.auth
        who = auth.cached(token)
        if who is None:
            try:
                who = await run_in_threadpool(auth.authenticate, token)
            except ServiceError:
                return None  # the route answers 401
        if who.role != "customer" or not who.customer_id:
            return None
        now = scope["app"].state.ctx.clock.now().timestamp()
        admission = headers.get(HEADER.lower())
        for sku in skus:
            if not token_valid(self.pepper, admission, who.customer_id, sku, now):
                return sku
        return None

    @classmethod
    async def _refuse(cls, send: Send, sku: str) -> None:
        err = AdmissionRequiredError(
            f"sku {sku!r} is in a waiting room: join POST /v1/waiting-room/{sku} and send the "
            f"admission token as {HEADER}",
            details={"sku": sku},
        )
        await cls._reply(send, err.status, err.code, err.message, err.details)

    @staticmethod
    async def _reply(send: Send, status: int, code: str, message: str, details: object) -> None:
        body = orjson.dumps({"code": code, "message": message, "details": details})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def install(app: Any, settings: Any) -> None:
    """Mount the waiting room (route and admission check) when ``settings`` gate any SKU."""
    config = WaitingRoomConfig.from_settings(settings)
    if not config.skus:
        return
    if config.admit_per_s <= 0 or config.burst < 0:
        raise ValueError(
            f"waiting room admit_per_s {config.admit_per_s!r} / burst {config.burst!r} admit nobody"
        )
    pepper = str(settings.api_key_pepper)
    app.include_router(_router(config, pepper))
    app.add_middleware(AdmissionMiddleware, config=config, pepper=pepper)
