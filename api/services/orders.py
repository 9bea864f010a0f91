"""Orders: reading, listing, the state machine, cancellation, returns and unpaid-order expiry.

State machine (``ALLOWED``)::

    placed -> paid -> allocated -> shipped -> delivered -> returned -> refunded
    placed | paid | allocated -> cancelled

An order holds its stock as *reserved* at its location from checkout until it ships; shipping
turns the reservation into a SALE movement (on_hand and reserved both drop). Cancelling or
expiring an unshipped order releases the reservation; money captured is refunded through the
gateway after the database transaction has committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select, text, update

from api import outbox
from api.errors import InvalidInputError, InvalidTransitionError, NotFoundError
from api.models import T
from api.schemas import (
    Channel,
    MovementKind,
    OrderLineRead,
    OrderRead,
    OrderStatus,
    Page,
    PaymentRead,
    ReturnCreate,
)
from api.services.carts import release_reserved
from api.services.context import (
    Principal,
    ServiceContext,
    decode_cursor,
    encode_cursor,
    lock_stock_rows,
    require_staff,
    values_cte,
)
from api.services.promotions import order_discounts, release_uses
from api.services.purchase_limits import give_back
from api.services.shipments import cancel_for_order, has_shipments
from api.services.stock import add_on_hand, record_movements

_ORD, _OL, _PAY, _SKU = T["orders"], T["order_lines"], T["payments"], T["skus"]
S = OrderStatus
ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PLACED: frozenset({S.PAID, S.CANCELLED, S.PAYMENT_FAILED}),
    S.PAID: frozenset({S.ALLOCATED, S.CANCELLED}),
    S.ALLOCATED: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.RETURNED}),
    S.RETURNED: frozenset({S.RETURNED, S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.PAYMENT_FAILED: frozenset(),
    S.REFUNDED: frozenset(),
}
HOLDS_STOCK = (S.PLACED.value, S.PAID.value, S.ALLOCATED.value)


def _owned(stmt: Any, who: Principal) -> Any:
    return stmt.where(_ORD.c.customer_id == who.customer_id) if who.role == "customer" else stmt


# Hot path: statements built once.
_LINES_OF = (
    select(_OL.c.order_id, _SKU.c.code, _OL.c.quantity, _OL.c.unit_price_cents)
    .join(_SKU, _SKU.c.id == _OL.c.sku_id)
    .where(_OL.c.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(_OL.c.order_id, _SKU.c.code)
)
_PAYS_OF = select(_PAY).where(_PAY.c.order_id.in_(bindparam("ids", expanding=True)))
# one order (reads after a transition): no expanding IN, whose SQL is re-rendered per call
_LINES_OF_ONE = (
    select(_OL.c.order_id, _SKU.c.code, _OL.c.quantity, _OL.c.unit_price_cents)
    .join(_SKU, _SKU.c.id == _OL.c.sku_id)
    .where(_OL.c.order_id == bindparam("oid"))
    .order_by(_SKU.c.code)
)
_PAYS_OF_ONE = select(_PAY).where(_PAY.c.order_id == bindparam("oid"))
_ORDER_BY_ID = select(_ORD).where(_ORD.c.id == bindparam("oid"))
_ORDER_BY_ID_OWN = _ORDER_BY_ID.where(_ORD.c.customer_id == bindparam("cust"))
_MOVES: dict[tuple[str, ...], Any] = {}  # one prebuilt UPDATE per set of source states


def _move_stmt(frm: Sequence[str]) -> Any:
    key = tuple(frm)
    stmt = _MOVES.get(key)
    if stmt is None:
        stmt = _MOVES[key] = (
            update(_ORD)
            .where(
                _ORD.c.id == bindparam("oid"),  # OR: no expanding IN
                or_(*(_ORD.c.status == v for v in key)),
            )
            .values(status=bindparam("to"), updated_at=bindparam("now"))
            .returning(*_ORD.c)
        )
    return stmt


_LINES_FOR_STOCK = select(
    _OL.c.sku_id, _OL.c.quantity, _OL.c.returned_qty, _OL.c.unit_price_cents
).where(_OL.c.order_id == bindparam("oid"))


def load_orders(ctx: ServiceContext, conn: Connection, rows: Sequence[Any]) -> list[OrderRead]:
    """Build OrderRead for order rows (three queries for any number of orders)."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    one = len(ids) == 1
    lines: dict[int, list[OrderLineRead]] = defaultdict(list)
    for r in (
        conn.execute(_LINES_OF_ONE, {"oid": ids[0]})
        if one
        else conn.execute(_LINES_OF, {"ids": ids})
    ):
        lines[r.order_id].append(
            OrderLineRead(sku=r.code, quantity=r.quantity, unit_price_cents=r.unit_price_cents)
        )
    pays = {
        r.order_id: PaymentRead(
            authorized_cents=r.authorized_cents,
            captured_cents=r.captured_cents,
            refunded_cents=r.refunded_cents,
            status=r.status,
        )
        for r in (
            conn.execute(_PAYS_OF_ONE, {"oid": ids[0]})
            if one
            else conn.execute(_PAYS_OF, {"ids": ids})
        )
    }
    disc = order_discounts(conn, ids)
    return [
        OrderRead(
            id=r.id,
            customer_id=r.customer_id,
            channel=Channel(r.channel),
            location=ctx.location_code(conn, r.location_id),
            status=OrderStatus(r.status),
            lines=lines[r.id],
            total_cents=r.total_cents,
            payment=pays.get(r.id),
            created_at=r.created_at,
            updated_at=r.updated_at,
            discounts=disc.get(r.id, []),
            discount_cents=sum(d.amount_cents for d in disc.get(r.id, [])),
        )
        for r in rows
    ]


def read_order(ctx: ServiceContext, conn: Connection, who: Principal, order_id: int) -> OrderRead:
    if who.role == "customer":
        row = conn.execute(_ORDER_BY_ID_OWN, {"oid": order_id, "cust": who.customer_id}).first()
    else:
        row = conn.execute(_ORDER_BY_ID, {"oid": order_id}).first()
    if row is None:
        raise NotFoundError(f"order {order_id} not found", details={"order_id": order_id})
    return load_orders(ctx, conn, [row])[0]


def get_order(ctx: ServiceContext, who: Principal, order_id: int) -> OrderRead:
    """Raises NotFoundError for an unknown order or another customer's order."""
    with ctx.engine.connect() as conn:
        out = read_order(ctx, conn, who, order_id)
        conn.rollback()
    return out


def list_orders(
    ctx: ServiceContext,
    who: Principal,
    *,
    status: OrderStatus | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[OrderRead]:
    """Newest first; a customer sees only its own orders."""
    if not 1 <= limit <= 500:
        raise InvalidInputError(
            f"limit {limit} must be within 1..500", details={"field": "limit", "value": limit}
        )
    stmt = _owned(select(_ORD), who).order_by(_ORD.c.id.desc()).limit(limit + 1)
    if status is not None:
        stmt = stmt.where(_ORD.c.status == OrderStatus(status).value)
    if cursor:
        before = decode_cursor(cursor).get("id")
        if not isinstance(before, int):
            raise InvalidInputError("bad cursor", details={"field": "cursor", "value": cursor})
        stmt = stmt.where(_ORD.c.id < before)
    with ctx.engine.connect() as conn:
        rows = conn.execute(stmt).all()
        items = load_orders(ctx, conn, rows[:limit])
        conn.rollback()
    nxt = encode_cursor({"id": items[-1].id}) if len(rows) > limit else None
    return Page[OrderRead](items=items, next_cursor=nxt)


def _move(
    conn: Connection, ctx: ServiceContext, order_id: int, frm: Sequence[str], to: OrderStatus
) -> Any:
    """Conditional status change; returns the (updated) order row, or None when it was not in
    ``frm``."""
    return conn.execute(
        _move_stmt(frm), {"oid": order_id, "to": to.value, "now": ctx.clock.now()}
    ).first()


def _refuse(conn: Connection, who: Principal, order_id: int, to: OrderStatus) -> Exception:
    cur = conn.scalar(_owned(select(_ORD.c.status).where(_ORD.c.id == order_id), who))
    if cur is None:
        return NotFoundError(f"order {order_id} not found", details={"order_id": order_id})
    return InvalidTransitionError(
        f"order {order_id} cannot go from {cur} to {to.value}",
        details={"order_id": order_id, "from": cur, "to": to.value},
    )


def _order_lines(conn: Connection, order_id: int) -> list[Any]:
    return list(conn.execute(_LINES_FOR_STOCK, {"oid": order_id}).all())


def transition_order(
    ctx: ServiceContext, who: Principal, order_id: int, to: OrderStatus
) -> OrderRead:
    """Staff/service move an order along ALLOWED (allocate, ship, deliver; cancel delegates to
    :func:`cancel_order`). Shipping books SALE movements and consumes the reservation.

    Raises: ForbiddenError, NotFoundError, InvalidTransitionError (409, with from/to).
    """
    require_staff(who, "changing order status")
    to = OrderStatus(to)
    if to == S.CANCELLED:
        return cancel_order(ctx, who, order_id)
    if to not in (S.ALLOCATED, S.SHIPPED, S.DELIVERED):
        raise InvalidTransitionError(
            f"{to.value} is reached through checkout, cancel or return",
            details={"order_id": order_id, "to": to.value},
        )
    frm = [s.value for s, nxt in ALLOWED.items() if to in nxt]
    with ctx.uow() as u:
        c = u.conn
        if to != S.ALLOCATED and has_shipments(c, order_id):
            raise InvalidTransitionError(  # its stock left with the shipments, not here
                f"order {order_id} moves with its shipments (/v1/orders/{order_id}/shipments)",
                details={"order_id": order_id, "to": to.value},
            )
        row = _move(c, ctx, order_id, frm, to)
        if row is None:
            raise _refuse(c, who, order_id, to)
        if to == S.SHIPPED:
            lines = _order_lines(c, order_id)
            lock_stock_rows(ctx, c, row.location_id, [ln.sku_id for ln in lines])
            cte, params = values_cte(sorted((ln.sku_id, ln.quantity) for ln in lines))
            params["loc"] = row.location_id
            c.execute(
                text(
                    cte + "UPDATE stock SET on_hand = stock.on_hand - v.q, "
                    "reserved = stock.reserved - v.q FROM v "
                    "WHERE stock.sku_id = v.sku_id AND stock.location_id = :loc"
                ),
                params,
            )
            now = ctx.clock.now()
            record_movements(
                c,
                [
                    {
                        "sku_id": ln.sku_id,
                        "location_id": row.location_id,
                        "kind": MovementKind.SALE.value,
                        "quantity": -ln.quantity,
                        "reference": f"order-{order_id}",
                        "created_at": now,
                    }
                    for ln in lines
                ],
            )
        out = load_orders(ctx, c, [row])[0]  # the UPDATE returned the whole row: no re-read
        u.commit()
    return out


def _refund(ctx: ServiceContext, order_id: int, amount: int | None) -> None:
    """Refund ``amount`` (None: everything captured and not yet refunded) outside any transaction,
    then book it; the CHECK refunded <= captured guards the books."""
    with ctx.engine.connect() as conn:
        pay = conn.execute(select(_PAY).where(_PAY.c.order_id == order_id)).first()
        conn.rollback()
    if pay is None or pay.gateway_ref is None:
        return
    todo = pay.captured_cents - pay.refunded_cents if amount is None else amount
    if todo <= 0:
        return
    ctx.gateway.refund(pay.gateway_ref, todo)
    with ctx.uow() as u:
        outbox.record(
            u.conn,
            "order.refunded",
            order_id,
            {"order_id": order_id, "status": "refunded", "refunded_cents": todo},
            ctx.clock.now(),
        )
        u.conn.execute(
            update(_PAY)
            .where(_PAY.c.order_id == order_id)
            .values(
                refunded_cents=_PAY.c.refunded_cents + todo,
                status="refunded"
                if todo + pay.refunded_cents >= pay.captured_cents
                else "part_refunded",
            )
        )
        u.commit()


def net_refund_cents(conn: Connection, order_id: int, gross_cents: int) -> int:
    """What returning goods worth ``gross_cents`` at list (line) prices refunds: the order's
    discounts are shared over its lines in proportion to their value, so a discounted order
    refunds what was paid for those units (rounded down), never more."""
    o = conn.execute(select(_ORD.c.total_cents).where(_ORD.c.id == order_id)).first()
    sub = conn.scalar(
        select(func.coalesce(func.sum(_OL.c.quantity * _OL.c.unit_price_cents), 0)).where(
            _OL.c.order_id == order_id
        )
    )
    if o is None or not sub or int(o.total_cents) >= int(sub):
        return gross_cents
    return int(gross_cents) * int(o.total_cents) // int(sub)


def refund_order(ctx: ServiceContext, order_id: int, amount_cents: int) -> None:
    """Refund ``amount_cents`` of an order's captured payment through the gateway, outside any
    transaction (an RMA's refund, :mod:`api.services.returns`); nothing without a payment."""
    _refund(ctx, order_id, amount_cents)


def cancel_order(ctx: ServiceContext, who: Principal, order_id: int) -> OrderRead:
    """Cancel an unshipped order (its customer or staff): releases the reservation and refunds
    what was captured. Raises NotFoundError, InvalidTransitionError."""
    with ctx.uow() as u:
        c = u.conn
        row = (
            _move(c, ctx, order_id, HOLDS_STOCK, S.CANCELLED)
            if who.is_staff
            else c.execute(
                update(_ORD)
                .where(
                    _ORD.c.id == order_id,
                    _ORD.c.status.in_(HOLDS_STOCK),
                    _ORD.c.customer_id == who.customer_id,
                )
                .values(status=S.CANCELLED.value, updated_at=ctx.clock.now())
                .returning(_ORD.c.id, _ORD.c.location_id, _ORD.c.status)
            ).first()
        )
        if row is None:
            raise _refuse(c, who, order_id, S.CANCELLED)
        held = cancel_for_order(c, ctx, order_id)  # None: no shipments, held at checkout
        release_reserved(
            c,
            held
            if held is not None
            else {(row.location_id, ln.sku_id): ln.quantity for ln in _order_lines(c, order_id)},
        )
        give_back(c, [order_id])  # purchase-limit units, in the cancelling transaction
        outbox.record(
            c,
            "order.cancelled",
            order_id,
            {"order_id": order_id, "status": S.CANCELLED.value, "reason": "cancelled"},
            ctx.clock.now(),
        )
        release_uses(c, [order_id])  # a cancelled order gives its voucher uses back
        u.commit()
    _refund(ctx, order_id, None)
    return get_order(ctx, who, order_id)


def return_order(
    ctx: ServiceContext, who: Principal, order_id: int, body: ReturnCreate
) -> OrderRead:
    """Return delivered units (its customer or staff): RETURN movements when ``restock``, refund
    of the returned lines' value; the order becomes ``refunded`` once every unit is back.

    Raises: NotFoundError, InvalidTransitionError (not delivered), InvalidInputError (more than
    was bought, or a SKU not on the order).
    """
    with ctx.uow() as u:
        c = u.conn
        row = c.execute(_owned(select(_ORD).where(_ORD.c.id == order_id), who)).first()
        if row is None:
            raise NotFoundError(f"order {order_id} not found", details={"order_id": order_id})
        if row.status not in (S.DELIVERED.value, S.RETURNED.value):
            raise InvalidTransitionError(
                f"order {order_id} is {row.status}; only delivered orders take returns",
                details={"order_id": order_id, "from": row.status, "to": "returned"},
            )
        lines = {ln.sku_id: ln for ln in _order_lines(c, order_id)}
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
        for sid, q in want.items():
            ol = lines[sid]
            if ol.returned_qty + q > ol.quantity:
                raise InvalidInputError(
                    f"returning {q} exceeds the {ol.quantity - ol.returned_qty} units left "
                    "to return",
                    details={"field": "lines.quantity", "value": q},
                )
            c.execute(
                update(_OL)
                .where(_OL.c.order_id == order_id, _OL.c.sku_id == sid)
                .values(returned_qty=_OL.c.returned_qty + q)
            )
        if body.restock:
            add_on_hand(ctx, c, row.location_id, dict(want))
            now = ctx.clock.now()
            record_movements(
                c,
                [
                    {
                        "sku_id": s,
                        "location_id": row.location_id,
                        "kind": MovementKind.RETURN.value,
                        "quantity": q,
                        "reference": f"order-{order_id}",
                        "created_at": now,
                    }
                    for s, q in sorted(want.items())
                ],
            )
        all_back = all(lines[s].returned_qty + want.get(s, 0) >= lines[s].quantity for s in lines)
        c.execute(
            update(_ORD)
            .where(_ORD.c.id == order_id)
            .values(status=S.RETURNED.value, updated_at=ctx.clock.now())
        )
        refund = net_refund_cents(
            c, order_id, sum(q * lines[s].unit_price_cents for s, q in want.items())
        )
        u.commit()
    _refund(ctx, order_id, refund)
    if all_back:
        with ctx.uow() as u:
            _move(u.conn, ctx, order_id, [S.RETURNED.value], S.REFUNDED)
            u.commit()
    return get_order(ctx, who, order_id)


def expire_unpaid_orders(ctx: ServiceContext, who: Principal) -> int:
    """Cancel orders still ``placed`` (unpaid) ``unpaid_order_ttl`` after creation and release
    their stock. Returns how many were cancelled. Staff/service only."""
    require_staff(who, "expiring unpaid orders")
    now = ctx.clock.now()
    with ctx.uow() as u:
        c = u.conn
        rows = c.execute(
            update(_ORD)
            .where(_ORD.c.status == S.PLACED.value, _ORD.c.created_at <= now - ctx.unpaid_order_ttl)
            .values(status=S.CANCELLED.value, updated_at=now)
            .returning(_ORD.c.id, _ORD.c.location_id)
        ).all()
        if not rows:
            return 0
        loc_of: dict[int, int] = {oid: loc for oid, loc in rows}
        held: dict[tuple[int, int], int] = defaultdict(int)
        for oid, sku, q in c.execute(
            select(_OL.c.order_id, _OL.c.sku_id, _OL.c.quantity).where(
                _OL.c.order_id.in_(bindparam("ids", expanding=True))
            ),
            {"ids": list(loc_of)},
        ):
            held[(loc_of[oid], sku)] += q
        release_reserved(c, held)
        release_uses(c, list(loc_of))
        c.execute(
            update(_PAY)
            .where(_PAY.c.order_id.in_(bindparam("ids", expanding=True)))
            .values(status="void"),
            {"ids": list(loc_of)},
        )
        give_back(c, list(loc_of))
        outbox.record_many(
            c,
            "order.cancelled",
            [
                (i, {"order_id": i, "status": S.CANCELLED.value, "reason": "unpaid_expired"})
                for i in sorted(loc_of)
            ],
            now,
        )
        u.commit()
    return len(rows)
