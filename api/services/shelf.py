"""Shelf observations from cameras: restock tasks and phantom-inventory flags.

A camera (through :mod:`edge_sim`'s ShelfVision on an edge node) reports, per SKU slot at a
store, the facings it sees. :func:`record_observations` stores them and, per SKU:

- out of stock on the shelf (0 facings) or low (``<= low_stock_frac`` of capacity), seen with
  at least ``min_confidence``: opens a restock task unless one is already open (the database
  holds at most one open task per SKU and location);
- 0 facings while the ledger says the store holds units: the task is flagged
  ``phantom_suspected`` (ledger says in stock, the camera sees a gap) with the ledger figure.

:func:`complete_task` closes a task; with ``found_units`` (the count staff made on shelf and in
the backroom) a phantom is corrected by a count ADJUSTMENT in the stock ledger, in the same
transaction as the task's completion.

Tables (``shelf_observations``, ``restock_tasks``) are created by migration 0004.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
    update,
)

from api.errors import (
    ConflictError,
    InsufficientStockError,
    InvalidTransitionError,
    NotFoundError,
)
from api.models import Base, Id, UTCDateTime
from api.schemas import Code, MovementKind, Page, Strict
from api.services.catalog import upsert_insert
from api.services.context import Principal, ServiceContext, require_staff
from api.services.stock import record_movements

__all__ = [
    "MisplacedReport",
    "ObservationResult",
    "ReadingIn",
    "RestockTaskRead",
    "ShelfObservationBatch",
    "TaskComplete",
    "TaskReason",
    "complete_task",
    "list_tasks",
    "record_observations",
]

MAX_FACINGS = 10_000

OBSERVATIONS = Table(
    "shelf_observations",
    Base.metadata,
    Column("id", Id, primary_key=True),
    Column("location_id", ForeignKey("locations.id"), nullable=False),
    Column("sku_id", ForeignKey("skus.id"), nullable=False),
    Column("camera", String(64), nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("facings", Integer, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("confidence", Float, nullable=False),
    CheckConstraint(
        "facings >= 0 AND capacity >= 1 AND facings <= capacity", name="ck_shelf_obs_facings"
    ),
)

TASKS = Table(
    "restock_tasks",
    Base.metadata,
    Column("id", Id, primary_key=True),
    Column("location_id", ForeignKey("locations.id"), nullable=False),
    Column("sku_id", ForeignKey("skus.id"), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    # 1 while open, NULL once done: the unique key allows one open task per SKU and location
    Column("open_slot", Integer, nullable=True),
    Column("phantom_suspected", Boolean, nullable=False),
    Column("ledger_on_hand", BigInteger, nullable=False),
    Column("facings_seen", Integer, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("camera", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("found_units", BigInteger, nullable=True),
    CheckConstraint("status IN ('open', 'done')", name="ck_restock_tasks_status"),
    CheckConstraint(
        "reason IN ('out_of_stock', 'low_stock', 'misplaced')", name="ck_restock_tasks_reason"
    ),
    UniqueConstraint("sku_id", "location_id", "open_slot", name="uq_restock_tasks_open"),
)

_STOCK, _SKU = Base.metadata.tables["stock"], Base.metadata.tables["skus"]


class TaskReason(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    LOW_STOCK = "low_stock"
    MISPLACED = "misplaced"


class ReadingIn(Strict):
    """One slot as the camera saw it."""

    sku: str = Code
    facings: int = Field(ge=0, le=MAX_FACINGS)
    capacity: int = Field(ge=1, le=MAX_FACINGS)
    confidence: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _facings_fit(self) -> ReadingIn:
        if self.facings > self.capacity:
            raise ValueError(f"facings {self.facings} exceed capacity {self.capacity}")
        return self


class MisplacedReport(Strict):
    """A facing of ``sku``'s slot holding something else (``looks_like`` if recognised)."""

    sku: str = Code
    looks_like: str | None = None
    confidence: float = Field(ge=0.0, le=1.0)


class ShelfObservationBatch(Strict):
    """What one camera saw at one store at one time."""

    location: str = Code
    camera: str = Code
    observed_at: datetime | None = None
    slots: list[ReadingIn] = Field(min_length=1, max_length=5000)
    misplaced: list[MisplacedReport] = Field(default_factory=list, max_length=5000)
    min_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    low_stock_frac: float = Field(default=0.34, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _aware(self) -> ShelfObservationBatch:
        if self.observed_at is not None:
            if self.observed_at.tzinfo is None:
                raise ValueError("observed_at must carry a timezone")
            if not 1970 <= self.observed_at.year <= 9000:
                raise ValueError(f"observed_at year {self.observed_at.year} outside 1970..9000")
        return self


class RestockTaskRead(Strict):
    id: int
    sku: str
    location: str
    reason: TaskReason
    status: str
    phantom_suspected: bool
    ledger_on_hand: int
    facings_seen: int
    confidence: float
    camera: str
    created_at: datetime
    completed_at: datetime | None = None
    found_units: int | None = None


class ObservationResult(Strict):
    observations: int
    tasks_created: list[RestockTaskRead]
    already_open: list[str]
    phantom_suspected: list[str]
    low_confidence: list[str]


class TaskComplete(Strict):
    """Close a task; ``found_units`` is the count staff made (shelf and backroom)."""

    found_units: int | None = Field(default=None, ge=0, le=10**9)


def _task_select() -> object:
    loc = Base.metadata.tables["locations"]
    return select(TASKS, _SKU.c.code.label("sku"), loc.c.code.label("location")).select_from(
        TASKS.join(_SKU, _SKU.c.id == TASKS.c.sku_id).join(loc, loc.c.id == TASKS.c.location_id)
    )


def _read(r: object) -> RestockTaskRead:
    m = r._mapping  # type: ignore[attr-defined]
    return RestockTaskRead(
        id=m["id"],
        sku=m["sku"],
        location=m["location"],
        reason=TaskReason(m["reason"]),
        status=m["status"],
        phantom_suspected=bool(m["phantom_suspected"]),
        ledger_on_hand=m["ledger_on_hand"],
        facings_seen=m["facings_seen"],
        confidence=m["confidence"],
        camera=m["camera"],
        created_at=m["created_at"],
        completed_at=m["completed_at"],
        found_units=m["found_units"],
    )


def record_observations(
    ctx: ServiceContext, who: Principal, body: ShelfObservationBatch
) -> ObservationResult:
    """Store the readings, open restock tasks, flag suspected phantom inventory.

    Raises: ForbiddenError (customer key), NotFoundError (unknown location or SKUs, all named).
    """
    require_staff(who, "recording shelf observations")
    now = ctx.clock.now()
    seen_at = body.observed_at or now
    # several slots of one SKU: add facings and capacity, keep the weakest confidence
    agg: dict[str, list[float]] = {}
    for s in body.slots:
        a = agg.setdefault(s.sku, [0, 0, 1.0])
        a[0] += s.facings
        a[1] += s.capacity
        a[2] = min(a[2], s.confidence)
    codes = list(agg) + [m.sku for m in body.misplaced if m.sku not in agg]
    with ctx.uow() as u:
        loc = ctx.location_id(u.conn, body.location)
        ids = ctx.sku_ids(u.conn, codes)
        unknown = [c for c in codes if c not in ids]
        if unknown:
            raise NotFoundError(
                f"unknown sku {unknown[0]!r}"
                + (f" and {len(unknown) - 1} more" if len(unknown) > 1 else ""),
                details={"field": "sku", "unknown": unknown[:50]},
            )
        u.conn.execute(
            insert(OBSERVATIONS),
            [
                {
                    "location_id": loc,
                    "sku_id": ids[s.sku],
                    "camera": body.camera,
                    "observed_at": seen_at,
                    "facings": s.facings,
                    "capacity": s.capacity,
                    "confidence": s.confidence,
                }
                for s in body.slots
            ],
        )
        ledger = dict(
            u.conn.execute(
                select(_STOCK.c.sku_id, _STOCK.c.on_hand).where(
                    _STOCK.c.location_id == loc, _STOCK.c.sku_id.in_(list(ids.values()))
                )
            ).all()
        )
        open_now = {
            r[0]
            for r in u.conn.execute(
                select(TASKS.c.sku_id).where(
                    TASKS.c.location_id == loc,
                    TASKS.c.open_slot == 1,
                    TASKS.c.sku_id.in_(list(ids.values())),
                )
            )
        }
        wanted: list[dict[str, object]] = []
        low_conf: list[str] = []
        phantom: list[str] = []
        already: list[str] = []
        for code, (facings, cap, conf) in agg.items():
            reason = None
            if facings == 0:
                reason = TaskReason.OUT_OF_STOCK
            elif facings <= body.low_stock_frac * cap:
                reason = TaskReason.LOW_STOCK
            if reason is None:
                continue
            if conf < body.min_confidence:
                low_conf.append(code)
                continue
            on_hand = int(ledger.get(ids[code], 0))
            suspect = facings == 0 and on_hand > 0
            if suspect:
                phantom.append(code)
            if ids[code] in open_now:
                already.append(code)
                continue
            open_now.add(ids[code])
            wanted.append(_task_row(loc, ids[code], reason, suspect, on_hand, int(facings), conf))
        for m in body.misplaced:
            if m.confidence < body.min_confidence:
                low_conf.append(m.sku)
            elif ids[m.sku] not in open_now:
                open_now.add(ids[m.sku])
                on_hand = int(ledger.get(ids[m.sku], 0))
                facings = int(agg.get(m.sku, [0])[0])
                wanted.append(
                    _task_row(
                        loc, ids[m.sku], TaskReason.MISPLACED, False, on_hand, facings, m.confidence
                    )
                )
        created: list[RestockTaskRead] = []
        if wanted:
            for row in wanted:
                row.update(camera=body.camera, created_at=now)
            stmt = upsert_insert(ctx, TASKS).on_conflict_do_nothing()
            u.conn.execute(stmt, wanted)
            rows = u.conn.execute(
                _task_select()
                .where(  # type: ignore[attr-defined]
                    TASKS.c.location_id == loc,
                    TASKS.c.open_slot == 1,
                    TASKS.c.created_at == now,
                    TASKS.c.sku_id.in_([r["sku_id"] for r in wanted]),
                )
                .order_by(TASKS.c.id)
            )
            created = [_read(r) for r in rows]
        u.commit()
    return ObservationResult(
        observations=len(body.slots),
        tasks_created=created,
        already_open=sorted(already),
        phantom_suspected=sorted(phantom),
        low_confidence=sorted(set(low_conf)),
    )


def _task_row(
    loc: int, sku: int, reason: TaskReason, suspect: bool, on_hand: int, facings: int, conf: float
) -> dict[str, object]:
    return {
        "location_id": loc,
        "sku_id": sku,
        "reason": reason.value,
        "status": "open",
        "open_slot": 1,
        "phantom_suspected": suspect,
        "ledger_on_hand": on_hand,
        "facings_seen": facings,
        "confidence": conf,
    }


def list_tasks(
    ctx: ServiceContext,
    who: Principal,
    location: str | None = None,
    status: str | None = "open",
    limit: int = 500,
) -> Page[RestockTaskRead]:
    """Tasks, oldest first, filtered by location and status (``None``: any)."""
    require_staff(who, "reading restock tasks")
    stmt = _task_select().order_by(TASKS.c.id).limit(limit)  # type: ignore[attr-defined]
    with ctx.engine.connect() as conn:
        if location is not None:
            stmt = stmt.where(TASKS.c.location_id == ctx.location_id(conn, location))
        if status is not None:
            stmt = stmt.where(TASKS.c.status == status)
        items = [_read(r) for r in conn.execute(stmt)]
        conn.rollback()
    return Page[RestockTaskRead](items=items)


def complete_task(
    ctx: ServiceContext, who: Principal, task_id: int, body: TaskComplete
) -> RestockTaskRead:
    """Close task ``task_id``; a count below the ledger sets ``on_hand`` to the count with an
    ADJUSTMENT movement, in the same transaction (all or nothing).

    Raises: NotFoundError (unknown id), InvalidTransitionError (already done),
    InsufficientStockError (the count is below the units reserved by carts), ConflictError
    (the stock changed while completing; retry).
    """
    require_staff(who, "completing restock tasks")
    now = ctx.clock.now()
    with ctx.uow() as u:
        row = u.conn.execute(_task_select().where(TASKS.c.id == task_id)).first()  # type: ignore[attr-defined]
        if row is None:
            raise NotFoundError(f"unknown restock task {task_id}", details={"task_id": task_id})
        m = row._mapping
        res = u.conn.execute(
            update(TASKS)
            .where(TASKS.c.id == task_id, TASKS.c.status == "open")
            .values(status="done", open_slot=None, completed_at=now, found_units=body.found_units)
        )
        if res.rowcount != 1:
            raise InvalidTransitionError(
                f"restock task {task_id} is already done", details={"task_id": task_id}
            )
        level = u.conn.execute(
            select(_STOCK.c.on_hand, _STOCK.c.reserved).where(
                _STOCK.c.sku_id == m["sku_id"], _STOCK.c.location_id == m["location_id"]
            )
        ).first()
        found = body.found_units
        if found is not None and level is not None and found < level.on_hand:
            if found < level.reserved:
                raise InsufficientStockError(
                    f"count {found} of {m['sku']} is below the {level.reserved} units reserved",
                    details={"field": "found_units", "value": found, "reserved": level.reserved},
                )
            done = u.conn.execute(
                update(_STOCK)
                .where(
                    _STOCK.c.sku_id == m["sku_id"],
                    _STOCK.c.location_id == m["location_id"],
                    _STOCK.c.on_hand == level.on_hand,
                    _STOCK.c.reserved <= found,
                )
                .values(on_hand=found)
            )
            if done.rowcount != 1:
                raise ConflictError(
                    f"stock of {m['sku']} changed while completing task {task_id}; retry",
                    details={"task_id": task_id},
                )
            record_movements(
                u.conn,
                [
                    {
                        "sku_id": m["sku_id"],
                        "location_id": m["location_id"],
                        "kind": MovementKind.ADJUSTMENT.value,
                        "quantity": found - int(level.on_hand),
                        "reference": f"shelf camera count, restock task {task_id}",
                        "created_at": now,
                    }
                ],
            )
        out = _read(u.conn.execute(_task_select().where(TASKS.c.id == task_id)).one())  # type: ignore[attr-defined]
        u.commit()
    return out
