"""``Idempotency-Key`` handling shared by every unsafe operation.

The key row is written in the operation's *first* transaction, under a unique constraint on
(principal, key): it commits with the operation's effect or rolls back with it, so "the key
exists" means "the effect happened". Whoever inserts it runs the operation and stores the
outcome (result or typed 4xx error); a concurrent or later duplicate finds the row and either
replays the stored outcome (same request hash), waits briefly for it (still in progress), or is
refused with ``IDEMPOTENCY_MISMATCH`` (another request body). A second effect is impossible.

Leases. An in-progress key belongs to its request until ``lease_until``. A request that died
(``kill -9``, power loss) leaves its key in progress; once the lease has expired a retry takes
the key over (one conditional UPDATE, so only one retry wins) and either *completes the work*
(operations that can resume, such as checkout, whose order id is stored on the key) or, for an
operation whose effect committed but whose answer was lost, stores and returns a typed
``IDEMPOTENCY_OUTCOME_LOST`` (409) naming the key, so that no key is ever stuck.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from api.db import TX_HOOK
from api.errors import (
    ConflictError,
    IdempotencyInProgressError,
    IdempotencyMismatchError,
    InvalidInputError,
    ServiceError,
    error_from_stored,
)
from api.models import T
from api.services.context import Principal, ServiceContext

R = TypeVar("R")
log = logging.getLogger(__name__)
_IK = T["idempotency_keys"]
_IK_INS = insert(_IK)
_IK_DONE = (
    update(_IK)
    .where(_IK.c.principal == bindparam("who"), _IK.c.key == bindparam("k"))
    .values(completed=True, status_code=bindparam("status"), response=bindparam("resp"))
)
_IK_RESOURCE = (
    update(_IK)
    .where(_IK.c.principal == bindparam("who"), _IK.c.key == bindparam("k"))
    .values(resource_id=bindparam("rid"))
)
_IK_GET = select(
    _IK.c.request_hash,
    _IK.c.completed,
    _IK.c.status_code,
    _IK.c.response,
    _IK.c.lease_until,
    _IK.c.resource_id,
).where(_IK.c.principal == bindparam("who"), _IK.c.key == bindparam("k"))
_IK_TAKE = (
    update(_IK)
    .where(
        _IK.c.principal == bindparam("who"),
        _IK.c.key == bindparam("k"),
        _IK.c.completed.is_(False),
        or_(_IK.c.lease_until.is_(None), _IK.c.lease_until <= bindparam("now")),
    )
    .values(lease_until=bindparam("lease"))
)


DEFAULT_LEASE = timedelta(seconds=30)
"""Lease of a claim made without one (callers that predate leases)."""


class OutcomeLostError(ConflictError):
    """The operation under this key took effect, but the request died before its answer was
    stored; the effect is kept (never repeated)."""

    code_default = "IDEMPOTENCY_OUTCOME_LOST"


def request_hash(scope: str, body: Any) -> str:
    """SHA-256 of the operation scope and a canonical JSON rendering of the request body."""
    if isinstance(body, BaseModel):
        payload = body.model_dump_json()
    else:
        payload = json.dumps(_plain(body), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{scope}\n{payload}".encode()).hexdigest()


def _plain(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, list | tuple):
        return [_plain(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


class KeyTakenError(Exception):
    """Internal: the Idempotency-Key row already exists (another attempt claimed it)."""


class Claim:
    """An Idempotency-Key claimed inside the operation's own transactions.

    The operation's first transaction inserts the key row (explicitly with :meth:`insert`, or
    through the :data:`api.db.TX_HOOK` hook); ``held`` turns true once it committed.
    :meth:`complete` stores the final result in the transaction that produces it (the caller
    sets ``done`` after the commit). ``resource_id`` is the order a checkout placed; a retry that
    took the key over after its lease (``taken_over``) finds it there.
    """

    __slots__ = (
        "digest",
        "done",
        "held",
        "joined",
        "key",
        "lease_until",
        "now",
        "resource_id",
        "taken_over",
        "who",
    )

    def __init__(
        self, who: str, key: str, digest: str, now: datetime, lease: timedelta = DEFAULT_LEASE
    ) -> None:
        self.who, self.key, self.digest, self.now = who, key, digest, now
        self.lease_until = now + lease
        self.held = False  # the key row is committed (in progress)
        self.done = False  # the outcome is committed
        self.joined = False  # the hook wrote the key row in an open transaction
        self.resource_id: int | None = None
        self.taken_over = False

    def insert(self, conn: Connection) -> None:
        """Insert the in-progress key row in ``conn``'s transaction; call it first, since a
        failure aborts the transaction (PostgreSQL). Raises KeyTakenError."""
        try:
            conn.execute(
                _IK_INS,
                {
                    "principal": self.who,
                    "key": self.key,
                    "request_hash": self.digest,
                    "completed": False,
                    "created_at": self.now,
                    "lease_until": self.lease_until,
                },
            )
        except IntegrityError as exc:
            raise KeyTakenError(self.key) from exc

    def set_resource(self, conn: Connection, resource_id: int) -> None:
        """Record the resource (order id) this key produced, in ``conn``'s transaction."""
        self.resource_id = resource_id
        conn.execute(_IK_RESOURCE, {"who": self.who, "k": self.key, "rid": resource_id})

    def complete(self, conn: Connection, response: str, status: int = 200) -> None:
        """Store the successful outcome in ``conn``'s transaction (caller sets ``done`` after
        the commit)."""
        conn.execute(_IK_DONE, {"who": self.who, "k": self.key, "status": status, "resp": response})

    # TxHook protocol (api.db.UnitOfWork)
    def on_begin(self, conn: Connection) -> None:
        self.insert(conn)

    def on_commit(self) -> None:
        self.held = True


def _check_key(key: str) -> None:
    if not key or len(key) > 200:
        raise InvalidInputError(
            "Idempotency-Key must be 1..200 characters",
            details={"field": "Idempotency-Key", "value": key[:40]},
        )


def run_idempotent(
    ctx: ServiceContext,
    who: Principal,
    key: str | None,
    scope: str,
    body: Any,
    adapter: TypeAdapter[R],
    fn: Callable[[], R],
) -> R:
    """Run ``fn`` at most once per (caller, key); replay its stored outcome on retries.

    The key row joins ``fn``'s first transaction (see :data:`api.db.TX_HOOK`).

    Raises:
        IdempotencyMismatchError: (422) the key was used with another request body or operation.
        IdempotencyInProgressError: (409) the first request with this key is still running after
            ``ctx.idempotency_wait_s`` seconds, within its lease.
        OutcomeLostError: (409) the first request took effect and died before storing its answer.
        ServiceError: whatever ``fn`` raised (stored and replayed for 4xx outcomes).
    """
    if key is None:
        return fn()
    _check_key(key)
    with ctx.engine.connect() as conn:  # an indexed lookup: replay without running anything
        seen = conn.execute(_IK_GET, {"who": who.ident, "k": key}).first()
        conn.rollback()
    if seen is not None:
        lease = timedelta(seconds=ctx.idempotency_lease_s)
        claim = Claim(who.ident, key, request_hash(scope, body), ctx.clock.now(), lease)
        return _after_taken(ctx, claim, adapter, None)

    def hooked(claim: Claim | None) -> R:
        token = TX_HOOK.set(claim)
        try:
            return fn()
        finally:
            TX_HOOK.reset(token)

    return run_idempotent_tx(ctx, who, key, scope, body, adapter, hooked)


def run_idempotent_tx(
    ctx: ServiceContext,
    who: Principal,
    key: str | None,
    scope: str,
    body: Any,
    adapter: TypeAdapter[R],
    fn: Callable[[Claim | None], R],
    resume: Callable[[Claim], R] | None = None,
) -> R:
    """Like :func:`run_idempotent`, but ``fn`` writes the key row and the stored result in its
    own transactions (see :class:`Claim`). ``resume(claim)`` completes the work of a request that
    died holding the key (called once its lease expired, with ``claim.resource_id`` as stored);
    without it such a key answers :class:`OutcomeLostError`."""
    if key is None:
        return fn(None)
    _check_key(key)
    lease = timedelta(seconds=ctx.idempotency_lease_s)
    claim = Claim(who.ident, key, request_hash(scope, body), ctx.clock.now(), lease)
    try:
        return _run(ctx, claim, adapter, fn)
    except KeyTakenError:
        pass
    return _after_taken(ctx, claim, adapter, resume)


def _after_taken(
    ctx: ServiceContext,
    claim: Claim,
    adapter: TypeAdapter[R],
    resume: Callable[[Claim], R] | None,
) -> R:
    """The key exists: replay, wait, or take it over and resume (or report the lost outcome)."""
    key = claim.key
    taken = _replay(ctx, claim, adapter)
    if isinstance(taken, _Stored):
        return taken.value  # type: ignore[return-value]
    # we took over a dead request's key: its effect is committed, its answer is not
    claim.held, claim.taken_over, claim.resource_id = True, True, taken
    if resume is None or claim.resource_id is None:

        def lost(_: Claim | None) -> R:
            raise OutcomeLostError(
                f"the request with Idempotency-Key {key!r} took effect but its answer was lost "
                "in a crash; the effect is kept and will not be repeated",
                details={"key": key},
            )

        return _run(ctx, claim, adapter, lost)
    return _run(ctx, claim, adapter, lambda _c: resume(claim))


def _run(
    ctx: ServiceContext, claim: Claim, adapter: TypeAdapter[R], fn: Callable[[Claim | None], R]
) -> R:
    try:
        result = fn(claim)
    except KeyTakenError:
        raise
    except ServiceError as exc:
        stored = json.dumps(
            {"code": exc.code, "message": exc.message, "details": exc.details}, default=str
        )
        if claim.held and getattr(exc, "resumable", False):
            _release(ctx, claim)  # not an outcome: the next retry with this key resumes
        elif claim.held:
            _finish(ctx, claim, exc.status, stored)
        elif not _store_new(ctx, claim, exc.status, stored):
            # the key exists: an earlier or concurrent attempt wrote it with its effect (the
            # PostgreSQL fast path writes the key last, so a retry finding no stock gets here):
            # that attempt's outcome is the answer -- replayed, waited for, or resumed
            raise KeyTakenError(claim.key) from exc
        raise
    except BaseException:
        if claim.held and not claim.done and not claim.taken_over:
            # unexpected failure before any effect beyond the key: forget the key so that a
            # retry can run the operation again (the key row only commits with the effect, so
            # a held key here means the effect is in; keep it and let the lease expire)
            log.exception("operation under Idempotency-Key %r failed after its effect", claim.key)
        raise
    if not claim.done:
        response = adapter.dump_json(result).decode()
        if claim.held:
            _finish(ctx, claim, 200, response)
        elif not _store_new(ctx, claim, 200, response):
            # no effect of ours was committed and a concurrent attempt stored its outcome
            taken = _replay(ctx, claim, adapter)
            if isinstance(taken, _Stored):
                return taken.value  # type: ignore[return-value]
    return result


def _store_new(ctx: ServiceContext, claim: Claim, status: int, response: str) -> bool:
    """Store an outcome whose key row was rolled back with the failed transaction (or never
    written). A concurrent duplicate that claimed the key meanwhile keeps its own row."""
    try:
        with ctx.uow() as u:
            u.conn.execute(
                _IK_INS,
                {
                    "principal": claim.who,
                    "key": claim.key,
                    "request_hash": claim.digest,
                    "completed": True,
                    "status_code": status,
                    "response": response,
                    "created_at": claim.now,
                    "lease_until": None,
                },
            )
            u.commit()
    except IntegrityError:
        log.info("idempotency key %r stored by a concurrent attempt", claim.key)
        return False
    return True


def _finish(ctx: ServiceContext, claim: Claim, status: int, response: str) -> None:
    with ctx.uow() as u:
        u.conn.execute(
            _IK_DONE, {"who": claim.who, "k": claim.key, "status": status, "resp": response}
        )
        u.commit()


def _release(ctx: ServiceContext, claim: Claim) -> None:
    """End the lease now, keeping the key in progress: a retry takes it over at once."""
    with ctx.uow() as u:
        u.conn.execute(
            update(_IK)
            .where(_IK.c.principal == claim.who, _IK.c.key == claim.key)
            .values(lease_until=ctx.clock.now())
        )
        u.commit()


class _Stored:
    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


def _replay(ctx: ServiceContext, claim: Claim, adapter: TypeAdapter[R]) -> _Stored | int | None:
    """Replay the stored outcome (returned as ``_Stored``), wait for an in-progress one, or take
    over a key whose lease expired (returns its ``resource_id``, possibly None)."""
    deadline = time.monotonic() + ctx.idempotency_wait_s
    pause = 0.005
    ids = {"who": claim.who, "k": claim.key}
    while True:
        with ctx.engine.connect() as conn:
            row = conn.execute(_IK_GET, ids).first()
            conn.rollback()
        if row is None:  # the first attempt rolled back meanwhile
            raise IdempotencyInProgressError(
                f"request with Idempotency-Key {claim.key!r} failed; retry",
                details={"key": claim.key},
            )
        if row.request_hash != claim.digest:
            raise IdempotencyMismatchError(
                f"Idempotency-Key {claim.key!r} was already used with a different request",
                details={"key": claim.key},
            )
        if row.completed:
            if row.status_code >= 400:
                data = json.loads(row.response)
                raise error_from_stored(
                    data["code"], data["message"], row.status_code, data.get("details")
                )
            return _Stored(adapter.validate_json(row.response))
        now = ctx.clock.now()
        if row.lease_until is None or row.lease_until <= now:
            lease = now + timedelta(seconds=ctx.idempotency_lease_s)
            with ctx.uow() as u:
                took = u.conn.execute(_IK_TAKE, {**ids, "now": now, "lease": lease}).rowcount
                u.commit()
            if took == 1:
                log.warning("Idempotency-Key %r taken over after its lease expired", claim.key)
                claim.lease_until = lease
                return int(row.resource_id) if row.resource_id is not None else None
            continue
        if time.monotonic() >= deadline:
            raise IdempotencyInProgressError(
                f"request with Idempotency-Key {claim.key!r} is still in progress",
                details={"key": claim.key, "lease_until": row.lease_until.isoformat()},
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def forget_key(ctx: ServiceContext, who: Principal, key: str) -> None:
    """Delete a key row (tests and operators)."""
    with ctx.uow() as u:
        u.conn.execute(delete(_IK).where(_IK.c.principal == who.ident, _IK.c.key == key))
        u.commit()
