"""Shipments as resources: reading an order's parcels and moving them through their states.

State machine (:data:`ALLOWED`)::

    allocated -> picked -> packed -> shipped -> delivered -> returned
                                       shipped -> failed -> shipped (re-delivery, attempts + 1)
                                                  failed -> returned (back to the sender)
    allocated | picked | packed -> cancelled (only by cancelling the order)

Stock: allocation reserves the units at the shipment's origin (:mod:`api.services.allocation`);
``shipped`` of a ``direct`` or ``leg`` shipment turns that reservation into a SALE movement
(reference ``shipment-<id>``); ``returned`` from ``failed`` books the parcel back at its origin
(RETURN movement); ``returned`` from ``delivered`` moves no stock (a customer's return goes
through an RMA, :mod:`api.services.returns`). A ``merged`` shipment (from a consolidation point)
cannot be picked before every ``leg`` merging into it is ``delivered`` there (409).

The order follows: ``allocated -> shipped`` once every stock-carrying shipment has left,
``shipped -> delivered`` once every shipment to the customer (``direct`` or ``merged``) is
delivered. A transition to the state a shipment is already in answers it unchanged (natural
idempotence); the route also honours ``Idempotency-Key``. Illegal moves answer 409
``INVALID_TRANSITION`` with ``from`` and ``to``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, text, update

from api.errors import InvalidTransitionError, NotFoundError
from api.models import T
from api.schemas import MovementKind
from api.schemas_fulfilment import (
    ShipmentKind,
    ShipmentLineRead,
    ShipmentRead,
    ShipmentStatus,
    ShipmentTransition,
)
from api.services.context import (
    Principal,
    ServiceContext,
    lock_stock_rows,
    require_staff,
    values_cte,
)
from api.services.stock import add_on_hand, record_movements

_SHIP, _SL, _ORD, _SKU = T["shipments"], T["shipment_lines"], T["orders"], T["skus"]
S = ShipmentStatus
ALLOWED: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    S.ALLOCATED: frozenset({S.PICKED}),
    S.PICKED: frozenset({S.PACKED}),
    S.PACKED: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.FAILED}),
    S.FAILED: frozenset({S.SHIPPED, S.RETURNED}),
    S.DELIVERED: frozenset({S.RETURNED}),
    S.RETURNED: frozenset(),
    S.CANCELLED: frozenset(),
}
UNSHIPPED = (S.ALLOCATED.value, S.PICKED.value, S.PACKED.value)


def _owned(stmt: Any, who: Principal) -> Any:
    if who.role == "customer":
        return stmt.where(_ORD.c.customer_id == who.customer_id)
    return stmt


def load_shipments(
    ctx: ServiceContext, conn: Connection, rows: Sequence[Any]
) -> list[ShipmentRead]:
    """ShipmentRead for shipment rows (one query for their lines)."""
    if not rows:
        return []
    lines: dict[int, list[ShipmentLineRead]] = defaultdict(list)
    for sid, code, q in conn.execute(
        select(_SL.c.shipment_id, _SKU.c.code, _SL.c.quantity)
        .join(_SKU, _SKU.c.id == _SL.c.sku_id)
        .where(_SL.c.shipment_id.in_(bindparam("ids", expanding=True)))
        .order_by(_SL.c.shipment_id, _SKU.c.code),
        {"ids": [r.id for r in rows]},
    ):
        lines[sid].append(ShipmentLineRead(sku=code, quantity=int(q)))
    return [
        ShipmentRead(
            id=r.id,
            order_id=r.order_id,
            kind=ShipmentKind(r.kind),
            origin=ctx.location_code(conn, r.origin_id),
            merge_into=r.merge_into,
            carrier=r.carrier,
            mode=r.mode,
            status=ShipmentStatus(r.status),
            attempts=int(r.attempts),
            lines=lines[r.id],
            distance_km=float(r.distance_km),
            cost_cents=int(r.cost_cents),
            co2_g=float(r.co2_g),
            deliver_from=r.deliver_from,
            deliver_to=r.deliver_to,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


def order_shipments(
    ctx: ServiceContext, conn: Connection, who: Principal, order_id: int
) -> list[ShipmentRead]:
    """The order's shipments by id. Raises NotFoundError (unknown or another's order)."""
    if conn.scalar(_owned(select(_ORD.c.id).where(_ORD.c.id == order_id), who)) is None:
        raise NotFoundError(f"order {order_id} not found", details={"order_id": order_id})
    rows = conn.execute(
        select(_SHIP).where(_SHIP.c.order_id == order_id).order_by(_SHIP.c.id)
    ).all()
    return load_shipments(ctx, conn, rows)


def list_shipments(ctx: ServiceContext, who: Principal, order_id: int) -> list[ShipmentRead]:
    """``GET /v1/orders/{id}/shipments`` (the order's customer or staff)."""
    with ctx.engine.connect() as conn:
        out = order_shipments(ctx, conn, who, order_id)
        conn.rollback()
    return out


def _lines_of(conn: Connection, shipment_id: int) -> dict[int, int]:
    return {
        int(s): int(q)
        for s, q in conn.execute(
            select(_SL.c.sku_id, _SL.c.quantity).where(_SL.c.shipment_id == shipment_id)
        )
    }


def _consume_reservation(
    ctx: ServiceContext, conn: Connection, row: Any, lines: dict[int, int]
) -> None:
    """The shipment leaves: on_hand and reserved drop at the origin, SALE movements."""
    lock_stock_rows(ctx, conn, row.origin_id, list(lines))
    cte, params = values_cte(sorted(lines.items()))
    params["loc"] = row.origin_id
    conn.execute(
        text(
            cte + "UPDATE stock SET on_hand = stock.on_hand - v.q, "
            "reserved = stock.reserved - v.q FROM v "
            "WHERE stock.sku_id = v.sku_id AND stock.location_id = :loc"
        ),
        params,
    )
    now = ctx.clock.now()
    record_movements(
        conn,
        [
            {
                "sku_id": s,
                "location_id": row.origin_id,
                "kind": MovementKind.SALE.value,
                "quantity": -q,
                "reference": f"shipment-{row.id}",
                "created_at": now,
            }
            for s, q in sorted(lines.items())
        ],
    )


def _book_back(ctx: ServiceContext, conn: Connection, row: Any, lines: dict[int, int]) -> None:
    """A parcel returned to its sender: back on hand at the origin, RETURN movements."""
    add_on_hand(ctx, conn, row.origin_id, lines)
    now = ctx.clock.now()
    record_movements(
        conn,
        [
            {
                "sku_id": s,
                "location_id": row.origin_id,
                "kind": MovementKind.RETURN.value,
                "quantity": q,
                "reference": f"shipment-{row.id}",
                "created_at": now,
            }
            for s, q in sorted(lines.items())
        ],
    )


def _sync_order(ctx: ServiceContext, conn: Connection, order_id: int) -> None:
    """Move the order along once all its shipments have left / arrived (conditional)."""
    rows = conn.execute(
        select(_SHIP.c.kind, _SHIP.c.status).where(
            _SHIP.c.order_id == order_id, _SHIP.c.status != S.CANCELLED.value
        )
    ).all()
    now = ctx.clock.now()
    left = all(st not in UNSHIPPED for kind, st in rows if kind != ShipmentKind.MERGED.value)
    if rows and left:
        conn.execute(
            update(_ORD)
            .where(_ORD.c.id == order_id, _ORD.c.status == "allocated")
            .values(status="shipped", updated_at=now)
        )
    arrived = all(
        st in (S.DELIVERED.value, S.RETURNED.value)
        for kind, st in rows
        if kind != ShipmentKind.LEG.value
    )
    if rows and arrived:
        conn.execute(
            update(_ORD)
            .where(_ORD.c.id == order_id, _ORD.c.status == "shipped")
            .values(status="delivered", updated_at=now)
        )


def transition_shipment(
    ctx: ServiceContext, who: Principal, shipment_id: int, body: ShipmentTransition
) -> ShipmentRead:
    """Move a shipment along :data:`ALLOWED` (staff or service), with its stock effects.

    Raises:
        ForbiddenError: a customer key.
        NotFoundError: unknown shipment.
        InvalidTransitionError: 409, an illegal move (``from``, ``to`` in details) or a merged
            shipment picked before its legs arrived.
    """
    require_staff(who, "moving shipments")
    to = ShipmentStatus(body.to)
    frm = [s.value for s, nxt in ALLOWED.items() if to in nxt]
    with ctx.uow() as u:
        c = u.conn
        cur = c.execute(select(_SHIP).where(_SHIP.c.id == shipment_id)).first()
        if cur is None:
            raise NotFoundError(
                f"shipment {shipment_id} not found", details={"shipment_id": shipment_id}
            )
        if cur.status == to.value:  # already there: answer it unchanged
            out = load_shipments(ctx, c, [cur])[0]
            u.commit()
            return out
        if to is S.PICKED and cur.kind == ShipmentKind.MERGED.value:
            waiting = c.scalar(
                select(_SHIP.c.id)
                .where(_SHIP.c.merge_into == shipment_id, _SHIP.c.status != S.DELIVERED.value)
                .limit(1)
            )
            if waiting is not None:
                raise InvalidTransitionError(
                    f"shipment {shipment_id} merges leg {waiting}, not yet at the "
                    "consolidation point",
                    details={"shipment_id": shipment_id, "waiting_for": waiting, "to": to.value},
                )
        attempts = _SHIP.c.attempts + (1 if to is S.FAILED else 0)
        row = c.execute(
            update(_SHIP)
            .where(_SHIP.c.id == shipment_id, _SHIP.c.status.in_(frm or ["-"]))
            .values(status=to.value, attempts=attempts, updated_at=ctx.clock.now())
            .returning(*_SHIP.c)
        ).first()
        if row is None:
            raise InvalidTransitionError(
                f"shipment {shipment_id} cannot go from {cur.status} to {to.value}",
                details={"shipment_id": shipment_id, "from": cur.status, "to": to.value},
            )
        carries_stock = row.kind != ShipmentKind.MERGED.value
        if to is S.SHIPPED and cur.status == S.PACKED.value and carries_stock:
            _consume_reservation(ctx, c, row, _lines_of(c, shipment_id))
        if to is S.RETURNED and cur.status == S.FAILED.value:
            _book_back(ctx, c, row, _lines_of(c, shipment_id))
        _sync_order(ctx, c, row.order_id)
        out = load_shipments(ctx, c, [row])[0]
        u.commit()
    return out


def has_shipments(conn: Connection, order_id: int) -> bool:
    return conn.scalar(select(_SHIP.c.id).where(_SHIP.c.order_id == order_id).limit(1)) is not None


def cancel_for_order(
    conn: Connection, ctx: ServiceContext, order_id: int
) -> dict[tuple[int, int], int] | None:
    """Cancel an order's unshipped shipments; returns the reservations to release per
    (location id, sku id), or None when the order has no shipments (its reservation is at the
    order's location).

    Raises:
        InvalidTransitionError: a shipment of the order has left already.
    """
    rows = conn.execute(
        select(_SHIP.c.id, _SHIP.c.origin_id, _SHIP.c.kind, _SHIP.c.status).where(
            _SHIP.c.order_id == order_id
        )
    ).all()
    if not rows:
        return None
    gone = [r.id for r in rows if r.status not in (*UNSHIPPED, S.CANCELLED.value)]
    if gone:
        raise InvalidTransitionError(
            f"order {order_id} has shipments on their way ({gone[:5]}); it cannot be cancelled",
            details={"order_id": order_id, "shipments": gone[:20], "to": "cancelled"},
        )
    held: dict[tuple[int, int], int] = defaultdict(int)
    live = [r for r in rows if r.status in UNSHIPPED and r.kind != ShipmentKind.MERGED.value]
    for r in live:
        for s, q in _lines_of(conn, r.id).items():
            held[(r.origin_id, s)] += q
    conn.execute(
        update(_SHIP)
        .where(_SHIP.c.order_id == order_id, _SHIP.c.status.in_(UNSHIPPED))
        .values(status=S.CANCELLED.value, updated_at=ctx.clock.now())
    )
    return dict(held)
