"""What every use case receives: the environment (engine, clock, gateway, TTLs) and the caller.

Also small shared helpers: role checks, code -> id lookups (cached: codes are immutable and
never deleted), opaque cursors, and the sorted row-locking used before multi-row stock updates
on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, text

from api.clock import Clock
from api.db import UnitOfWork
from api.errors import ForbiddenError, InvalidInputError, NotFoundError
from api.models import T
from api.payments import PaymentGateway

STAFF_ROLES = frozenset({"staff", "service"})


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller. ``customer_id`` is set for (and only for) customer keys."""

    role: str
    customer_id: str | None = None
    key_id: int | None = None

    @property
    def ident(self) -> str:
        """Stable identity used to scope idempotency keys."""
        return f"{self.role}:{self.customer_id if self.role == 'customer' else self.key_id}"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


def require_staff(who: Principal, action: str) -> None:
    """Raise :class:`ForbiddenError` (403) unless the caller is staff or service."""
    if not who.is_staff:
        raise ForbiddenError(f"{action} needs a staff or service key", details={"role": who.role})


@dataclass(slots=True)
class ServiceContext:
    """Infrastructure shared by all use cases of one app / client."""

    engine: Engine
    clock: Clock
    gateway: PaymentGateway
    reservation_ttl: timedelta = timedelta(minutes=15)
    unpaid_order_ttl: timedelta = timedelta(minutes=30)
    idempotency_wait_s: float = 5.0
    idempotency_lease_s: float = 30.0
    payment_grace: timedelta = timedelta(seconds=60)
    _sku_ids: dict[str, int] = field(default_factory=dict)
    _loc_ids: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def is_pg(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    # ---- code -> id lookups ----------------------------------------------------------
    def sku_ids(self, conn: Connection, codes: Iterable[str]) -> dict[str, int]:
        """Ids of the known SKU codes among ``codes`` (unknown ones are absent)."""
        return self._ids(conn, codes, self._sku_ids, "skus")

    def location_id(self, conn: Connection, code: str) -> int:
        """Id of location ``code``. Raises NotFoundError naming the code."""
        got = self._ids(conn, (code,), self._loc_ids, "locations")
        if code not in got:
            raise NotFoundError(f"unknown location {code!r}", details={"location": code})
        return got[code]

    def location_code(self, conn: Connection, location_id: int) -> str:
        """Code of location ``location_id`` (cached)."""
        for code, i in self._loc_ids.items():
            if i == location_id:
                return code
        found = conn.scalar(select(T["locations"].c.code).where(T["locations"].c.id == location_id))
        if found is None:
            raise NotFoundError(f"unknown location id {location_id}")
        with self._lock:
            self._loc_ids[str(found)] = location_id
        return str(found)

    def sku_id(self, conn: Connection, code: str) -> int:
        """Id of SKU ``code``. Raises NotFoundError naming the code."""
        got = self.sku_ids(conn, (code,))
        if code not in got:
            raise NotFoundError(f"unknown sku {code!r}", details={"sku": code})
        return got[code]

    def _ids(
        self, conn: Connection, codes: Iterable[str], cache: dict[str, int], table: str
    ) -> dict[str, int]:
        out: dict[str, int] = {}
        missing: list[str] = []
        for c in codes:
            i = cache.get(c)
            if i is None:
                missing.append(c)
            else:
                out[c] = i
        if missing:
            t = T[table]
            for chunk in chunks(missing, 5000):
                rows = conn.execute(
                    select(t.c.code, t.c.id).where(t.c.code.in_(bindparam("c", expanding=True))),
                    {"c": chunk},
                ).all()
                with self._lock:
                    for code, id_ in rows:
                        cache[code] = id_
                        out[code] = id_
        return out


def chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def lock_stock_rows(
    ctx: ServiceContext, conn: Connection, location_id: int, sku_ids: Sequence[int]
) -> None:
    """On PostgreSQL, lock the stock rows in sorted key order before a multi-row update, so
    concurrent multi-line transactions cannot deadlock. SQLite serialises writers already."""
    if ctx.is_pg and len(sku_ids) > 1:
        conn.execute(
            text(
                "SELECT 1 FROM stock WHERE location_id = :loc AND sku_id = ANY(:ids) "
                "ORDER BY sku_id FOR UPDATE"
            ),
            {"loc": location_id, "ids": sorted(sku_ids)},
        )


def values_cte(
    rows: Sequence[tuple[int, ...]], names: tuple[str, ...] = ("sku_id", "q")
) -> tuple[str, dict[str, int]]:
    """A ``WITH v(a, b, ...) AS (VALUES ...)`` prefix with bound integer parameters.

    Works on PostgreSQL and SQLite (>= 3.33 for ``UPDATE ... FROM v``)."""
    parts = []
    params: dict[str, int] = {}
    for i, row in enumerate(rows):
        cells = []
        for j, value in enumerate(row):
            params[f"v{i}_{j}"] = value
            cells.append(f"CAST(:v{i}_{j} AS BIGINT)")
        parts.append("(" + ", ".join(cells) + ")")
    return f"WITH v({', '.join(names)}) AS (VALUES {', '.join(parts)}) ", params


def encode_cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """Decode an opaque cursor. Raises InvalidInputError (422) naming the field and value."""
    try:
        pad = "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(cursor + pad))
        if not isinstance(data, dict):
            raise ValueError(data)
        values = [v for x in data.values() for v in (x if isinstance(x, list) else [x])]
        if any(isinstance(v, int) and not -(2**62) < v < 2**62 for v in values):
            raise ValueError("cursor value out of range")  # would overflow a BIGINT comparison
        return data
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"cursor {cursor[:40]!r} is not a cursor returned by this API",
            details={"field": "cursor", "value": cursor[:40]},
        ) from exc
