"""Webhook dispatcher: delivers the outbox's order events as HMAC-signed POSTs, at least once.

Flow (each step its own short transaction; any process may die between any two):

1. **Fan out**: events not yet fanned out get one ``webhook_deliveries`` row per configured
   endpoint (``UNIQUE (event_id, endpoint)``), and are marked fanned out, in one transaction.
2. **Claim**: due ``pending`` deliveries whose lease is free are leased for ``lease_s`` seconds
   and their attempt counted, in one statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
   dispatchers in several workers or processes share the work; SQLite serialises writers).
3. **Send** with no transaction open: ``POST`` the event JSON with the signature, event id and
   attempt headers of :mod:`api.client.webhooks`.
4. **Book**: a 2xx marks the delivery ``delivered``; anything else (status, timeout, refused
   connection) schedules the next attempt after an exponential backoff with jitter
   (``base * 2**(attempt-1)`` capped at ``max_backoff_s``, the second half drawn uniformly), or,
   after ``max_attempts``, moves it to ``dead`` (the dead-letter list; :func:`redrive` puts
   dead deliveries back to ``pending``).

A dispatcher killed after step 2 leaves its deliveries leased; when the lease expires another
claim takes them again, so no event is lost, and one may arrive twice: receivers deduplicate by
the ``ShopSphere-Event-Id`` header (:class:`api.client.webhooks.DedupLedger`).

The API runs a dispatcher thread per worker when endpoints are configured
(``SHOPSPHERE_WEBHOOK_ENDPOINTS``, ``SHOPSPHERE_WEBHOOK_DISPATCH_IN_APP``);
``shopsphere webhooks dispatch`` runs one on its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np
import orjson
from sqlalchemy import Engine, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from api.client.webhooks import ATTEMPT_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER
from api.client.webhooks import sign as sign_body
from api.clock import Clock
from api.db import UnitOfWork
from api.models import T

log = logging.getLogger(__name__)
_EV, _DL = T["outbox_events"], T["webhook_deliveries"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A receiver: ``name`` (stable: deliveries are keyed by it) and its URL."""

    name: str
    url: str


def parse_endpoints(spec: str) -> tuple[Endpoint, ...]:
    """Parse ``name=url`` entries separated by commas.

    Raises:
        ValueError: naming the bad entry (no ``=``, empty or too long name, non-HTTP URL,
            duplicate name).
    """
    out: list[Endpoint] = []
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, url = entry.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not name or len(name) > 64:
            raise ValueError(f"webhook endpoint {entry!r} must be name=url (name 1-64 characters)")
        if not (url.startswith("http://") or url.startswith("https://")):
            raise ValueError(f"webhook endpoint {name!r} url {url!r} must start with http(s)://")
        if any(e.name == name for e in out):
            raise ValueError(f"webhook endpoint name {name!r} is given twice")
        out.append(Endpoint(name, url))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    """Endpoints, the signing secret and the retry schedule (seconds)."""

    endpoints: tuple[Endpoint, ...]
    secret: str
    max_attempts: int = 10
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0
    lease_s: float = 30.0
    timeout_s: float = 5.0
    batch: int = 100
    concurrency: int = 8

    @staticmethod
    def from_settings(settings: Any) -> DispatchConfig:
        return DispatchConfig(
            endpoints=parse_endpoints(str(settings.webhook_endpoints)),
            secret=str(settings.webhook_secret),
            max_attempts=int(settings.webhook_max_attempts),
            backoff_base_s=float(settings.webhook_backoff_base_seconds),
            backoff_max_s=float(settings.webhook_backoff_max_seconds),
            lease_s=float(settings.webhook_lease_seconds),
            timeout_s=float(settings.webhook_timeout_seconds),
            batch=int(settings.webhook_batch),
            concurrency=int(settings.webhook_concurrency),
        )


@dataclass(frozen=True, slots=True)
class Claimed:
    """A leased delivery with its event."""

    delivery_id: int
    event_id: int
    endpoint: str
    attempt: int
    kind: str
    order_id: int
    payload: str
    created_at: datetime


@dataclass(slots=True)
class DispatchResult:
    """What one pass did (counts of deliveries)."""

    fanned_out: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def claimed(self) -> int:
        return self.delivered + self.retried + self.dead


def event_id(n: int) -> str:
    """The public, stable event id (the dedup id) of outbox row ``n``."""
    return f"evt_{n}"


def event_body(c: Claimed) -> bytes:
    """The JSON body POSTed for a claimed delivery (the same bytes on every attempt)."""
    return orjson.dumps(
        {
            "id": event_id(c.event_id),
            "type": c.kind,
            "created_at": c.created_at.isoformat(),
            "data": orjson.Fragment(c.payload.encode()),
        }
    )


def backoff_s(attempt: int, base_s: float, cap_s: float, rng: np.random.Generator) -> float:
    """Delay after failed attempt ``attempt`` (1-based): half of ``min(cap, base*2**(a-1))``
    plus a uniform draw over the other half (so retries of many events spread out)."""
    d = min(cap_s, base_s * 2.0 ** min(attempt - 1, 60))
    return d / 2 + float(rng.uniform(0.0, d / 2))


@dataclass
class Dispatcher:
    """Fans out, claims, sends and books deliveries (see the module docstring).

    ``clock`` schedules attempts (the database's time line); ``wall_s`` stamps signatures (the
    receivers compare them with their own clocks); ``rng`` draws the jitter.
    """

    engine: Engine
    clock: Clock
    config: DispatchConfig
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    wall_s: Callable[[], float] = time.time
    http: httpx.Client | None = None
    _own_http: bool = False

    def __post_init__(self) -> None:
        if self.http is None:
            self.http = httpx.Client(timeout=self.config.timeout_s, follow_redirects=False)
            self._own_http = True
        self._urls = {e.name: e.url for e in self.config.endpoints}
        self._rng_lock = threading.Lock()

    @property
    def _pg(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        if self._own_http and self.http is not None:
            self.http.close()

    # ---- 1. fan out ---------------------------------------------------------------------
    def fan_out(self) -> int:
        """Create the deliveries of up to ``batch`` new events; returns how many events."""
        if not self.config.endpoints:
            return 0
        q = select(_EV.c.id).where(_EV.c.fanned_out.is_(False)).order_by(_EV.c.id)
        q = q.limit(self.config.batch * 4)
        if self._pg:
            q = q.with_for_update(skip_locked=True)
        now = self.clock.now()
        with UnitOfWork(self.engine) as u:
            ids = list(u.conn.scalars(q))
            if not ids:
                return 0
            u.conn.execute(
                insert(_DL),
                [
                    {
                        "event_id": i,
                        "endpoint": e.name,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                    }
                    for i in ids
                    for e in self.config.endpoints
                ],
            )
            u.conn.execute(
                update(_EV)
                .where(_EV.c.id.in_(bindparam("ids", expanding=True)))
                .values(fanned_out=True),
                {"ids": ids},
            )
            u.commit()
        return len(ids)

    # ---- 2. claim -------------------------------------------------------------------------
    def claim(self) -> list[Claimed]:
        """Lease up to ``batch`` due deliveries of configured endpoints (attempt counted)."""
        now = self.clock.now()
        due = (
            select(_DL.c.id)
            .where(
                _DL.c.status == "pending",
                _DL.c.next_attempt_at <= now,
                or_(_DL.c.lease_until.is_(None), _DL.c.lease_until < now),
                _DL.c.endpoint.in_(list(self._urls)),
            )
            .order_by(_DL.c.next_attempt_at, _DL.c.id)
            .limit(self.config.batch)
        )
        if self._pg:
            due = due.with_for_update(skip_locked=True)
        lease = now + timedelta(seconds=self.config.lease_s)
        with UnitOfWork(self.engine) as u:
            rows = u.conn.execute(
                update(_DL)
                .where(_DL.c.id.in_(due.scalar_subquery()))
                .values(lease_until=lease, attempts=_DL.c.attempts + 1)
                .returning(_DL.c.id, _DL.c.event_id, _DL.c.endpoint, _DL.c.attempts)
            ).all()
            if not rows:
                return []
            events = {
                r.id: r
                for r in u.conn.execute(
                    select(
                        _EV.c.id, _EV.c.kind, _EV.c.aggregate_id, _EV.c.payload, _EV.c.created_at
                    ).where(_EV.c.id.in_(bindparam("ids", expanding=True))),
                    {"ids": sorted({r.event_id for r in rows})},
                )
            }
            u.commit()
        out = []
        for r in sorted(rows, key=lambda r: r.event_id):
            ev = events[r.event_id]
            out.append(
                Claimed(
                    delivery_id=r.id,
                    event_id=r.event_id,
                    endpoint=r.endpoint,
                    attempt=r.attempts,
                    kind=ev.kind,
                    order_id=ev.aggregate_id,
                    payload=ev.payload,
                    created_at=ev.created_at,
                )
            )
        return out

    # ---- 3. send ----------------------------------------------------------------------------
    def send(self, c: Claimed) -> str | None:
        """POST one delivery; None when the receiver answered 2xx, else the error (short)."""
        assert self.http is not None
        body = event_body(c)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_body(self.config.secret, body, int(self.wall_s())),
            EVENT_ID_HEADER: event_id(c.event_id),
            EVENT_TYPE_HEADER: c.kind,
            ATTEMPT_HEADER: str(c.attempt),
        }
        try:
            resp = self.http.post(self._urls[c.endpoint], content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:300]
        if 200 <= resp.status_code < 300:
            return None
        return f"HTTP {resp.status_code}: {resp.text[:200]}"

    # ---- 4. book ----------------------------------------------------------------------------
    def book(self, results: Sequence[tuple[Claimed, str | None]]) -> DispatchResult:
        """Record the outcomes of a batch in one transaction."""
        out = DispatchResult()
        now = self.clock.now()
        ok_ids = [c.delivery_id for c, err in results if err is None]
        with UnitOfWork(self.engine) as u:
            if ok_ids:
                u.conn.execute(
                    update(_DL)
                    .where(
                        _DL.c.id.in_(bindparam("ids", expanding=True)), _DL.c.status == "pending"
                    )
                    .values(
                        status="delivered", delivered_at=now, lease_until=None, last_error=None
                    ),
                    {"ids": ok_ids},
                )
                out.delivered = len(ok_ids)
            for c, err in results:
                if err is None:
                    continue
                if c.attempt >= self.config.max_attempts:
                    values: dict[str, Any] = {"status": "dead", "lease_until": None}
                    out.dead += 1
                else:
                    with self._rng_lock:
                        wait = backoff_s(
                            c.attempt,
                            self.config.backoff_base_s,
                            self.config.backoff_max_s,
                            self.rng,
                        )
                    values = {"next_attempt_at": now + timedelta(seconds=wait), "lease_until": None}
                    out.retried += 1
                u.conn.execute(
                    update(_DL)
                    .where(_DL.c.id == c.delivery_id, _DL.c.status == "pending")
                    .values(last_error=err, **values)
                )
            u.commit()
        if out.dead:
            log.warning("%d webhook deliveries dead-lettered", out.dead)
        return out

    def run_once(self) -> DispatchResult:
        """One pass: fan out, claim a batch, send it (``concurrency`` at a time), book it."""
        fanned = self.fan_out()
        claimed = self.claim()
        if not claimed:
            return DispatchResult(fanned_out=fanned)
        workers = max(1, min(self.config.concurrency, len(claimed)))
        if workers == 1:
            errors = [self.send(c) for c in claimed]
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="webhook-send") as pool:
                errors = list(pool.map(self.send, claimed))
        res = self.book(list(zip(claimed, errors, strict=True)))
        res.fanned_out = fanned
        return res

    def run(self, stop: threading.Event, poll_s: float = 0.2) -> None:
        """Dispatch until ``stop`` is set; sleeps ``poll_s`` when there was nothing to do.

        Database outages are logged and retried (the API's worker keeps serving)."""
        while not stop.is_set():
            try:
                res = self.run_once()
            except (OperationalError, DBAPIError) as exc:
                log.warning("webhook dispatch pass failed (%s); retrying", type(exc).__name__)
                stop.wait(min(5.0, poll_s * 10))
                continue
            if res.claimed == 0 and res.fanned_out == 0:
                stop.wait(poll_s)


# ---- administration (staff API and CLI) -------------------------------------------------------
def status(engine: Engine) -> dict[str, Any]:
    """Counts: events, events not yet fanned out, and deliveries per endpoint and status."""
    with engine.connect() as conn:
        events = int(conn.scalar(select(func.count()).select_from(_EV)) or 0)
        unfanned = int(
            conn.scalar(select(func.count()).select_from(_EV).where(_EV.c.fanned_out.is_(False)))
            or 0
        )
        rows = conn.execute(
            select(_DL.c.endpoint, _DL.c.status, func.count()).group_by(
                _DL.c.endpoint, _DL.c.status
            )
        ).all()
        conn.rollback()
    per: dict[str, dict[str, int]] = {}
    for ep, st, n in rows:
        per.setdefault(ep, {"pending": 0, "delivered": 0, "dead": 0})[st] = int(n)
    return {"events": events, "not_fanned_out": unfanned, "endpoints": per}


def dead_letters(engine: Engine, *, limit: int = 100, after_id: int = 0) -> list[dict[str, Any]]:
    """Dead deliveries in id order after ``after_id``, with their event."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                _DL.c.id,
                _DL.c.event_id,
                _DL.c.endpoint,
                _DL.c.attempts,
                _DL.c.last_error,
                _EV.c.kind,
                _EV.c.aggregate_id,
            )
            .join(_EV, _EV.c.id == _DL.c.event_id)
            .where(_DL.c.status == "dead", _DL.c.id > after_id)
            .order_by(_DL.c.id)
            .limit(limit)
        ).all()
        conn.rollback()
    return [
        {
            "delivery_id": r.id,
            "event_id": event_id(r.event_id),
            "endpoint": r.endpoint,
            "kind": r.kind,
            "order_id": r.aggregate_id,
            "attempts": r.attempts,
            "last_error": r.last_error,
        }
        for r in rows
    ]


def redrive(
    engine: Engine, clock: Clock, *, ids: Sequence[int] | None = None, endpoint: str | None = None
) -> int:
    """Put dead deliveries (all, or the given delivery ids, or one endpoint's) back to
    ``pending``, due now, with their attempts reset. Returns how many."""
    conds = [_DL.c.status == "dead"]
    if ids is not None:
        conds.append(_DL.c.id.in_(list(ids)))
    if endpoint is not None:
        conds.append(_DL.c.endpoint == endpoint)
    with UnitOfWork(engine) as u:
        n = u.conn.execute(
            update(_DL)
            .where(and_(*conds))
            .values(status="pending", attempts=0, next_attempt_at=clock.now(), lease_until=None)
        ).rowcount
        u.commit()
    return int(n or 0)
