"""Catalog use cases: categories, bulk SKU import (set-based upserts), SKU lookup and search.

Search uses PostgreSQL full-text search (a generated ``tsvector`` with a GIN index) or SQLite
FTS5 (an external-content table kept by triggers); both stem English words and AND the terms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    exists,
    func,
    insert,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from api.errors import ConflictError, InvalidInputError, NotFoundError
from api.models import T
from api.schemas import (
    CategoryCreate,
    CategoryRead,
    ImportResult,
    Page,
    SearchQuery,
    SkuImportRow,
    SkuRead,
)
from api.services.context import (
    Principal,
    ServiceContext,
    decode_cursor,
    encode_cursor,
    require_staff,
)

_CAT, _PROD, _SKU, _STOCK = T["categories"], T["products"], T["skus"], T["stock"]
_WORD = re.compile(r"\w+", re.UNICODE)


def upsert_insert(ctx: ServiceContext, table: Any) -> Any:
    """The dialect's INSERT supporting ON CONFLICT (PostgreSQL and SQLite)."""
    return pg_insert(table) if ctx.is_pg else sqlite_insert(table)


def create_category(ctx: ServiceContext, who: Principal, body: CategoryCreate) -> CategoryRead:
    """Create a category (optionally under ``parent_code``).

    Raises: ForbiddenError (customer), NotFoundError (unknown parent), ConflictError (code taken).
    """
    require_staff(who, "creating categories")
    with ctx.uow() as u:
        parent_id = None
        if body.parent_code is not None:
            parent_id = u.conn.scalar(select(_CAT.c.id).where(_CAT.c.code == body.parent_code))
            if parent_id is None:
                raise NotFoundError(
                    f"unknown parent category {body.parent_code!r}",
                    details={"parent_code": body.parent_code},
                )
        try:
            u.conn.execute(insert(_CAT).values(code=body.code, name=body.name, parent_id=parent_id))
        except IntegrityError as exc:
            raise ConflictError(
                f"category {body.code!r} exists", details={"code": body.code}
            ) from exc
        u.commit()
    return CategoryRead(code=body.code, name=body.name, parent_code=body.parent_code)


def import_skus(ctx: ServiceContext, who: Principal, rows: Sequence[SkuImportRow]) -> ImportResult:
    """Create or update SKUs (and missing categories/products) in one transaction.

    Set-based: the rows are bulk-loaded into a temporary table (PostgreSQL ``COPY``, SQLite
    ``executemany``), then one ``INSERT ... SELECT ... ON CONFLICT`` per table merges them;
    unchanged SKUs are not rewritten. A SKU code appearing twice keeps its last row. Returns
    how many SKUs were created and how many already existed.
    """
    require_staff(who, "importing SKUs")
    if not rows:
        return ImportResult(created=0, updated=0)
    by_code: dict[str, tuple[Any, ...]] = {
        r.sku: (
            r.sku,
            r.product,
            r.name,
            r.category,
            r.description,
            json.dumps(r.attributes, sort_keys=True),
            r.cost_cents,
            r.list_price_cents,
        )
        for r in rows
    }
    with ctx.uow() as u:
        c = u.conn
        _load_import_table(ctx, c, list(by_code.values()))
        c.execute(
            text(
                "INSERT INTO categories (code, name) SELECT DISTINCT category, category "
                "FROM tmp_sku_import WHERE true ORDER BY category ON CONFLICT (code) DO NOTHING"
            )
        )
        c.execute(
            text(
                "INSERT INTO products (code, name, category_id) "
                "SELECT t.product, MIN(t.name), MIN(c.id) FROM tmp_sku_import t "
                "JOIN categories c ON c.code = t.category GROUP BY t.product ORDER BY t.product "
                "ON CONFLICT (code) DO NOTHING"
            )
        )
        existing = int(
            c.scalar(text("SELECT COUNT(*) FROM tmp_sku_import t JOIN skus s ON s.code = t.code"))
            or 0
        )
        cols = (
            "product_id",
            "category_id",
            "name",
            "description",
            "attributes",
            "cost_cents",
            "list_price_cents",
        )
        if ctx.is_pg:
            old = ", ".join("skus." + k for k in cols)
            new = ", ".join("excluded." + k for k in cols)
            changed = f"({old}) IS DISTINCT FROM ({new})"
        else:
            changed = " OR ".join(f"skus.{k} IS NOT excluded.{k}" for k in cols)
        c.execute(
            text(
                "INSERT INTO skus (code, product_id, category_id, name, "
                "description, attributes, cost_cents, "
                "list_price_cents) SELECT t.code, p.id, c.id, t.name, "
                "t.description, t.attributes, t.cost_cents, "
                "t.list_price_cents FROM tmp_sku_import t JOIN products p ON p.code = t.product "
                "JOIN categories c ON c.code = t.category WHERE true ORDER "
                "BY t.code ON CONFLICT (code) DO UPDATE SET "
                + ", ".join(f"{k} = excluded.{k}" for k in cols)
                + f" WHERE {changed}"
            )
        )
        c.execute(text("DROP TABLE tmp_sku_import"))
        u.commit()
    return ImportResult(created=len(by_code) - existing, updated=existing)


_IMPORT_COLS = (
    "code, product, name, category, description, attributes, cost_cents, list_price_cents"
)


def _load_import_table(ctx: ServiceContext, c: Connection, data: list[tuple[Any, ...]]) -> None:
    ddl = (
        "CREATE TEMP TABLE tmp_sku_import (code VARCHAR(64) PRIMARY KEY, product VARCHAR(64), "
        "name VARCHAR(300), category VARCHAR(64), description TEXT, attributes TEXT, "
        "cost_cents BIGINT, list_price_cents BIGINT)"
    )
    c.execute(text(ddl))
    raw: Any = c.connection.driver_connection
    if ctx.is_pg:
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY tmp_sku_import ({_IMPORT_COLS}) FROM STDIN") as cp,
        ):
            for row in data:
                cp.write_row(row)
    else:
        cur = raw.cursor()
        cur.executemany(
            f"INSERT INTO tmp_sku_import ({_IMPORT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data
        )
        cur.close()


def _sku_select() -> Select[Any]:
    return (
        select(
            _SKU.c.id,
            _SKU.c.code,
            _PROD.c.code.label("product"),
            _SKU.c.name,
            _CAT.c.code.label("category"),
            _SKU.c.description,
            _SKU.c.attributes,
            _SKU.c.cost_cents,
            _SKU.c.list_price_cents,
        )
        .join(_PROD, _PROD.c.id == _SKU.c.product_id)
        .join(_CAT, _CAT.c.id == _SKU.c.category_id)
    )


def _read(row: Any) -> SkuRead:
    return SkuRead(
        sku=row.code,
        product=row.product,
        name=row.name,
        category=row.category,
        description=row.description,
        attributes=json.loads(row.attributes),
        cost_cents=row.cost_cents,
        list_price_cents=row.list_price_cents,
    )


def get_sku(ctx: ServiceContext, who: Principal, sku: str) -> SkuRead:
    """Raises NotFoundError naming the code."""
    with ctx.engine.connect() as conn:
        row = conn.execute(_sku_select().where(_SKU.c.code == sku)).first()
        conn.rollback()
    if row is None:
        raise NotFoundError(f"unknown sku {sku!r}", details={"sku": sku})
    return _read(row)


def search(ctx: ServiceContext, who: Principal, q: SearchQuery) -> Page[SkuRead]:
    """Filter, sort and page SKUs. Cursors are opaque; ``relevance`` with text pages by offset,
    every other order by keyset (sort value, id)."""
    stmt = _sku_select()
    cur = decode_cursor(q.cursor) if q.cursor else None
    with ctx.engine.connect() as conn:
        if q.category is not None:
            stmt = stmt.where(_CAT.c.code == q.category)
        if q.min_price_cents is not None:
            stmt = stmt.where(_SKU.c.list_price_cents >= q.min_price_cents)
        if q.max_price_cents is not None:
            stmt = stmt.where(_SKU.c.list_price_cents <= q.max_price_cents)
        if q.in_stock_at is not None:
            loc = ctx.location_id(conn, q.in_stock_at)
            stmt = stmt.where(
                exists().where(
                    and_(
                        _STOCK.c.sku_id == _SKU.c.id,
                        _STOCK.c.location_id == loc,
                        _STOCK.c.on_hand - _STOCK.c.reserved > 0,
                    )
                )
            )
        words = _WORD.findall(q.q or "")
        if q.q is not None and q.q.strip() and not words:
            return Page[SkuRead](items=[], next_cursor=None)
        offset_mode = False
        if words:
            if ctx.is_pg:
                tsq = func.plainto_tsquery("english", " ".join(words))
                stmt = stmt.where(
                    text("skus.search_tsv @@ plainto_tsquery('english', :tsq)").bindparams(
                        tsq=" ".join(words)
                    )
                )
                rank = func.ts_rank(text("skus.search_tsv"), tsq)
                rank_order: list[Any] = [rank.desc(), _SKU.c.id]
            else:
                match = " ".join('"' + w.replace('"', "") + '"' for w in words)
                stmt = stmt.join(text("sku_fts"), text("sku_fts.rowid = skus.id")).where(
                    text("sku_fts MATCH :m").bindparams(m=match)
                )
                rank_order = [text("bm25(sku_fts)"), _SKU.c.id]
        keys: list[Any]
        if q.sort == "relevance" and words:
            offset_mode = True
            stmt = stmt.order_by(*rank_order)
            off = cur.get("o", 0) if cur else 0
            if not isinstance(off, int):
                raise InvalidInputError(
                    "cursor does not match the sort order",
                    details={"field": "cursor", "value": q.cursor},
                )
            stmt = stmt.offset(max(off, 0))
        else:
            col = {
                "relevance": None,
                "price_asc": _SKU.c.list_price_cents,
                "price_desc": _SKU.c.list_price_cents,
                "name": _SKU.c.name,
            }[q.sort]
            desc = q.sort == "price_desc"
            keys = [_SKU.c.id] if col is None else [col, _SKU.c.id]
            if cur is not None and "k" in cur:
                after = tuple(cur["k"]) if isinstance(cur["k"], list) else ()
                kinds = (int,) if col is None else ((str if q.sort == "name" else int), int)
                if len(after) != len(keys) or not all(
                    isinstance(a, k) and not isinstance(a, bool)
                    for a, k in zip(after, kinds, strict=False)
                ):
                    raise InvalidInputError(
                        "cursor does not match the sort order",
                        details={"field": "cursor", "value": q.cursor},
                    )
                cmp = tuple_(*keys) < tuple_(*after) if desc else tuple_(*keys) > tuple_(*after)
                stmt = stmt.where(cmp)
            stmt = stmt.order_by(*[k.desc() if desc else k for k in keys])
        rows = conn.execute(stmt.limit(q.limit + 1)).all()
        conn.rollback()
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    nxt = None
    if more:
        if offset_mode:
            nxt = encode_cursor({"o": (int(cur.get("o", 0)) if cur else 0) + q.limit})
        else:
            last = rows[-1]
            nxt = encode_cursor(
                {
                    "k": [last.id]
                    if q.sort == "relevance"
                    else [last.list_price_cents if q.sort != "name" else last.name, last.id]
                }
            )
    return Page[SkuRead](items=[_read(r) for r in rows], next_cursor=nxt)
