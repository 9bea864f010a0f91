"""Promotions: vouchers, percentage, fixed and bundle discounts, and their usage limits.

A promotion is a rule (:class:`Rule`); :func:`discounts` works out what a set of rules takes
off a set of priced lines (pure, no database). :func:`api.services.prices.compose` is the one
place where prices and promotions meet: carts, express and cart checkout and orders all call it.

Stacking, in this order, each rule on what the earlier ones left of each line:

1. ``bundle``: the eligible units, most expensive first, in groups of ``bundle_qty``; a full
   group costs ``bundle_price_cents`` (or gets ``percent_off``), never more than it did;
2. ``percent``: ``percent_off`` of each eligible line (rounded down, per line);
3. ``fixed``: ``amount_off_cents`` off the eligible lines, at most what is left of them.

A rule applies only when the order's subtotal (before discounts) reaches its
``min_subtotal_cents``; automatic rules (no code) apply wherever they fit, a voucher (at most
one per cart or order) only when entered, and raises a typed 409 when it does not fit.

Usage limits are guarded by the database, in the order-placing transaction: the total with one
conditional ``UPDATE promotions SET uses = uses + 1 WHERE id = ? AND uses < max_uses`` (a CHECK
backs it up), the per-customer limit with the same on the (promotion, customer) row. Under
PostgreSQL's row locks a concurrent update re-checks the condition after the winner commits, so
no limit is exceeded under any race; a loser's whole transaction (its stock reservation
included) rolls back with ``VOUCHER_EXHAUSTED``. A declined, failed or cancelled order gives its
uses back (:func:`release_uses`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from api.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    VoucherExhaustedError,
    VoucherExpiredError,
    VoucherNotApplicableError,
    VoucherNotFoundError,
)
from api.models import T
from api.schemas import Channel, DiscountLine
from api.schemas_promo import PromotionCreate, PromotionRead
from api.services.context import Principal, ServiceContext, require_staff

_PROMO, _PSKU, _CUSE = T["promotions"], T["promotion_skus"], T["promotion_customer_uses"]
_DISC, _SKU = T["order_discounts"], T["skus"]
_KIND_ORDER = {"bundle": 0, "percent": 1, "fixed": 2}


# ---- the rules and their arithmetic (pure) ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class PricedLine:
    """A line to discount: ``quantity`` units at ``unit_price_cents``."""

    sku_id: int
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True, slots=True)
class Rule:
    """A promotion as the arithmetic needs it (``skus`` None: every SKU)."""

    id: int
    name: str
    kind: str
    code: str | None = None
    percent_off: int | None = None
    amount_off_cents: int | None = None
    bundle_qty: int | None = None
    bundle_price_cents: int | None = None
    min_subtotal_cents: int = 0
    skus: frozenset[int] | None = None
    limited: bool = False  # has a total or per-customer usage limit


def _bundle(rule: Rule, lines: Sequence[PricedLine], net: dict[int, int]) -> dict[int, int]:
    """Discount per SKU id of a bundle rule, on the lines' remaining net amounts."""
    assert rule.bundle_qty is not None
    runs = sorted(
        ((ln.unit_price_cents, ln.sku_id, ln.quantity) for ln in lines if ln.quantity > 0),
        key=lambda r: (-r[0], r[1]),
    )
    units = sum(r[2] for r in runs)
    groups = units // rule.bundle_qty
    out: dict[int, int] = defaultdict(int)
    if groups == 0:
        return out
    # walk the units most expensive first, a group at a time (runs let a group span lines)
    run_i, left_in_run = 0, runs[0][2]
    for _ in range(groups):
        members: list[tuple[int, int, int]] = []  # (sku, units, unit price)
        need = rule.bundle_qty
        while need:
            price, sku, _q = runs[run_i]
            take = min(need, left_in_run)
            members.append((sku, take, price))
            need -= take
            left_in_run -= take
            if left_in_run == 0 and run_i + 1 < len(runs):
                run_i += 1
                left_in_run = runs[run_i][2]
        gross = sum(q * p for _s, q, p in members)
        if rule.bundle_price_cents is not None:
            off = max(0, gross - rule.bundle_price_cents)
        else:
            off = gross * (rule.percent_off or 0) // 100
        for sku, q, p in members:  # most expensive first, never below 0 per line
            if off <= 0:
                break
            room = net[sku] - out[sku]
            take = min(off, q * p, room)
            out[sku] += take
            off -= take
    return out


def discounts(lines: Sequence[PricedLine], rules: Sequence[Rule]) -> list[tuple[Rule, int]]:
    """What each rule takes off ``lines`` (cents > 0 only), in the stacking order of the
    module docstring. The total never exceeds the lines' subtotal."""
    subtotal = sum(ln.quantity * ln.unit_price_cents for ln in lines)
    net: dict[int, int] = defaultdict(int)
    for ln in lines:
        net[ln.sku_id] += ln.quantity * ln.unit_price_cents
    out: list[tuple[Rule, int]] = []
    for rule in sorted(rules, key=lambda r: (_KIND_ORDER[r.kind], r.id)):
        if subtotal < rule.min_subtotal_cents:
            continue
        elig = [ln for ln in lines if rule.skus is None or ln.sku_id in rule.skus]
        if not elig:
            continue
        off: dict[int, int] = defaultdict(int)
        if rule.kind == "bundle":
            off = _bundle(rule, elig, net)
        elif rule.kind == "percent":
            for ln in elig:
                off[ln.sku_id] += net[ln.sku_id] * (rule.percent_off or 0) // 100
        else:  # fixed: off the eligible lines, largest first
            left = rule.amount_off_cents or 0
            for sku in sorted({ln.sku_id for ln in elig}, key=lambda s: (-net[s], s)):
                take = min(left, net[sku])
                off[sku] += take
                left -= take
        total = 0
        for sku, d in off.items():
            d = min(d, net[sku])
            net[sku] -= d
            total += d
        if total > 0:
            out.append((rule, total))
    return out


# ---- loading rules ---------------------------------------------------------------------------
def _rules(conn: Connection, rows: Sequence[Any]) -> list[Rule]:
    if not rows:
        return []
    scopes: dict[int, set[int]] = defaultdict(set)
    for pid, sku in conn.execute(
        select(_PSKU.c.promotion_id, _PSKU.c.sku_id).where(
            _PSKU.c.promotion_id.in_([r.id for r in rows])
        )
    ):
        scopes[pid].add(sku)
    return [
        Rule(
            id=r.id,
            name=r.name,
            kind=r.kind,
            code=r.code,
            percent_off=r.percent_off,
            amount_off_cents=r.amount_off_cents,
            bundle_qty=r.bundle_qty,
            bundle_price_cents=r.bundle_price_cents,
            min_subtotal_cents=r.min_subtotal_cents,
            skus=frozenset(scopes[r.id]) if r.id in scopes else None,
            limited=r.max_uses is not None or r.max_uses_per_customer is not None,
        )
        for r in rows
    ]


_AUTO = (
    select(_PROMO)
    .where(
        _PROMO.c.code.is_(None),
        _PROMO.c.active.is_(True),
        _PROMO.c.valid_from <= bindparam("now"),
        or_(_PROMO.c.valid_to.is_(None), _PROMO.c.valid_to > bindparam("now")),
        or_(_PROMO.c.channel.is_(None), _PROMO.c.channel == bindparam("ch")),
    )
    .order_by(_PROMO.c.id)
)


def automatic_rules(conn: Connection, channel: str, now: datetime) -> list[Rule]:
    """The automatic promotions (no code) in force at ``now`` on ``channel``."""
    return _rules(conn, conn.execute(_AUTO, {"now": now, "ch": channel}).all())


def voucher_rule(
    conn: Connection,
    *,
    code: str | None = None,
    promotion_id: int | None = None,
    channel: str,
    customer_id: str,
    now: datetime,
    strict: bool,
) -> Rule | None:
    """The voucher ``code`` (or promotion ``promotion_id``) as a rule, checked at ``now``.

    ``strict``: raise when it cannot be used (checkout); otherwise answer None (a cart shows
    no discount for it). Raises VoucherNotFoundError, VoucherExpiredError,
    VoucherExhaustedError (``details.scope``: ``total`` or ``customer``),
    VoucherNotApplicableError (channel).
    """
    q = select(_PROMO).where(
        _PROMO.c.code == code if code is not None else _PROMO.c.id == promotion_id
    )
    row = conn.execute(q).first()
    try:
        if row is None or row.code is None:
            raise VoucherNotFoundError(
                f"voucher {code!r} not found", details={"field": "voucher", "value": code}
            )
        det = {"voucher": row.code}
        if not row.active or row.valid_from > now:
            raise VoucherExpiredError(
                f"voucher {row.code!r} is not valid yet or was withdrawn",
                details={**det, "valid_from": row.valid_from.isoformat()},
            )
        if row.valid_to is not None and row.valid_to <= now:
            raise VoucherExpiredError(
                f"voucher {row.code!r} expired at {row.valid_to.isoformat()}",
                details={**det, "valid_to": row.valid_to.isoformat()},
            )
        if row.channel is not None and row.channel != channel:
            raise VoucherNotApplicableError(
                f"voucher {row.code!r} is for the {row.channel} channel, not {channel}",
                details={**det, "reason": "channel", "channel": row.channel},
            )
        if row.max_uses is not None and row.uses >= row.max_uses:
            raise _exhausted(row.code, "total", row.max_uses)
        if row.max_uses_per_customer is not None:
            used = conn.scalar(
                select(_CUSE.c.uses).where(
                    _CUSE.c.promotion_id == row.id, _CUSE.c.customer_id == customer_id
                )
            )
            if used is not None and used >= row.max_uses_per_customer:
                raise _exhausted(row.code, "customer", row.max_uses_per_customer)
    except (
        VoucherNotFoundError,
        VoucherExpiredError,
        VoucherNotApplicableError,
        VoucherExhaustedError,
    ):
        if strict:
            raise
        return None
    return _rules(conn, [row])[0]


def _exhausted(code: str, scope: str, limit: int) -> VoucherExhaustedError:
    what = "uses" if scope == "total" else "uses per customer"
    return VoucherExhaustedError(
        f"voucher {code!r} has been used up ({limit} {what})",
        details={"voucher": code, "scope": scope, "limit": limit},
    )


def not_applicable(rule: Rule, subtotal: int) -> VoucherNotApplicableError:
    """The error for a voucher that takes nothing off (minimum subtotal, SKUs)."""
    if subtotal < rule.min_subtotal_cents:
        return VoucherNotApplicableError(
            f"voucher {rule.code!r} needs a subtotal of {rule.min_subtotal_cents} cents, "
            f"this one is {subtotal}",
            details={
                "voucher": rule.code,
                "reason": "min_subtotal",
                "min_subtotal_cents": rule.min_subtotal_cents,
                "subtotal_cents": subtotal,
            },
        )
    return VoucherNotApplicableError(
        f"voucher {rule.code!r} applies to none of these items",
        details={"voucher": rule.code, "reason": "no_eligible_items"},
    )


# ---- usage limits (the database guards them) ------------------------------------------------
_USE_TOTAL = (
    update(_PROMO)
    .where(
        _PROMO.c.id == bindparam("pid"),
        or_(_PROMO.c.max_uses.is_(None), _PROMO.c.uses < _PROMO.c.max_uses),
    )
    .values(uses=_PROMO.c.uses + 1)
    .returning(_PROMO.c.code, _PROMO.c.max_uses, _PROMO.c.max_uses_per_customer)
)
_USE_CUSTOMER = (
    update(_CUSE)
    .where(
        _CUSE.c.promotion_id == bindparam("pid"),
        _CUSE.c.customer_id == bindparam("cust"),
        _CUSE.c.uses < bindparam("lim"),
    )
    .values(uses=_CUSE.c.uses + 1)
)


def count_use(conn: Connection, rule: Rule, customer_id: str) -> None:
    """Count one use of a limited promotion in ``conn``'s transaction, or raise
    VoucherExhaustedError (the caller's transaction then rolls back)."""
    row = conn.execute(_USE_TOTAL, {"pid": rule.id}).first()
    if row is None:
        limit = conn.scalar(select(_PROMO.c.max_uses).where(_PROMO.c.id == rule.id))
        raise _exhausted(rule.code or "", "total", int(limit or 0))
    if row.max_uses_per_customer is None:
        return
    ins: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        ins(_CUSE)
        .values(promotion_id=rule.id, customer_id=customer_id, uses=0)
        .on_conflict_do_nothing()
    )
    ok = conn.execute(
        _USE_CUSTOMER, {"pid": rule.id, "cust": customer_id, "lim": row.max_uses_per_customer}
    ).rowcount
    if ok != 1:
        raise _exhausted(row.code, "customer", row.max_uses_per_customer)


def record_discounts(
    conn: Connection,
    order_id: int,
    customer_id: str,
    applied: Sequence[tuple[Rule, int]],
) -> None:
    """Count the uses of the limited rules and write the order's discount lines."""
    if not applied:
        return
    for rule, _amount in sorted(applied, key=lambda a: a[0].id):  # lock order: promotion id
        if rule.limited:
            count_use(conn, rule, customer_id)
    conn.execute(
        insert(_DISC),
        [
            {
                "order_id": order_id,
                "promotion_id": rule.id,
                "code": rule.code,
                "name": rule.name,
                "amount_cents": amount,
                "counted": rule.limited,
            }
            for rule, amount in applied
        ],
    )


def release_uses(conn: Connection, order_ids: Sequence[int]) -> int:
    """Give back the uses that orders counted (declined, failed, cancelled). Returns how many."""
    if not order_ids:
        return 0
    rows = conn.execute(
        update(_DISC)
        .where(_DISC.c.order_id.in_(list(order_ids)), _DISC.c.counted.is_(True))
        .values(counted=False)
        .returning(_DISC.c.order_id, _DISC.c.promotion_id)
    ).all()
    if not rows:
        return 0
    _ord = T["orders"]
    cust = dict(
        conn.execute(
            select(_ord.c.id, _ord.c.customer_id).where(_ord.c.id.in_({r[0] for r in rows}))
        ).all()
    )
    for oid, pid in sorted(rows, key=lambda r: (r[1], r[0])):  # lock order: promotion id
        conn.execute(
            update(_PROMO)
            .where(_PROMO.c.id == pid, _PROMO.c.uses > 0)
            .values(uses=_PROMO.c.uses - 1)
        )
        conn.execute(
            update(_CUSE)
            .where(
                _CUSE.c.promotion_id == pid,
                _CUSE.c.customer_id == cust.get(oid),
                _CUSE.c.uses > 0,
            )
            .values(uses=_CUSE.c.uses - 1)
        )
    return len(rows)


_DISC_OF = (
    select(_DISC.c.order_id, _DISC.c.promotion_id, _DISC.c.code, _DISC.c.name, _DISC.c.amount_cents)
    .where(_DISC.c.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(_DISC.c.order_id, _DISC.c.id)
)


def order_discounts(conn: Connection, order_ids: Sequence[int]) -> dict[int, list[DiscountLine]]:
    """The discount lines of orders (one query)."""
    out: dict[int, list[DiscountLine]] = defaultdict(list)
    if not order_ids:
        return out
    for r in conn.execute(_DISC_OF, {"ids": list(order_ids)}):
        out[r.order_id].append(
            DiscountLine(
                promotion_id=r.promotion_id, code=r.code, name=r.name, amount_cents=r.amount_cents
            )
        )
    return out


# ---- use cases: promotions (staff) ------------------------------------------------------------
def _read(conn: Connection, row: Any) -> PromotionRead:
    skus = [
        s
        for (s,) in conn.execute(
            select(_SKU.c.code)
            .join(_PSKU, _PSKU.c.sku_id == _SKU.c.id)
            .where(_PSKU.c.promotion_id == row.id)
            .order_by(_SKU.c.code)
        )
    ]
    return PromotionRead(
        id=row.id,
        name=row.name,
        kind=row.kind,
        code=row.code,
        percent_off=row.percent_off,
        amount_off_cents=row.amount_off_cents,
        bundle_qty=row.bundle_qty,
        bundle_price_cents=row.bundle_price_cents,
        skus=skus,
        channel=Channel(row.channel) if row.channel else None,
        min_subtotal_cents=row.min_subtotal_cents,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        max_uses=row.max_uses,
        max_uses_per_customer=row.max_uses_per_customer,
        uses=row.uses,
        active=row.active,
    )


def create_promotion(ctx: ServiceContext, who: Principal, body: PromotionCreate) -> PromotionRead:
    """Create a promotion (staff). Raises ForbiddenError, NotFoundError (unknown SKUs),
    InvalidInputError (window end not after its start), ConflictError (code taken)."""
    require_staff(who, "creating promotions")
    now = ctx.clock.now()
    start = body.valid_from or now
    if body.valid_to is not None and body.valid_to <= start:
        raise InvalidInputError(
            f"valid_to {body.valid_to.isoformat()} is not after valid_from {start.isoformat()}",
            details={"field": "valid_to", "value": body.valid_to.isoformat()},
        )
    with ctx.uow() as u:
        c = u.conn
        if body.code is not None and c.scalar(
            select(_PROMO.c.id).where(_PROMO.c.code == body.code)
        ):
            raise ConflictError(
                f"voucher code {body.code!r} is taken",
                details={"field": "code", "value": body.code},
            )
        ids = ctx.sku_ids(c, body.skus)
        missing = sorted(set(body.skus) - ids.keys())
        if missing:
            raise NotFoundError(f"unknown skus {missing[:10]}", details={"skus": missing[:100]})
        pid = c.execute(
            insert(_PROMO).returning(_PROMO.c.id),
            {
                "code": body.code,
                "name": body.name,
                "kind": body.kind,
                "percent_off": body.percent_off,
                "amount_off_cents": body.amount_off_cents,
                "bundle_qty": body.bundle_qty,
                "bundle_price_cents": body.bundle_price_cents,
                "channel": body.channel.value if body.channel else None,
                "min_subtotal_cents": body.min_subtotal_cents,
                "valid_from": start,
                "valid_to": body.valid_to,
                "max_uses": body.max_uses,
                "max_uses_per_customer": body.max_uses_per_customer,
                "uses": 0,
                "active": True,
                "created_at": now,
            },
        ).scalar_one()
        if ids:
            c.execute(
                insert(_PSKU), [{"promotion_id": pid, "sku_id": i} for i in sorted(ids.values())]
            )
        out = _read(c, c.execute(select(_PROMO).where(_PROMO.c.id == pid)).one())
        u.commit()
    return out


def get_promotion(ctx: ServiceContext, who: Principal, promotion_id: int) -> PromotionRead:
    """One promotion with its use count (staff). Raises ForbiddenError, NotFoundError."""
    require_staff(who, "reading promotions")
    with ctx.engine.connect() as conn:
        row = conn.execute(select(_PROMO).where(_PROMO.c.id == promotion_id)).first()
        if row is None:
            raise NotFoundError(
                f"promotion {promotion_id} not found", details={"promotion_id": promotion_id}
            )
        out = _read(conn, row)
        conn.rollback()
    return out


def list_promotions(ctx: ServiceContext, who: Principal) -> list[PromotionRead]:
    """Every promotion, newest first (staff)."""
    require_staff(who, "reading promotions")
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(_PROMO).order_by(_PROMO.c.id.desc()).limit(1000)).all()
        out = [_read(conn, r) for r in rows]
        conn.rollback()
    return out


def end_promotion(ctx: ServiceContext, who: Principal, promotion_id: int) -> PromotionRead:
    """Withdraw a promotion now (staff); orders placed with it keep their discounts."""
    require_staff(who, "ending promotions")
    with ctx.uow() as u:
        n = u.conn.execute(
            update(_PROMO).where(_PROMO.c.id == promotion_id).values(active=False)
        ).rowcount
        if n != 1:
            raise NotFoundError(
                f"promotion {promotion_id} not found", details={"promotion_id": promotion_id}
            )
        out = _read(u.conn, u.conn.execute(select(_PROMO).where(_PROMO.c.id == promotion_id)).one())
        u.commit()
    return out


_ANY_AUTO = _AUTO.with_only_columns(_PROMO.c.id).limit(1)


def any_automatic(conn: Connection, channel: str, now: datetime) -> bool:
    """Whether an automatic promotion is in force at ``now`` on ``channel`` (one index probe)."""
    return conn.execute(_ANY_AUTO, {"now": now, "ch": channel}).first() is not None
