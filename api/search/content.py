"""Versioned product content: descriptions, attributes and image URLs.

Every write appends version ``n + 1`` to ``product_contents``; reads get the latest or any
earlier version. Writers use optimistic concurrency: a write names the version it was based on
(``If-Match: "<n>"``); when another write got there first the primary key (product, version)
refuses the second insert and the caller gets 412, never a lost update.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError

from api.errors import (
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
)
from api.search.schemas import ContentRead, ContentVersion, ContentWrite
from api.services.context import Principal, ServiceContext, require_staff

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')
_URL = re.compile(r"^https?://[^\s]{1,2000}$")


def etag(version: int) -> str:
    """The strong entity tag of a content version."""
    return f'"{version}"'


def parse_if_match(raw: str | None) -> int | None:
    """The version named by an ``If-Match`` header (``"3"``, ``W/"3"`` or ``3``); None when
    absent. Raises InvalidInputError naming the header and value."""
    if raw is None:
        return None
    m = _ETAG.match(raw)
    if m is None:
        raise InvalidInputError(
            'If-Match must be a content version tag such as "3"',
            details={"field": "If-Match", "value": raw[:100]},
        )
    return int(m.group(1))


def _product_id(conn: Connection, code: str) -> int:
    pid = conn.execute(text("SELECT id FROM products WHERE code = :c"), {"c": code}).scalar()
    if pid is None:
        raise NotFoundError(f"unknown product {code!r}", details={"product": code})
    return int(pid)


def _read(code: str, r: Any) -> ContentRead:
    return ContentRead(
        product=code,
        version=int(r.version),
        description=r.description,
        attributes=json.loads(r.attributes),
        images=json.loads(r.images),
        created_at=r.created_at,
        created_by=r.created_by,
    )


def get_content(
    ctx: ServiceContext, who: Principal, product: str, version: int | None = None
) -> ContentRead:
    """The latest content of ``product`` or its ``version``. Raises NotFoundError (unknown
    product, no content yet, or no such version)."""
    from api.models import T

    pc = T["product_contents"]
    with ctx.engine.connect() as conn:
        pid = _product_id(conn, product)
        stmt = pc.select().where(pc.c.product_id == pid)
        if version is not None:
            stmt = stmt.where(pc.c.version == version)
        row = conn.execute(stmt.order_by(pc.c.version.desc()).limit(1)).first()
        conn.rollback()
    if row is None:
        details: dict[str, object] = {"product": product}
        if version is not None:
            details["version"] = version
        raise NotFoundError(f"no content for product {product!r}", details=details)
    return _read(product, row)


def list_versions(ctx: ServiceContext, who: Principal, product: str) -> list[ContentVersion]:
    """Every version of ``product``'s content, newest first. Raises NotFoundError."""
    from api.models import T

    pc = T["product_contents"]
    with ctx.engine.connect() as conn:
        pid = _product_id(conn, product)
        rows = conn.execute(
            select(pc.c.version, pc.c.created_at, pc.c.created_by)
            .where(pc.c.product_id == pid)
            .order_by(pc.c.version.desc())
        ).all()
        conn.rollback()
    return [ContentVersion(version=int(v), created_at=at, created_by=by) for v, at, by in rows]


def put_content(
    ctx: ServiceContext,
    who: Principal,
    product: str,
    body: ContentWrite,
    if_match: int | None,
) -> ContentRead:
    """Store ``body`` as the next version of ``product``'s content.

    ``if_match`` is the version the writer read; it may be None only for the first version.
    Raises ForbiddenError (customers), NotFoundError (unknown product), InvalidInputError (an
    image that is not an http(s) URL), PreconditionRequiredError (428: content exists and no
    ``if_match``), PreconditionFailedError (412: ``if_match`` is not the current version, or a
    concurrent write took the next version first).
    """
    from api.models import T

    require_staff(who, "editing product content")
    for i, url in enumerate(body.images):
        if not _URL.match(url):
            raise InvalidInputError(
                "images must be http(s) URLs", details={"field": f"images[{i}]", "value": url}
            )
    pc = T["product_contents"]
    with ctx.uow() as u:
        pid = _product_id(u.conn, product)
        current = u.conn.execute(
            text("SELECT MAX(version) FROM product_contents WHERE product_id = :p"), {"p": pid}
        ).scalar()
        cur = int(current or 0)
        if cur > 0 and if_match is None:
            raise PreconditionRequiredError(
                "updating existing content needs If-Match with the version you read",
                details={"product": product, "current_version": cur},
            )
        if if_match is not None and if_match != cur:
            raise PreconditionFailedError(
                f"content of {product!r} is at version {cur}, not {if_match}",
                details={"product": product, "current_version": cur, "if_match": if_match},
            )
        now = ctx.clock.now()
        values = {
            "product_id": pid,
            "version": cur + 1,
            "description": body.description,
            "attributes": json.dumps(body.attributes, sort_keys=True),
            "images": json.dumps(body.images),
            "created_at": now,
            "created_by": who.ident,
        }
        try:
            u.conn.execute(pc.insert().values(**values))
            u.commit()
        except IntegrityError as exc:
            raise PreconditionFailedError(
                f"content of {product!r} changed concurrently",
                details={"product": product, "if_match": if_match},
            ) from exc
    return ContentRead(
        product=product,
        version=cur + 1,
        description=body.description,
        attributes=dict(body.attributes),
        images=list(body.images),
        created_at=now,
        created_by=who.ident,
    )
