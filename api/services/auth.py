"""API keys: random tokens shown once, stored as SHA-256 (with a server-side pepper) and role.

Roles: ``customer`` (bound to one customer id, sees only its own carts and orders), ``staff``
and ``service`` (operations: catalog, stock, prices, order transitions, housekeeping).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterable

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from api.clock import Clock
from api.db import UnitOfWork
from api.errors import InvalidInputError, UnauthenticatedError
from api.models import T
from api.services.context import Principal
from api.settings import ROLES, BootstrapKey

_K = T["api_keys"]


def hash_token(pepper: str, token: str) -> str:
    """Hex SHA-256 of ``pepper`` and ``token``; the only form in which keys are stored."""
    return hashlib.sha256(f"{pepper}:{token}".encode()).hexdigest()


def _validate(role: str, customer_id: str | None) -> None:
    if role not in ROLES:
        raise InvalidInputError(f"role {role!r} is not one of {ROLES}", details={"role": role})
    if (role == "customer") != bool(customer_id):
        raise InvalidInputError(
            "customer keys need a customer id and only customer keys may have one",
            details={"role": role, "customer_id": customer_id},
        )


def create_api_key(
    engine: Engine,
    clock: Clock,
    pepper: str,
    role: str,
    customer_id: str | None = None,
    token: str | None = None,
) -> str:
    """Store a new key and return its token (shown once; only the hash is kept).

    Raises:
        InvalidInputError: unknown role, customer key without ``customer_id``, or a
            ``customer_id`` on a staff/service key.
    """
    _validate(role, customer_id)
    token = token or "ss_" + secrets.token_urlsafe(32)
    with UnitOfWork(engine) as u:
        u.conn.execute(
            insert(_K).values(
                key_hash=hash_token(pepper, token),
                role=role,
                customer_id=customer_id,
                active=True,
                created_at=clock.now(),
            )
        )
        u.commit()
    return token


def ensure_keys(engine: Engine, clock: Clock, pepper: str, keys: Iterable[BootstrapKey]) -> int:
    """Insert the bootstrap keys that are not stored yet; returns how many this call added.

    Safe when several processes run it at once on a fresh database (``uvicorn --workers N``):
    each key is one ``INSERT ... ON CONFLICT (key_hash) DO NOTHING`` (PostgreSQL and SQLite),
    so a key another worker stored first is skipped, never a ``UniqueViolation``.
    """
    added = 0
    for k in keys:
        _validate(k.role, k.customer_id)
        row = {
            "key_hash": hash_token(pepper, k.token),
            "role": k.role,
            "customer_id": k.customer_id,
            "active": True,
            "created_at": clock.now(),
        }
        stmt = pg_insert(_K) if engine.dialect.name == "postgresql" else sqlite_insert(_K)
        with UnitOfWork(engine) as u:
            new = u.conn.execute(
                stmt.values(**row)
                .on_conflict_do_nothing(index_elements=["key_hash"])
                .returning(_K.c.id)
            ).first()
            u.commit()
        added += new is not None
    return added


def revoke_api_key(
    engine: Engine, pepper: str, *, token: str | None = None, key_id: int | None = None
) -> list[int]:
    """Deactivate the key with ``token`` or id ``key_id``; returns the ids revoked (empty: no
    such active key). Every server worker refuses it within ``Authenticator.recheck_s``.

    Raises:
        InvalidInputError: neither or both of ``token`` and ``key_id`` given.
    """
    if (token is None) == (key_id is None):
        raise InvalidInputError(
            "give exactly one of token and key id", details={"field": "token", "value": None}
        )
    where = _K.c.key_hash == hash_token(pepper, token) if token is not None else _K.c.id == key_id
    with UnitOfWork(engine) as u:
        ids = [
            int(i)
            for i in u.conn.execute(
                update(_K)
                .where(where, _K.c.active.is_(True))
                .values(active=False)
                .returning(_K.c.id)
            ).scalars()
        ]
        u.commit()
    return ids


_REVOKED = select(func.count()).select_from(_K).where(_K.c.active.is_(False))


class Authenticator:
    """Resolves tokens to principals, caching hits for ``ttl_s`` seconds.

    Revocation reaches every worker within ``recheck_s`` seconds: the cache is trusted only
    while the number of revoked keys was checked less than ``recheck_s`` ago; the first request
    after that re-reads it (one small query per worker and interval, in the thread pool) and a
    changed number empties the cache.
    """

    def __init__(
        self, engine: Engine, pepper: str, ttl_s: float = 60.0, recheck_s: float = 0.5
    ) -> None:
        self._engine = engine
        self._pepper = pepper
        self._ttl = ttl_s
        self._recheck = recheck_s
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        self._revoked: int | None = None
        self._checked_at = -float("inf")
        self._generation = 0  # bumped when the cache is emptied

    def _fresh(self) -> bool:
        return time.monotonic() - self._checked_at < self._recheck

    def _recheck_revocations(self) -> None:
        with self._lock:
            if self._fresh():
                return
            with self._engine.connect() as conn:
                revoked = int(conn.execute(_REVOKED).scalar_one())
                conn.rollback()
            if revoked != self._revoked:
                self._cache.clear()
                self._generation += 1
                self._revoked = revoked
            self._checked_at = time.monotonic()

    def cached(self, token: str | None) -> Principal | None:
        """The principal of ``token`` if it is in the cache and fresh (no database access)."""
        if not token or not self._fresh():
            return None
        hit = self._cache.get(hash_token(self._pepper, token))
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def authenticate(self, token: str | None) -> Principal:
        """Raises UnauthenticatedError (401) for a missing, unknown or inactive key."""
        if not token:
            raise UnauthenticatedError("missing API key (X-API-Key or Authorization: Bearer)")
        if not self._fresh():
            self._recheck_revocations()
        h = hash_token(self._pepper, token)
        now = time.monotonic()
        generation = self._generation  # a row read before a revocation is not cached after it
        hit = self._cache.get(h)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self._engine.connect() as conn:
            row = conn.execute(
                select(_K.c.id, _K.c.role, _K.c.customer_id, _K.c.active).where(_K.c.key_hash == h)
            ).first()
            conn.rollback()
        if row is None or not row.active:
            raise UnauthenticatedError("unknown or revoked API key")
        who = Principal(role=row.role, customer_id=row.customer_id, key_id=row.id)
        with self._lock:
            if generation == self._generation:
                self._cache[h] = (now + self._ttl, who)
        return who
