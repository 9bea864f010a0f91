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
from api.services.context import Env, Principal

R = TypeVar("R")
_IK = T["idempotency_keys"]
_IK_INS = insert(_IK)
_IK_DONE = (update(_IK).where(_IK.c.principal == bindparam("who"), _IK.c.key == bindparam("k"))
            .values(completed=True, status_code=bindparam("status"), response=bindparam("resp")))


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
    env: Env,
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
            ``env.idempotency_wait_s`` seconds.
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
        with env.uow() as u:
            u.conn.execute(_IK_INS, {"principal": who.ident, "key": key, "request_hash": digest,
                                     "completed": False, "created_at": env.clock.now()})
            u.commit()
    except IntegrityError:
        return _replay(env, who, key, digest, adapter)
    try:
        result = fn()
    except ServiceError as exc:
        stored = json.dumps({"code": exc.code, "message": exc.message, "details": exc.details},
                            default=str)
        _finish(env, who, key, exc.status, stored)
        raise
    except BaseException:
        # unexpected failure: forget the key so that a retry can run the operation again
        with env.uow() as u:
            u.conn.execute(delete(_IK).where(_IK.c.principal == who.ident, _IK.c.key == key))
            u.commit()
        raise
    _finish(env, who, key, 200, adapter.dump_json(result).decode())
    return result


def _finish(env: Env, who: Principal, key: str, status: int, response: str) -> None:
    with env.uow() as u:
        u.conn.execute(_IK_DONE, {"who": who.ident, "k": key, "status": status, "resp": response})
        u.commit()


def _replay(env: Env, who: Principal, key: str, digest: str, adapter: TypeAdapter[R]) -> R:
    deadline = time.monotonic() + env.idempotency_wait_s
    pause = 0.005
    while True:
        with env.engine.connect() as conn:
            row = conn.execute(
                select(_IK.c.request_hash, _IK.c.completed, _IK.c.status_code, _IK.c.response)
                .where(_IK.c.principal == who.ident, _IK.c.key == key)
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
                raise error_from_stored(data["code"], data["message"], row.status_code,
                                        data.get("details"))
            return adapter.validate_json(row.response)
        if time.monotonic() >= deadline:
            raise IdempotencyInProgressError(
                f"request with Idempotency-Key {key!r} is still in progress", details={"key": key}
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
