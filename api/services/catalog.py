"""Catalog use cases: categories, bulk SKU import (set-based upserts), SKU lookup and search.

Search lives in :mod:`api.search` (docs/search.md); importing SKUs also adds their words to
the search vocabulary used for typo correction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from api.errors import ConflictError, NotFoundError
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
from api.search import service as search_service
from api.services.context import (
    Principal,
    ServiceContext,
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
        search_service.add_to_vocab(c, [(r[2], r[4], r[5]) for r in by_code.values()])
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
    """Filter, rank and page SKUs (implemented in :mod:`api.search.service`).

    Raises InvalidInputError (422: a cursor from another sort or mode), NotFoundError (unknown
    ``in_stock_at`` / ``rank_at`` location)."""
    return search_service.search(ctx, who, q)
