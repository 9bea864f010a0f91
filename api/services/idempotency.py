"""``Idempotency-Key`` handling shared by every unsafe operation.

The key row is inserted first, in its own committed transaction, under a unique constraint on
(principal, key). Whoever inserts it runs the operation and stores the outcome (result or
typed 4xx error); a concurrent or later duplicate finds the row and either replays the stored
outcome (same request hash), waits briefly for it (still in progress), or is refused with
``IDEMPOTENCY_MISMATCH`` (another request body). A second effect is therefore impossible.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from api.errors import (
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

    Raises:
        IdempotencyMismatchError: (422) the key was used with another request body or operation.
        IdempotencyInProgressError: (409) the first request with this key is still running after
            ``ctx.idempotency_wait_s`` seconds.
        ServiceError: whatever ``fn`` raised (stored and replayed for 4xx outcomes).
    """
    if key is None:
        return fn()
    if not key or len(key) > 200:
        raise InvalidInputError(
            "Idempotency-Key must be 1..200 characters",
            details={"field": "Idempotency-Key", "value": key[:40]},
        )
    digest = request_hash(scope, body)
    try:
        with ctx.uow() as u:
            u.conn.execute(
                _IK_INS,
                {
                    "principal": who.ident,
                    "key": key,
                    "request_hash": digest,
                    "completed": False,
                    "created_at": ctx.clock.now(),
                },
            )
            u.commit()
    except IntegrityError:
        return _replay(ctx, who, key, digest, adapter)
    try:
        result = fn()
    except ServiceError as exc:
        stored = json.dumps(
            {"code": exc.code, "message": exc.message, "details": exc.details}, default=str
        )
        _finish(ctx, who, key, exc.status, stored)
        raise
    except BaseException:
        # unexpected failure: forget the key so that a retry can run the operation again
        with ctx.uow() as u:
            u.conn.execute(delete(_IK).where(_IK.c.principal == who.ident, _IK.c.key == key))
            u.commit()
        raise
    _finish(ctx, who, key, 200, adapter.dump_json(result).decode())
    return result


class KeyTakenError(Exception):
    """Internal: the Idempotency-Key row already exists (another attempt claimed it)."""


class Claim:
    """An Idempotency-Key claimed inside the operation's own transactions (fewer commits).

    The operation calls :meth:`insert` in its first transaction (the key row commits with the
    effect, or rolls back with it), then :meth:`complete` in the transaction that produces the
    final result, and sets ``held`` / ``done`` once those transactions committed.
    :func:`run_idempotent_tx` stores whatever outcome the operation did not store itself.
    """

    __slots__ = ("digest", "done", "held", "key", "now", "who")

    def __init__(self, who: str, key: str, digest: str, now: Any) -> None:
        self.who, self.key, self.digest, self.now = who, key, digest, now
        self.held = False  # the key row is committed (in progress)
        self.done = False  # the outcome is committed

    def insert(self, conn: Any) -> None:
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
                },
            )
        except IntegrityError as exc:
            raise KeyTakenError(self.key) from exc

    def complete(self, conn: Any, response: str, status: int = 200) -> None:
        """Store the successful outcome in ``conn``'s transaction (caller sets ``done`` after commit)."""
        conn.execute(_IK_DONE, {"who": self.who, "k": self.key, "status": status, "resp": response})


def run_idempotent_tx(
    ctx: ServiceContext,
    who: Principal,
    key: str | None,
    scope: str,
    body: Any,
    adapter: TypeAdapter[R],
    fn: Callable[[Claim | None], R],
) -> R:
    """Like :func:`run_idempotent`, but ``fn`` writes the key row and the stored result in its
    own transactions (see :class:`Claim`): same guarantees, two commits fewer."""
    if key is None:
        return fn(None)
    if not key or len(key) > 200:
        raise InvalidInputError(
            "Idempotency-Key must be 1..200 characters",
            details={"field": "Idempotency-Key", "value": key[:40]},
        )
    claim = Claim(who.ident, key, request_hash(scope, body), ctx.clock.now())
    try:
        result = fn(claim)
    except KeyTakenError:
        return _replay(ctx, who, key, claim.digest, adapter)
    except ServiceError as exc:
        stored = json.dumps(
            {"code": exc.code, "message": exc.message, "details": exc.details}, default=str
        )
        if claim.held:
            _finish(ctx, who, key, exc.status, stored)
        else:
            _store_new(ctx, claim, exc.status, stored)
        raise
    except BaseException:
        if claim.held and not claim.done:  # forget the key so that a retry can run again
            with ctx.uow() as u:
                u.conn.execute(delete(_IK).where(_IK.c.principal == who.ident, _IK.c.key == key))
                u.commit()
        raise
    if not claim.done:
        response = adapter.dump_json(result).decode()
        if claim.held:
            _finish(ctx, who, key, 200, response)
        else:
            _store_new(ctx, claim, 200, response)
    return result


def _store_new(ctx: ServiceContext, claim: Claim, status: int, response: str) -> None:
    """Store an outcome whose key row was rolled back with the failed transaction. A concurrent
    duplicate that claimed the key meanwhile keeps its own row."""
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
                },
            )
            u.commit()
    except IntegrityError:
        log.info("idempotency key %r stored by a concurrent attempt", claim.key)


def _finish(ctx: ServiceContext, who: Principal, key: str, status: int, response: str) -> None:
    with ctx.uow() as u:
        u.conn.execute(_IK_DONE, {"who": who.ident, "k": key, "status": status, "resp": response})
        u.commit()


def _replay(
    ctx: ServiceContext, who: Principal, key: str, digest: str, adapter: TypeAdapter[R]
) -> R:
    deadline = time.monotonic() + ctx.idempotency_wait_s
    pause = 0.005
    while True:
        with ctx.engine.connect() as conn:
            row = conn.execute(
                select(
                    _IK.c.request_hash, _IK.c.completed, _IK.c.status_code, _IK.c.response
                ).where(_IK.c.principal == who.ident, _IK.c.key == key)
            ).first()
            conn.rollback()
        if row is None:  # the first attempt failed unexpectedly and released the key
            raise IdempotencyInProgressError(
                f"request with Idempotency-Key {key!r} failed; retry", details={"key": key}
            )
        if row.request_hash != digest:
            raise IdempotencyMismatchError(
                f"Idempotency-Key {key!r} was already used with a different request",
                details={"key": key},
            )
        if row.completed:
            if row.status_code >= 400:
                data = json.loads(row.response)
                raise error_from_stored(
                    data["code"], data["message"], row.status_code, data.get("details")
                )
            return adapter.validate_json(row.response)
        if time.monotonic() >= deadline:
            raise IdempotencyInProgressError(
                f"request with Idempotency-Key {key!r} is still in progress", details={"key": key}
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
