"""Prices per SKU and channel with validity windows ``[valid_from, valid_to)``.

The current price of a SKU on a channel is the valid row with the latest ``valid_from`` (ties:
the latest written); without one, the SKU's list price applies (reported with
``valid_from`` 1970-01-01). Policies set prices in bulk through :func:`set_prices`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select

from api.errors import InvalidInputError, NotFoundError
from api.models import T
from api.schemas import Channel, PriceBulkResult, PriceRead, PriceSet
from api.services.context import Principal, ServiceContext, chunks, require_staff

_PRICE, _SKU = T["prices"], T["skus"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def set_prices(ctx: ServiceContext, who: Principal, prices: Sequence[PriceSet]) -> PriceBulkResult:
    """Write price rows in one transaction (one batched INSERT).

    Raises: ForbiddenError (customer), NotFoundError (unknown SKUs, listed in details),
    InvalidInputError (a window whose end is not after its start).
    """
    require_staff(who, "setting prices")
    if not prices:
        return PriceBulkResult(updated=0)
    now = ctx.clock.now()
    rows: list[dict[str, Any]] = []
    with ctx.uow() as u:
        ids = ctx.sku_ids(u.conn, {p.sku for p in prices})
        missing = sorted({p.sku for p in prices} - ids.keys())
        if missing:
            raise NotFoundError(f"unknown skus {missing[:10]}", details={"skus": missing[:100]})
        for i, p in enumerate(prices):
            start = p.valid_from or now
            if p.valid_to is not None and p.valid_to <= start:
                raise InvalidInputError(
                    f"prices[{i}].valid_to {p.valid_to.isoformat()} is not after valid_from "
                    f"{start.isoformat()}",
                    details={"field": f"prices[{i}].valid_to"},
                )
            rows.append(
                {
                    "sku_id": ids[p.sku],
                    "channel": p.channel.value,
                    "price_cents": p.price_cents,
                    "valid_from": start,
                    "valid_to": p.valid_to,
                }
            )
        for chunk in chunks(rows, 20000):
            u.conn.execute(insert(_PRICE), list(chunk))
        u.commit()
    return PriceBulkResult(updated=len(rows))


def _current_stmt() -> Any:
    """Current price rows of the SKUs ``ids`` on channel ``ch`` at ``now`` (built once)."""
    p2 = _PRICE.alias("p2")
    best = (
        select(p2.c.id)
        .where(
            p2.c.sku_id == _SKU.c.id,
            p2.c.channel == bindparam("ch"),
            p2.c.valid_from <= bindparam("now"),
            or_(p2.c.valid_to.is_(None), p2.c.valid_to > bindparam("now")),
        )
        .order_by(p2.c.valid_from.desc(), p2.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            _SKU.c.id,
            _SKU.c.code,
            _SKU.c.list_price_cents,
            _PRICE.c.price_cents,
            _PRICE.c.valid_from,
            _PRICE.c.valid_to,
        )
        .select_from(_SKU.outerjoin(_PRICE, _PRICE.c.id == best))
        .where(_SKU.c.id.in_(bindparam("ids", expanding=True)))
    )


_CURRENT = _current_stmt()


_P1 = _PRICE.alias("p1")
_ONE_PRICE = select(
    func.coalesce(
        select(_P1.c.price_cents)
        .where(
            _P1.c.sku_id == bindparam("sku"),
            _P1.c.channel == bindparam("ch"),
            _P1.c.valid_from <= bindparam("now"),
            or_(_P1.c.valid_to.is_(None), _P1.c.valid_to > bindparam("now")),
        )
        .order_by(_P1.c.valid_from.desc(), _P1.c.id.desc())
        .limit(1)
        .scalar_subquery(),
        _SKU.c.list_price_cents,
    )
).where(_SKU.c.id == bindparam("sku"))


def current_price(conn: Connection, sku_id: int, channel: str, now: datetime) -> int:
    """Current price in cents of one SKU on ``channel`` (its list price when none is set)."""
    return int(conn.execute(_ONE_PRICE, {"sku": sku_id, "ch": channel, "now": now}).scalar_one())


def current_prices(
    conn: Connection, sku_ids: Sequence[int], channel: str, now: datetime
) -> dict[int, int]:
    """Current price in cents per SKU id on ``channel`` (list price when none is set)."""
    out: dict[int, int] = {}
    for chunk in chunks(list(sku_ids), 5000):
        for r in conn.execute(_CURRENT, {"ids": list(chunk), "ch": channel, "now": now}):
            out[r.id] = r.price_cents if r.price_cents is not None else r.list_price_cents
    return out


def get_prices(
    ctx: ServiceContext, who: Principal, skus: Sequence[str], channel: str
) -> list[PriceRead]:
    """Current prices of ``skus`` on ``channel``, in the order asked.

    Raises: InvalidInputError (unknown channel), NotFoundError (unknown SKUs).
    """
    try:
        ch = Channel(channel)
    except ValueError as exc:
        raise InvalidInputError(
            f"channel {channel!r} is not one of {[c.value for c in Channel]}",
            details={"field": "channel", "value": channel},
        ) from exc
    now = ctx.clock.now()
    with ctx.engine.connect() as conn:
        ids = ctx.sku_ids(conn, skus)
        missing = sorted(set(skus) - ids.keys())
        if missing:
            raise NotFoundError(f"unknown skus {missing[:10]}", details={"skus": missing[:100]})
        found: dict[str, PriceRead] = {}
        for chunk in chunks(list(ids.values()), 5000):
            for r in conn.execute(_CURRENT, {"ids": list(chunk), "ch": ch.value, "now": now}):
                if r.price_cents is None:
                    found[r.code] = PriceRead(
                        sku=r.code,
                        channel=ch,
                        price_cents=r.list_price_cents,
                        valid_from=EPOCH,
                        valid_to=None,
                    )
                else:
                    found[r.code] = PriceRead(
                        sku=r.code,
                        channel=ch,
                        price_cents=r.price_cents,
                        valid_from=r.valid_from,
                        valid_to=r.valid_to,
                    )
        conn.rollback()
    return [found[s] for s in dict.fromkeys(skus)]
