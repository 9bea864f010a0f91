"""The stock ledger: counters per (SKU, location) plus an append-only movement log.

Every change of ``on_hand`` writes a movement with the signed quantity, in the same
transaction, so that per (SKU, location) ``sum(movements.quantity) == on_hand`` always holds.
Decrements are single conditional UPDATEs (``WHERE on_hand - reserved >= q``); the database
CHECK ``on_hand >= reserved >= 0`` backs them up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from api.errors import InsufficientStockError, InvalidInputError, NotFoundError
from api.models import T
from api.schemas import (
    AdjustmentCreate,
    Channel,
    LineError,
    MovementKind,
    MovementRead,
    Page,
    PosSaleBatch,
    PosSaleResult,
    ReceiptCreate,
    StockLevel,
    StockLine,
    StockQuery,
    TransferCreate,
)
from api.services.catalog import upsert_insert
from api.services.context import (
    Principal,
    ServiceContext,
    chunks,
    decode_cursor,
    encode_cursor,
    lock_stock_rows,
    require_staff,
    values_cte,
)
from api.services.prices import current_prices

_STOCK, _MOV, _SKU, _LOC = T["stock"], T["movements"], T["skus"], T["locations"]


def record_movements(
    conn: Connection, rows: list[dict[str, Any]], *, returning: bool = False
) -> list[int]:
    """Append movements (dicts with sku_id, location_id, kind, quantity, reference, created_at)."""
    if not rows:
        return []
    if returning:
        res = conn.execute(insert(_MOV).returning(_MOV.c.id, sort_by_parameter_order=True), rows)
        return [r[0] for r in res]
    conn.execute(insert(_MOV), rows)
    return []


def decrement_available(
    ctx: ServiceContext, conn: Connection, location_id: int, wanted: dict[int, int], *, column: str
) -> set[int]:
    """Atomically take ``wanted[sku_id]`` units of available stock at a location.

    ``column="on_hand"`` removes stock (sale, transfer out); ``column="reserved"`` reserves it.
    One conditional UPDATE for all SKUs; returns the SKU ids that succeeded (a SKU without
    enough available stock, or without a stock row, is left untouched).
    """
    if not wanted:
        return set()
    lock_stock_rows(ctx, conn, location_id, list(wanted))
    op = "-" if column == "on_hand" else "+"
    cte, params = values_cte(sorted(wanted.items()))
    params["loc"] = location_id
    res = conn.execute(
        text(
            cte + f"UPDATE stock SET {column} = stock.{column} {op} v.q FROM v "
            "WHERE stock.sku_id = v.sku_id AND stock.location_id = :loc "
            "AND stock.on_hand - stock.reserved >= v.q RETURNING stock.sku_id"
        ),
        params,
    )
    return {r[0] for r in res}


def add_on_hand(
    ctx: ServiceContext, conn: Connection, location_id: int, qty: dict[int, int]
) -> None:
    """Increase on_hand per SKU at a location, creating stock rows as needed (one upsert)."""
    if not qty:
        return
    ins = upsert_insert(ctx, _STOCK)
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["sku_id", "location_id"],
            set_={"on_hand": _STOCK.c.on_hand + ins.excluded.on_hand},
        ),
        [
            {"sku_id": s, "location_id": location_id, "on_hand": q, "reserved": 0}
            for s, q in sorted(qty.items())
        ],
    )


def available(conn: Connection, location_id: int, sku_ids: Sequence[int]) -> dict[int, int]:
    """Available units (on_hand - reserved) per SKU id at a location (0 without a row)."""
    rows = conn.execute(
        select(_STOCK.c.sku_id, _STOCK.c.on_hand - _STOCK.c.reserved).where(
            _STOCK.c.location_id == location_id,
            _STOCK.c.sku_id.in_(bindparam("ids", expanding=True)),
        ),
        {"ids": list(sku_ids)},
    ).tuples()
    got = dict(rows.all())
    return {s: int(got.get(s, 0)) for s in sku_ids}


def _resolve_lines(
    ctx: ServiceContext, conn: Connection, lines: Sequence[StockLine]
) -> dict[str, int]:
    ids = ctx.sku_ids(conn, [ln.sku for ln in lines])
    missing = sorted({ln.sku for ln in lines} - ids.keys())
    if missing:
        raise NotFoundError(f"unknown skus {missing[:10]}", details={"skus": missing[:100]})
    return ids


def _aggregate(lines: Sequence[StockLine], ids: dict[str, int]) -> dict[int, int]:
    agg: dict[int, int] = defaultdict(int)
    for ln in lines:
        agg[ids[ln.sku]] += ln.quantity
    return dict(agg)


def _reads(
    ids: list[int], rows: list[dict[str, Any]], codes: dict[int, str], loc_codes: dict[int, str]
) -> list[MovementRead]:
    return [
        MovementRead(
            id=i,
            sku=codes[r["sku_id"]],
            location=loc_codes[r["location_id"]],
            kind=MovementKind(r["kind"]),
            quantity=r["quantity"],
            reference=r["reference"],
            created_at=r["created_at"],
        )
        for i, r in zip(ids, rows, strict=True)
    ]


def stock_levels(ctx: ServiceContext, who: Principal, q: StockQuery) -> list[StockLevel]:
    """Counters for the asked SKUs and locations (None: all), ordered by location then SKU."""
    require_staff(who, "reading stock levels")
    stmt = (
        select(
            _SKU.c.code.label("sku"),
            _LOC.c.code.label("location"),
            _STOCK.c.on_hand,
            _STOCK.c.reserved,
        )
        .select_from(
            _STOCK.join(_SKU, _SKU.c.id == _STOCK.c.sku_id).join(
                _LOC, _LOC.c.id == _STOCK.c.location_id
            )
        )
        .order_by(_LOC.c.code, _SKU.c.code)
    )
    if q.locations is not None:
        stmt = stmt.where(_LOC.c.code.in_(q.locations))
    out: list[StockLevel] = []
    with ctx.engine.connect() as conn:
        if q.skus is None:
            batches: list[Any] = [stmt]
        else:
            batches = [stmt.where(_SKU.c.code.in_(list(ch))) for ch in chunks(q.skus, 5000)]
        for st in batches:
            for r in conn.execute(st):
                out.append(
                    StockLevel(
                        sku=r.sku,
                        location=r.location,
                        on_hand=r.on_hand,
                        reserved=r.reserved,
                        available=r.on_hand - r.reserved,
                    )
                )
        conn.rollback()
    if q.skus is not None and len(batches) > 1:
        out.sort(key=lambda s: (s.location, s.sku))
    return out


def receive(ctx: ServiceContext, who: Principal, body: ReceiptCreate) -> list[MovementRead]:
    """Add received units at a location; one RECEIPT movement per line."""
    require_staff(who, "receiving stock")
    now = ctx.clock.now()
    with ctx.uow() as u:
        loc = ctx.location_id(u.conn, body.location)
        ids = _resolve_lines(ctx, u.conn, body.lines)
        add_on_hand(ctx, u.conn, loc, _aggregate(body.lines, ids))
        rows = [
            {
                "sku_id": ids[ln.sku],
                "location_id": loc,
                "kind": MovementKind.RECEIPT.value,
                "quantity": ln.quantity,
                "reference": body.reference,
                "created_at": now,
            }
            for ln in body.lines
        ]
        mids = record_movements(u.conn, rows, returning=True)
        u.commit()
    return _reads(mids, rows, {i: c for c, i in ids.items()}, {loc: body.location})


def _insufficient(
    conn: Connection, loc: int, wanted: dict[int, int], ok: set[int], codes: dict[int, str]
) -> list[LineError]:
    bad = sorted(set(wanted) - ok, key=codes.__getitem__)
    avail = available(conn, loc, bad)
    return [
        LineError(sku=codes[s], code="INSUFFICIENT_STOCK", requested=wanted[s], available=avail[s])
        for s in bad
    ]


def transfer(ctx: ServiceContext, who: Principal, body: TransferCreate) -> list[MovementRead]:
    """Move units between locations, all lines or none.

    Raises: InsufficientStockError (409) with one LineError per short line in ``details``.
    """
    require_staff(who, "transferring stock")
    if body.from_location == body.to_location:
        raise InvalidInputError(
            "from_location and to_location are the same",
            details={"field": "to_location", "value": body.to_location},
        )
    now = ctx.clock.now()
    with ctx.uow() as u:
        src = ctx.location_id(u.conn, body.from_location)
        dst = ctx.location_id(u.conn, body.to_location)
        ids = _resolve_lines(ctx, u.conn, body.lines)
        codes = {i: c for c, i in ids.items()}
        wanted = _aggregate(body.lines, ids)
        ok = decrement_available(ctx, u.conn, src, wanted, column="on_hand")
        if len(ok) != len(wanted):
            errs = _insufficient(u.conn, src, wanted, ok, codes)
            raise InsufficientStockError(
                f"{len(errs)} line(s) short at {body.from_location}",
                details=[e.model_dump() for e in errs],
            )
        add_on_hand(ctx, u.conn, dst, wanted)
        rows = []
        for ln in body.lines:
            base = {"sku_id": ids[ln.sku], "reference": body.reference, "created_at": now}
            rows.append(
                {
                    **base,
                    "location_id": src,
                    "kind": MovementKind.TRANSFER_OUT.value,
                    "quantity": -ln.quantity,
                }
            )
            rows.append(
                {
                    **base,
                    "location_id": dst,
                    "kind": MovementKind.TRANSFER_IN.value,
                    "quantity": ln.quantity,
                }
            )
        mids = record_movements(u.conn, rows, returning=True)
        u.commit()
    return _reads(mids, rows, codes, {src: body.from_location, dst: body.to_location})


def adjust(ctx: ServiceContext, who: Principal, body: AdjustmentCreate) -> MovementRead:
    """Change on_hand by ``delta`` (write-off, count correction); on_hand never drops below
    reserved. Raises InsufficientStockError when it would."""
    require_staff(who, "adjusting stock")
    if body.delta == 0:
        raise InvalidInputError(
            "adjustment delta must not be 0", details={"field": "delta", "value": 0}
        )
    now = ctx.clock.now()
    with ctx.uow() as u:
        loc = ctx.location_id(u.conn, body.location)
        sku = ctx.sku_id(u.conn, body.sku)
        if body.delta > 0:
            add_on_hand(ctx, u.conn, loc, {sku: body.delta})
        else:
            res = u.conn.execute(
                update(_STOCK)
                .where(
                    _STOCK.c.sku_id == sku,
                    _STOCK.c.location_id == loc,
                    _STOCK.c.on_hand - _STOCK.c.reserved >= -body.delta,
                )
                .values(on_hand=_STOCK.c.on_hand + body.delta)
            )
            if res.rowcount != 1:
                avail = available(u.conn, loc, [sku])[sku]
                raise InsufficientStockError(
                    f"cannot remove {-body.delta} of {body.sku} at {body.location}",
                    details=[
                        LineError(
                            sku=body.sku,
                            code="INSUFFICIENT_STOCK",
                            requested=-body.delta,
                            available=avail,
                        ).model_dump()
                    ],
                )
        row = {
            "sku_id": sku,
            "location_id": loc,
            "kind": MovementKind.ADJUSTMENT.value,
            "quantity": body.delta,
            "reference": body.reason,
            "created_at": now,
        }
        mids = record_movements(u.conn, [row], returning=True)
        u.commit()
    return _reads(mids, [row], {sku: body.sku}, {loc: body.location})[0]


def pos_sales(ctx: ServiceContext, who: Principal, body: PosSaleBatch) -> PosSaleResult:
    """Book a batch of in-store sales. Sales of the same SKU are aggregated; a SKU whose total
    exceeds available stock (or is unknown) is rejected as a whole, the rest is accepted."""
    require_staff(who, "booking POS sales")
    now = ctx.clock.now()
    with ctx.uow() as u:
        loc = ctx.location_id(u.conn, body.location)
        ids = ctx.sku_ids(u.conn, {s.sku for s in body.sales})
        wanted: dict[int, int] = defaultdict(int)
        revenue_fixed: dict[int, int] = defaultdict(int)
        unpriced: dict[int, int] = defaultdict(int)
        rejected: list[LineError] = []
        for s in body.sales:
            sid = ids.get(s.sku)
            if sid is None:
                rejected.append(
                    LineError(sku=s.sku, code="UNKNOWN_SKU", requested=s.quantity, available=0)
                )
                continue
            wanted[sid] += s.quantity
            if s.unit_price_cents is None:
                unpriced[sid] += s.quantity
            else:
                revenue_fixed[sid] += s.quantity * s.unit_price_cents
        codes = {i: c for c, i in ids.items()}
        ok = decrement_available(ctx, u.conn, loc, wanted, column="on_hand")
        if len(ok) != len(wanted):
            rejected.extend(_insufficient(u.conn, loc, wanted, ok, codes))
        to_price = [s for s in unpriced if s in ok]
        prices = current_prices(u.conn, to_price, Channel.STORE.value, now) if to_price else {}
        revenue = sum(revenue_fixed[s] for s in ok) + sum(
            q * prices[s] for s, q in unpriced.items() if s in ok
        )
        record_movements(
            u.conn,
            [
                {
                    "sku_id": s,
                    "location_id": loc,
                    "kind": MovementKind.SALE.value,
                    "quantity": -wanted[s],
                    "reference": body.reference,
                    "created_at": now,
                }
                for s in sorted(ok)
            ],
        )
        u.commit()
    accepted = [
        StockLine(sku=codes[s], quantity=wanted[s]) for s in sorted(ok, key=lambda s: codes[s])
    ]
    return PosSaleResult(accepted=accepted, rejected=rejected, revenue_cents=revenue)


def movements(
    ctx: ServiceContext,
    who: Principal,
    *,
    sku: str | None = None,
    location: str | None = None,
    cursor: str | None = None,
    limit: int = 500,
) -> Page[MovementRead]:
    """Ledger entries in insertion order, optionally for one SKU and/or location."""
    require_staff(who, "reading movements")
    if not 1 <= limit <= 5000:
        raise InvalidInputError(
            f"limit {limit} must be within 1..5000", details={"field": "limit", "value": limit}
        )
    after = 0
    if cursor:
        c = decode_cursor(cursor)
        after = c.get("id", 0)
        if not isinstance(after, int):
            raise InvalidInputError("bad cursor", details={"field": "cursor", "value": cursor})
    stmt = (
        select(
            _MOV.c.id,
            _SKU.c.code.label("sku"),
            _LOC.c.code.label("location"),
            _MOV.c.kind,
            _MOV.c.quantity,
            _MOV.c.reference,
            _MOV.c.created_at,
        )
        .select_from(
            _MOV.join(_SKU, _SKU.c.id == _MOV.c.sku_id).join(_LOC, _LOC.c.id == _MOV.c.location_id)
        )
        .where(_MOV.c.id > after)
        .order_by(_MOV.c.id)
        .limit(limit + 1)
    )
    with ctx.engine.connect() as conn:
        if sku is not None:
            stmt = stmt.where(_MOV.c.sku_id == ctx.sku_id(conn, sku))
        if location is not None:
            stmt = stmt.where(_MOV.c.location_id == ctx.location_id(conn, location))
        rows = conn.execute(stmt).all()
        conn.rollback()
    items = [
        MovementRead(
            id=r.id,
            sku=r.sku,
            location=r.location,
            kind=MovementKind(r.kind),
            quantity=r.quantity,
            reference=r.reference,
            created_at=r.created_at,
        )
        for r in rows[:limit]
    ]
    nxt = encode_cursor({"id": items[-1].id}) if len(rows) > limit else None
    return Page[MovementRead](items=items, next_cursor=nxt)


def ledger_mismatches(conn: Connection) -> list[tuple[int, int, int, int]]:
    """(sku_id, location_id, on_hand, ledger sum) where the ledger disagrees with the counters."""
    rows = conn.execute(
        text(
            "SELECT s.sku_id, s.location_id, s.on_hand, COALESCE(m.total, 0) FROM stock s "
            "LEFT JOIN (SELECT sku_id, location_id, SUM(quantity) AS total FROM movements "
            "GROUP BY sku_id, location_id) m ON m.sku_id = "
            "s.sku_id AND m.location_id = s.location_id "
            "WHERE s.on_hand <> COALESCE(m.total, 0)"
        )
    ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]
