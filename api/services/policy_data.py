"""Set-based reads that feed policy observations: stock counters, daily sales, daily prices.

One query per kind of data for the whole SKU list (chunked at 5,000 ids for the bound-parameter
limits), never one per SKU; the per-day arrays are assembled with NumPy. Days are UTC calendar
days; a history window of ``h`` days ends *before* the clock's current day (today's partial
sales would bias a daily rate), so column ``h - 1`` is yesterday.

Sales are the ledger's SALE movements (POS sales and shipped orders), negated to units sold.
They are sales, not demand: days out of stock censor demand, which the policies see as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, and_, bindparam, exists, func, or_, select

from api.models import T
from api.schemas import MovementKind
from api.services.context import ServiceContext, chunks

_STOCK, _MOV, _SKU, _PRICE = T["stock"], T["movements"], T["skus"], T["prices"]
_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class Window:
    """``days`` whole UTC days ``[start, end)`` ending at the start of the clock's day."""

    start: datetime
    end: datetime
    days: int

    @classmethod
    def before(cls, now: datetime, days: int) -> Window:
        end = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
        return cls(start=end - timedelta(days=days), end=end, days=days)

    @property
    def first_day(self) -> date:
        return self.start.date()


def stocked_skus(conn: Connection, location_id: int) -> dict[str, int]:
    """Code -> id of every SKU with a stock row at the location, ordered by code."""
    rows = conn.execute(
        select(_SKU.c.code, _SKU.c.id)
        .select_from(_STOCK.join(_SKU, _SKU.c.id == _STOCK.c.sku_id))
        .where(_STOCK.c.location_id == location_id)
        .order_by(_SKU.c.code)
    ).all()
    return {str(code): int(i) for code, i in rows}


def stock_counters(
    conn: Connection, sku_ids: Sequence[int], location_id: int | None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``(on_hand, reserved)`` per SKU id (in the order given), at one location or summed over
    all locations (``location_id=None``); 0 without a stock row."""
    index = {s: i for i, s in enumerate(sku_ids)}
    on_hand = np.zeros(len(sku_ids), dtype=np.int64)
    reserved = np.zeros(len(sku_ids), dtype=np.int64)
    stmt = (
        select(_STOCK.c.sku_id, func.sum(_STOCK.c.on_hand), func.sum(_STOCK.c.reserved))
        .where(_STOCK.c.sku_id.in_(bindparam("ids", expanding=True)))
        .group_by(_STOCK.c.sku_id)
    )
    if location_id is not None:
        stmt = stmt.where(_STOCK.c.location_id == location_id)
    for chunk in chunks(list(sku_ids), _CHUNK):
        rows = conn.execute(stmt, {"ids": list(chunk)}).tuples().all()
        if rows:
            ids, oh, res = zip(*rows, strict=True)
            pos = np.fromiter((index[s] for s in ids), dtype=np.int64, count=len(rows))
            on_hand[pos] = np.fromiter(oh, dtype=np.int64, count=len(rows))
            reserved[pos] = np.fromiter(res, dtype=np.int64, count=len(rows))
    return on_hand, reserved


def _day_expr(ctx: ServiceContext) -> Any:
    # SQLite stores naive UTC text ('YYYY-MM-DD HH:MM:SS.ffffff'); PostgreSQL timestamptz is
    # turned into UTC wall time first so the day never depends on the session time zone.
    if ctx.is_pg:
        return func.date(func.timezone("UTC", _MOV.c.created_at))
    return func.date(_MOV.c.created_at)


def daily_sales(
    ctx: ServiceContext,
    conn: Connection,
    sku_ids: Sequence[int],
    location_id: int | None,
    window: Window,
) -> NDArray[np.float64]:
    """Units sold per SKU (rows, order given) and UTC day (columns, oldest first) in ``window``,
    at one location or all (``location_id=None``). Days without a sale are 0."""
    index = {s: i for i, s in enumerate(sku_ids)}
    out = np.zeros((len(sku_ids), window.days), dtype=np.float64)
    day = _day_expr(ctx).label("day")
    stmt = (
        select(_MOV.c.sku_id, day, -func.sum(_MOV.c.quantity))
        .where(
            _MOV.c.kind == MovementKind.SALE.value,
            _MOV.c.created_at >= window.start,
            _MOV.c.created_at < window.end,
            _MOV.c.sku_id.in_(bindparam("ids", expanding=True)),
        )
        .group_by(_MOV.c.sku_id, day)
    )
    if location_id is not None:
        stmt = stmt.where(_MOV.c.location_id == location_id)
    first = np.datetime64(window.first_day, "D")
    for chunk in chunks(list(sku_ids), _CHUNK):
        rows = conn.execute(stmt, {"ids": list(chunk)}).tuples().all()
        if not rows:
            continue
        ids, day_values, sold = zip(*rows, strict=True)
        sku_pos = np.fromiter((index[s] for s in ids), dtype=np.int64, count=len(rows))
        # 'YYYY-MM-DD' text (SQLite) or date objects (PostgreSQL): both parse as datetime64[D]
        col = (np.array(day_values, dtype="datetime64[D]") - first).astype(np.int64)
        ok = (col >= 0) & (col < window.days)
        qty = np.fromiter(sold, dtype=np.float64, count=len(rows))
        np.add.at(out, (sku_pos[ok], col[ok]), qty[ok])
    return out


def daily_prices(
    conn: Connection,
    sku_ids: Sequence[int],
    list_price: NDArray[np.int64],
    channel: str,
    window: Window,
) -> NDArray[np.int64]:
    """Price in effect at noon UTC of each day of ``window`` per SKU on ``channel``, cents.

    The rule of :mod:`api.services.prices`: the valid row with the latest ``valid_from``
    (ties: the latest written), else the list price. One query for the price rows that can win
    a day of the window; the per-day choice is a NumPy maximum over (row, day).
    """
    n, h = len(sku_ids), window.days
    out = np.repeat(np.asarray(list_price, dtype=np.int64)[:, None], h, axis=1)
    if n == 0 or h == 0:
        return out
    index = {s: i for i, s in enumerate(sku_ids)}
    noon = window.start + timedelta(hours=12)
    # A row outranked by an open-ended row already live at the first noon never wins a day of
    # the window: leaving those out keeps the read to about one row per SKU and price change.
    p2 = _PRICE.alias("p2")
    superseded = exists().where(
        p2.c.sku_id == _PRICE.c.sku_id,
        p2.c.channel == _PRICE.c.channel,
        p2.c.valid_to.is_(None),
        p2.c.valid_from <= noon,
        or_(
            p2.c.valid_from > _PRICE.c.valid_from,
            and_(p2.c.valid_from == _PRICE.c.valid_from, p2.c.id > _PRICE.c.id),
        ),
    )
    stmt = select(
        _PRICE.c.id, _PRICE.c.sku_id, _PRICE.c.price_cents, _PRICE.c.valid_from, _PRICE.c.valid_to
    ).where(
        _PRICE.c.channel == channel,
        _PRICE.c.valid_from < window.end,
        or_(_PRICE.c.valid_to.is_(None), _PRICE.c.valid_to > noon),
        _PRICE.c.sku_id.in_(bindparam("ids", expanding=True)),
        ~superseded,
    )
    rows: list[Any] = []
    for chunk in chunks(list(sku_ids), _CHUNK):
        rows.extend(conn.execute(stmt, {"ids": list(chunk)}).tuples().all())
    if not rows:
        return out
    k = len(rows)
    row_id, row_sku, row_price, row_from, row_to = zip(*rows, strict=True)
    t0 = window.start.timestamp()
    vfrom = np.fromiter((v.timestamp() - t0 for v in row_from), dtype=np.float64, count=k)
    vto = np.fromiter(
        (np.inf if v is None else v.timestamp() - t0 for v in row_to), dtype=np.float64, count=k
    )
    # rank: larger = later valid_from, then later id (the row that wins when both are live)
    order = np.lexsort((np.fromiter(row_id, dtype=np.int64, count=k), vfrom))
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    sku_pos = np.fromiter((index[s] for s in row_sku), dtype=np.int64, count=k)
    price = np.fromiter(row_price, dtype=np.int64, count=k)
    noons = 43_200.0 + 86_400.0 * np.arange(h)
    best = np.full((n, h), -1, dtype=np.int64)
    for start in range(0, k, 4096):  # bounds the (rows, days) temporary
        sl = slice(start, start + 4096)
        live = (vfrom[sl, None] <= noons[None, :]) & (noons[None, :] < vto[sl, None])
        np.maximum.at(best, sku_pos[sl], np.where(live, rank[sl, None], -1))
    has = best >= 0
    out[has] = price[order[best[has]]]
    return out
