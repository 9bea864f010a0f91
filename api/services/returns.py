"""Returns as RMAs: requested -> received -> inspected -> restocked | written_off -> refunded.

* **requested** (its customer or staff): units of a delivered order; the order lines'
  ``returned_qty`` grows by a conditional UPDATE (``returned_qty + q <= quantity``, backed by
  the CHECK), so concurrent RMAs and the legacy ``POST /v1/orders/{id}/returns`` can never
  return more than was bought.
* **received** (staff): the parcel arrived at ``location``.
* **inspected** (staff): ``restock`` says how many units of each line can be sold again
  (default: all).
* **restocked** (staff): RETURN movements put every unit on hand at the receiving location,
  then ADJUSTMENT movements take out the units not fit to sell (written off), so the ledger
  shows both. **written_off** does the same with no unit fit to sell.
* **refunded** (staff): the status is claimed first (one conditional UPDATE, so only one
  request refunds), then the lines' value goes back through the payment gateway
  (refunded <= captured is a database CHECK); the order becomes ``returned``, or ``refunded``
  once every unit it had is back.

A transition to the state an RMA is in answers it unchanged; the routes honour
``Idempotency-Key`` too. Illegal moves answer 409 ``INVALID_TRANSITION``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, insert, select, update

from api.errors import InvalidInputError, InvalidTransitionError, NotFoundError
from api.models import T
from api.schemas import MovementKind
from api.schemas_fulfilment import RmaCreate, RmaLineRead, RmaRead, RmaStatus, RmaTransition
from api.services.context import Principal, ServiceContext, require_staff
from api.services.orders import net_refund_cents, refund_order
from api.services.stock import add_on_hand, record_movements

_RMA, _RL, _ORD, _OL, _SKU = T["rmas"], T["rma_lines"], T["orders"], T["order_lines"], T["skus"]
_STOCK = T["stock"]
R = RmaStatus
ALLOWED: dict[RmaStatus, frozenset[RmaStatus]] = {
    R.REQUESTED: frozenset({R.RECEIVED}),
    R.RECEIVED: frozenset({R.INSPECTED}),
    R.INSPECTED: frozenset({R.RESTOCKED, R.WRITTEN_OFF}),
    R.RESTOCKED: frozenset({R.REFUNDED}),
    R.WRITTEN_OFF: frozenset({R.REFUNDED}),
    R.REFUNDED: frozenset(),
}


def _read(ctx: ServiceContext, conn: Connection, row: Any) -> RmaRead:
    lines = [
        RmaLineRead(sku=code, quantity=int(q), unit_price_cents=int(p), restock_qty=int(r))
        for code, q, p, r in conn.execute(
            select(_SKU.c.code, _RL.c.quantity, _RL.c.unit_price_cents, _RL.c.restock_qty)
            .join(_SKU, _SKU.c.id == _RL.c.sku_id)
            .where(_RL.c.rma_id == row.id)
            .order_by(_SKU.c.code)
        )
    ]
    return RmaRead(
        id=row.id,
        order_id=row.order_id,
        status=RmaStatus(row.status),
        reason=row.reason,
        location=None if row.location_id is None else ctx.location_code(conn, row.location_id),
        lines=lines,
        refund_cents=int(row.refund_cents),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _rma_row(conn: Connection, who: Principal, rma_id: int) -> Any:
    stmt = select(_RMA).where(_RMA.c.id == rma_id)
    if who.role == "customer":
        stmt = stmt.where(_RMA.c.customer_id == who.customer_id)
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFoundError(f"rma {rma_id} not found", details={"rma_id": rma_id})
    return row


def get_rma(ctx: ServiceContext, who: Principal, rma_id: int) -> RmaRead:
    """One RMA (its customer or staff). Raises NotFoundError."""
    with ctx.engine.connect() as conn:
        out = _read(ctx, conn, _rma_row(conn, who, rma_id))
        conn.rollback()
    return out


def list_rmas(ctx: ServiceContext, who: Principal, order_id: int) -> list[RmaRead]:
    """The order's RMAs by id (its customer or staff). Raises NotFoundError."""
    with ctx.engine.connect() as conn:
        stmt = select(_ORD.c.id).where(_ORD.c.id == order_id)
        if who.role == "customer":
            stmt = stmt.where(_ORD.c.customer_id == who.customer_id)
        if conn.scalar(stmt) is None:
            raise NotFoundError(f"order {order_id} not found", details={"order_id": order_id})
        rows = conn.execute(
            select(_RMA).where(_RMA.c.order_id == order_id).order_by(_RMA.c.id)
        ).all()
        out = [_read(ctx, conn, r) for r in rows]
        conn.rollback()
    return out


def create_rma(ctx: ServiceContext, who: Principal, order_id: int, body: RmaCreate) -> RmaRead:
    """Open a return for delivered units (the order's customer or staff).

    Raises:
        NotFoundError: unknown order or another customer's.
        InvalidTransitionError: the order is not delivered (or returned in part).
        InvalidInputError: a SKU not on the order, or more units than are left to return.
    """
    now = ctx.clock.now()
    with ctx.uow() as u:
        c = u.conn
        stmt = select(_ORD).where(_ORD.c.id == order_id)
        if who.role == "customer":
            stmt = stmt.where(_ORD.c.customer_id == who.customer_id)
        order = c.execute(stmt).first()
        if order is None:
            raise NotFoundError(f"order {order_id} not found", details={"order_id": order_id})
        if order.status not in ("delivered", "returned"):
            raise InvalidTransitionError(
                f"order {order_id} is {order.status}; only delivered orders take returns",
                details={"order_id": order_id, "from": order.status, "to": "returned"},
            )
        lines = {int(r.sku_id): r for r in c.execute(select(_OL).where(_OL.c.order_id == order_id))}
        ids = ctx.sku_ids(c, [ln.sku for ln in body.lines])
        want: dict[int, int] = defaultdict(int)
        for i, ln in enumerate(body.lines):
            sid = ids.get(ln.sku)
            if sid is None or sid not in lines:
                raise InvalidInputError(
                    f"lines[{i}].sku {ln.sku!r} is not on order {order_id}",
                    details={"field": f"lines[{i}].sku", "value": ln.sku},
                )
            want[sid] += ln.quantity
        for sid, q in sorted(want.items()):
            took = c.execute(
                update(_OL)
                .where(
                    _OL.c.order_id == order_id,
                    _OL.c.sku_id == sid,
                    _OL.c.returned_qty + q <= _OL.c.quantity,
                )
                .values(returned_qty=_OL.c.returned_qty + q)
            ).rowcount
            if took != 1:
                ol = lines[sid]
                raise InvalidInputError(
                    f"returning {q} exceeds the units left to return of {ol.quantity}",
                    details={"field": "lines.quantity", "value": q},
                )
        rid = c.execute(
            insert(_RMA)
            .values(
                order_id=order_id,
                customer_id=order.customer_id,
                status=R.REQUESTED.value,
                reason=body.reason,
                location_id=None,
                refund_cents=0,
                created_at=now,
                updated_at=now,
            )
            .returning(_RMA.c.id)
        ).scalar_one()
        c.execute(
            insert(_RL),
            [
                {
                    "rma_id": rid,
                    "sku_id": s,
                    "quantity": q,
                    "unit_price_cents": int(lines[s].unit_price_cents),
                    "restock_qty": 0,
                }
                for s, q in sorted(want.items())
            ],
        )
        out = _read(ctx, c, c.execute(select(_RMA).where(_RMA.c.id == rid)).one())
        u.commit()
    return out


def _claim(
    conn: Connection, ctx: ServiceContext, rma_id: int, frm: str, to: RmaStatus, **values: Any
) -> Any:
    return conn.execute(
        update(_RMA)
        .where(_RMA.c.id == rma_id, _RMA.c.status == frm)
        .values(status=to.value, updated_at=ctx.clock.now(), **values)
        .returning(*_RMA.c)
    ).first()


def _book(ctx: ServiceContext, conn: Connection, row: Any, write_off_all: bool) -> None:
    """Every unit in at the receiving location (RETURN), the unfit ones out (ADJUSTMENT)."""
    lines = conn.execute(
        select(_RL.c.sku_id, _RL.c.quantity, _RL.c.restock_qty).where(_RL.c.rma_id == row.id)
    ).all()
    loc = row.location_id
    back = {int(s): int(q) for s, q, _ in lines}
    off = {int(s): int(q) - (0 if write_off_all else int(r)) for s, q, r in lines}
    off = {s: q for s, q in off.items() if q > 0}
    add_on_hand(ctx, conn, loc, back)
    for s, q in off.items():
        conn.execute(
            update(_STOCK)
            .where(_STOCK.c.sku_id == s, _STOCK.c.location_id == loc)
            .values(on_hand=_STOCK.c.on_hand - q)
        )
    now = ctx.clock.now()
    ref = f"rma-{row.id}"
    moves = [
        {"sku_id": s, "location_id": loc, "kind": MovementKind.RETURN.value, "quantity": q,
         "reference": ref, "created_at": now}
        for s, q in sorted(back.items())
    ] + [
        {"sku_id": s, "location_id": loc, "kind": MovementKind.ADJUSTMENT.value,
         "quantity": -q, "reference": ref + ":write-off", "created_at": now}
        for s, q in sorted(off.items())
    ]  # fmt: skip
    record_movements(conn, moves)
    if write_off_all:
        conn.execute(update(_RL).where(_RL.c.rma_id == row.id).values(restock_qty=0))


def transition_rma(
    ctx: ServiceContext, who: Principal, rma_id: int, body: RmaTransition
) -> RmaRead:
    """Move an RMA along :data:`ALLOWED` (staff or service), through the ledger and payments.

    Raises:
        ForbiddenError: a customer key.
        NotFoundError: unknown RMA or receiving location.
        InvalidTransitionError: an illegal move (409, ``from``/``to``).
        InvalidInputError: ``received`` without ``location``; ``restock`` naming a SKU not on
            the RMA or more units than it has.
    """
    require_staff(who, "processing returns")
    to = RmaStatus(body.to)
    frm = [s.value for s, nxt in ALLOWED.items() if to in nxt]
    refund = 0
    with ctx.uow() as u:
        c = u.conn
        cur = _rma_row(c, who, rma_id)
        if cur.status == to.value:
            out = _read(ctx, c, cur)
            u.commit()
            return out
        if cur.status not in frm:
            raise InvalidTransitionError(
                f"rma {rma_id} cannot go from {cur.status} to {to.value}",
                details={"rma_id": rma_id, "from": cur.status, "to": to.value},
            )
        values: dict[str, Any] = {}
        if to is R.RECEIVED:
            if body.location is None:
                raise InvalidInputError(
                    "receiving a return needs the location it arrived at",
                    details={"field": "location", "value": None},
                )
            values["location_id"] = ctx.location_id(c, body.location)
        if to is R.INSPECTED:
            lines = {
                int(s): int(q)
                for s, q in c.execute(
                    select(_RL.c.sku_id, _RL.c.quantity).where(_RL.c.rma_id == rma_id)
                )
            }
            fit = dict(lines)
            if body.restock is not None:
                ids = ctx.sku_ids(c, [ln.sku for ln in body.restock])
                fit = dict.fromkeys(lines, 0)
                for i, ln in enumerate(body.restock):
                    sid = ids.get(ln.sku)
                    if sid is None or sid not in lines or fit[sid] + ln.quantity > lines[sid]:
                        raise InvalidInputError(
                            f"restock[{i}]: {ln.quantity} of {ln.sku!r} is not on rma {rma_id}",
                            details={"field": f"restock[{i}]", "value": ln.sku},
                        )
                    fit[sid] += ln.quantity
            for s, q in fit.items():
                c.execute(
                    update(_RL)
                    .where(_RL.c.rma_id == rma_id, _RL.c.sku_id == s)
                    .values(restock_qty=q)
                )
        if to is R.REFUNDED:
            gross = sum(
                int(q) * int(p)
                for q, p in c.execute(
                    select(_RL.c.quantity, _RL.c.unit_price_cents).where(_RL.c.rma_id == rma_id)
                )
            )
            refund = net_refund_cents(c, cur.order_id, gross)  # the order's discounts shared
            values["refund_cents"] = refund
        row = _claim(c, ctx, rma_id, cur.status, to, **values)
        if row is None:  # lost a race: answer what the winner made of it
            raise InvalidTransitionError(
                f"rma {rma_id} changed meanwhile",
                details={"rma_id": rma_id, "from": cur.status, "to": to.value},
            )
        if to in (R.RESTOCKED, R.WRITTEN_OFF):
            _book(ctx, c, row, write_off_all=to is R.WRITTEN_OFF)
        if to is R.REFUNDED:
            c.execute(
                update(_ORD)
                .where(_ORD.c.id == row.order_id, _ORD.c.status == "delivered")
                .values(status="returned", updated_at=ctx.clock.now())
            )
        u.commit()
    if to is R.REFUNDED:
        refund_order(ctx, row.order_id, refund)
        with ctx.uow() as u:
            c = u.conn
            left = c.scalar(
                select(_OL.c.sku_id)
                .where(_OL.c.order_id == row.order_id, _OL.c.returned_qty < _OL.c.quantity)
                .limit(1)
            )
            open_rma = c.scalar(
                select(_RMA.c.id)
                .where(_RMA.c.order_id == row.order_id, _RMA.c.status != R.REFUNDED.value)
                .limit(1)
            )
            if left is None and open_rma is None:
                c.execute(
                    update(_ORD)
                    .where(_ORD.c.id == row.order_id, _ORD.c.status == "returned")
                    .values(status="refunded", updated_at=ctx.clock.now())
                )
            u.commit()
    return get_rma(ctx, who, rma_id)
