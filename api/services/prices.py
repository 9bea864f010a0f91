"""Prices per SKU and channel with validity windows ``[valid_from, valid_to)``.

The current price of a SKU on a channel is the valid row with the latest ``valid_from`` (ties:
the latest written); without one, the SKU's list price applies (reported with
``valid_from`` 1970-01-01). Policies set prices in bulk through :func:`set_prices`.

:func:`compose` is the one place where prices and promotions meet (carts, checkout, orders).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select

from api.errors import InvalidInputError, NotFoundError
from api.models import T
from api.schemas import Channel, DiscountLine, PriceBulkResult, PriceRead, PriceSet
from api.services.context import Principal, ServiceContext, chunks, require_staff
from api.services.promotions import (
    PricedLine,
    Rule,
    automatic_rules,
    discounts,
    not_applicable,
    voucher_rule,
)

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


# ---- composition: prices and promotions, in one place -----------------------------------------
@dataclass(frozen=True, slots=True)
class Composition:
    """What a set of priced lines costs once the promotions are taken off (cents)."""

    subtotal_cents: int
    applied: tuple[tuple[Rule, int], ...] = ()
    voucher: str | None = None  # the voucher asked for (applied or not)

    @property
    def discount_cents(self) -> int:
        return sum(a for _r, a in self.applied)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents - self.discount_cents

    def discount_lines(self) -> list[DiscountLine]:
        """The discounts as shown on a cart or an order."""
        return [
            DiscountLine(promotion_id=r.id, code=r.code, name=r.name, amount_cents=a)
            for r, a in self.applied
        ]


_CV, _PR = T["cart_vouchers"], T["promotions"]
_CART_VOUCHER = (
    select(_PR.c.id, _PR.c.code)
    .join(_CV, _CV.c.promotion_id == _PR.c.id)
    .where(_CV.c.cart_id == bindparam("cid"))
)


def compose(
    conn: Connection,
    lines: Sequence[PricedLine],
    *,
    channel: str,
    customer_id: str,
    now: datetime,
    voucher: str | None = None,
    cart_id: int | None = None,
    strict: bool,
) -> Composition:
    """Price ``lines`` (unit prices already set by :func:`current_prices` or a cart's snapshot)
    with the promotions in force at ``now``: every automatic one that fits, plus the voucher
    ``voucher`` (or else the one entered on cart ``cart_id``). The one function carts,
    express and cart checkout and orders price through.

    ``strict`` (checkout): a voucher that cannot be used raises VoucherNotFoundError,
    VoucherExpiredError, VoucherExhaustedError or VoucherNotApplicableError (nothing to take
    off); otherwise (showing a cart) such a voucher is left out.
    """
    subtotal = sum(ln.quantity * ln.unit_price_cents for ln in lines)
    rules = automatic_rules(conn, channel, now)
    vrule: Rule | None = None
    if voucher is not None:
        vrule = voucher_rule(
            conn, code=voucher, channel=channel, customer_id=customer_id, now=now, strict=strict
        )
    elif cart_id is not None:
        entered = conn.execute(_CART_VOUCHER, {"cid": cart_id}).first()
        if entered is not None:
            voucher = entered.code
            vrule = voucher_rule(
                conn,
                promotion_id=entered.id,
                channel=channel,
                customer_id=customer_id,
                now=now,
                strict=strict,
            )
    if vrule is not None:
        rules.append(vrule)
    if not rules or not lines:
        return Composition(subtotal, voucher=voucher)
    applied = discounts(lines, rules)
    if strict and vrule is not None and all(r.id != vrule.id for r, _a in applied):
        raise not_applicable(vrule, subtotal)
    return Composition(subtotal, tuple(applied), voucher)
