"""Carts: lines with a price snapshot, stock reservations with a TTL, and their expiry.

Setting a line reserves (or releases) the difference against available stock with one
conditional UPDATE, so a cart holds exactly what its lines say. Every change extends the cart's
``expires_at`` to ``now + reservation_ttl``. :func:`expire_reservations`, driven by the injected
clock (the twin, a sweeper thread, or an operator), marks open carts whose time has come
``expired`` and releases their reservations; an expired cart can still be checked out, which
then has to take the stock again.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, text, update

from api.errors import ConflictError, InsufficientStockError, InvalidInputError, NotFoundError
from api.models import T
from api.schemas import CartCreate, CartLineRead, CartLineSet, CartRead, Channel, LineError
from api.services.context import Principal, ServiceContext, require_staff, values_cte
from api.services.prices import compose, current_price
from api.services.promotions import PricedLine
from api.services.stock import available

_CART, _LINE, _SKU, _STOCK = T["carts"], T["cart_lines"], T["skus"], T["stock"]


_CART_INS = insert(_CART).returning(_CART.c.id)


def create_cart(ctx: ServiceContext, who: Principal, body: CartCreate) -> CartRead:
    """Open an empty cart reserving from ``body.location``.

    A customer key always opens a cart for its own customer id; staff and service keys must
    name ``customer_id``. Raises InvalidInputError, NotFoundError (unknown location).
    """
    if who.role == "customer":
        customer = who.customer_id
    else:
        customer = body.customer_id
        if not customer:
            raise InvalidInputError(
                "staff and service keys must give customer_id",
                details={"field": "customer_id", "value": None},
            )
    assert customer is not None
    now = ctx.clock.now()
    expires = now + ctx.reservation_ttl
    with ctx.uow() as u:
        loc = ctx.location_id(u.conn, body.location)
        cart_id = u.conn.execute(
            _CART_INS,
            {
                "customer_id": customer,
                "channel": body.channel.value,
                "location_id": loc,
                "status": "open",
                "expires_at": expires,
                "created_at": now,
            },
        ).scalar_one()
        u.commit()
    return CartRead(
        id=cart_id,
        customer_id=customer,
        channel=body.channel,
        location=body.location,
        status="open",
        lines=[],
        total_cents=0,
        expires_at=expires,
    )


def _owned(stmt: Any, who: Principal) -> Any:
    return stmt.where(_CART.c.customer_id == who.customer_id) if who.role == "customer" else stmt


_LINES = (
    select(_SKU.c.code, _LINE.c.quantity, _LINE.c.unit_price_cents, _LINE.c.sku_id)
    .join(_SKU, _SKU.c.id == _LINE.c.sku_id)
    .where(_LINE.c.cart_id == bindparam("cid"))
    .order_by(_SKU.c.code)
)


def _lines(conn: Connection, cart_id: int) -> list[tuple[CartLineRead, PricedLine]]:
    rows = conn.execute(_LINES, {"cid": cart_id}).all()
    return [
        (
            CartLineRead(sku=r.code, quantity=r.quantity, unit_price_cents=r.unit_price_cents),
            PricedLine(r.sku_id, r.quantity, r.unit_price_cents),
        )
        for r in rows
    ]


def _read(
    ctx: ServiceContext, conn: Connection, row: Any, lines: list[tuple[CartLineRead, PricedLine]]
) -> CartRead:
    """The cart as shown: its lines priced with the promotions in force now (one place:
    :func:`api.services.prices.compose`; a voucher that no longer fits shows no discount)."""
    comp = compose(
        conn,
        [p for _r, p in lines],
        channel=row.channel,
        customer_id=row.customer_id,
        now=ctx.clock.now(),
        cart_id=row.id,
        strict=False,
    )
    return CartRead(
        id=row.id,
        customer_id=row.customer_id,
        channel=Channel(row.channel),
        location=ctx.location_code(conn, row.location_id),
        status=row.status,
        lines=[r for r, _p in lines],
        total_cents=comp.total_cents,
        expires_at=row.expires_at,
        discounts=comp.discount_lines(),
        discount_cents=comp.discount_cents,
        voucher=comp.voucher,
    )


def _missing_or_closed(conn: Connection, who: Principal, cart_id: int) -> Exception:
    status = conn.scalar(_owned(select(_CART.c.status).where(_CART.c.id == cart_id), who))
    if status is None:
        return NotFoundError(f"cart {cart_id} not found", details={"cart_id": cart_id})
    return ConflictError(
        f"cart {cart_id} is {status}", details={"cart_id": cart_id, "status": status}
    )


def get_cart(ctx: ServiceContext, who: Principal, cart_id: int) -> CartRead:
    """Raises NotFoundError for an unknown cart or another customer's cart."""
    with ctx.engine.connect() as conn:
        row = conn.execute(_owned(select(_CART).where(_CART.c.id == cart_id), who)).first()
        if row is None:
            raise NotFoundError(f"cart {cart_id} not found", details={"cart_id": cart_id})
        cart = _read(ctx, conn, row, _lines(conn, cart_id))
        conn.rollback()
    return cart


# Hot path (the twin sets cart lines all day): statements are built once, executed with params.
_CLAIM = (
    update(_CART)
    .where(_CART.c.id == bindparam("cid"), _CART.c.status == "open")
    .values(expires_at=bindparam("exp"))
    .returning(
        _CART.c.id,
        _CART.c.customer_id,
        _CART.c.channel,
        _CART.c.location_id,
        _CART.c.status,
        _CART.c.expires_at,
    )
)
_CLAIM_OWN = _CLAIM.where(_CART.c.customer_id == bindparam("cust"))
_LINE_HELD = select(_LINE.c.reserved_qty).where(
    _LINE.c.cart_id == bindparam("cid"), _LINE.c.sku_id == bindparam("sku")
)
_RESERVE = (
    update(_STOCK)
    .where(
        _STOCK.c.sku_id == bindparam("sku"),
        _STOCK.c.location_id == bindparam("loc"),
        _STOCK.c.on_hand - _STOCK.c.reserved >= bindparam("q"),
    )
    .values(reserved=_STOCK.c.reserved + bindparam("q"))
)
_UNRESERVE = (
    update(_STOCK)
    .where(_STOCK.c.sku_id == bindparam("sku"), _STOCK.c.location_id == bindparam("loc"))
    .values(reserved=_STOCK.c.reserved - bindparam("q"))
)
_LINE_DEL = delete(_LINE).where(
    _LINE.c.cart_id == bindparam("cid"), _LINE.c.sku_id == bindparam("sku")
)
_LINE_UPD = (
    update(_LINE)
    .where(_LINE.c.cart_id == bindparam("cid"), _LINE.c.sku_id == bindparam("sku"))
    .values(
        quantity=bindparam("qty"),
        unit_price_cents=bindparam("price"),
        reserved_qty=bindparam("qty"),
    )
)
_LINE_INS = insert(_LINE).values(
    cart_id=bindparam("cid"),
    sku_id=bindparam("sku"),
    quantity=bindparam("qty"),
    unit_price_cents=bindparam("price"),
    reserved_qty=bindparam("qty"),
)


def set_cart_line(ctx: ServiceContext, who: Principal, cart_id: int, body: CartLineSet) -> CartRead:
    """Set a line's quantity (0 removes it), reserving or releasing the difference.

    Raises: NotFoundError (cart, SKU), ConflictError (cart not open),
    InsufficientStockError (409, details: one LineError with the units available to the line).
    """
    now = ctx.clock.now()
    with ctx.uow() as u:
        c = u.conn
        # claims the cart row (PostgreSQL row lock) and extends its reservation window
        if who.role == "customer":
            row = c.execute(
                _CLAIM_OWN,
                {"cid": cart_id, "exp": now + ctx.reservation_ttl, "cust": who.customer_id},
            ).first()
        else:
            row = c.execute(_CLAIM, {"cid": cart_id, "exp": now + ctx.reservation_ttl}).first()
        if row is None:
            raise _missing_or_closed(c, who, cart_id)
        sku = ctx.sku_id(c, body.sku)
        key = {"cid": cart_id, "sku": sku}
        line = c.execute(_LINE_HELD, key).first()
        held = line[0] if line is not None else 0
        delta = body.quantity - held
        loc = row.location_id
        if delta > 0:
            if c.execute(_RESERVE, {"sku": sku, "loc": loc, "q": delta}).rowcount != 1:
                avail = available(c, loc, [sku])[sku] + held
                raise InsufficientStockError(
                    f"only {avail} of {body.sku} available at this location",
                    details=[
                        LineError(
                            sku=body.sku,
                            code="INSUFFICIENT_STOCK",
                            requested=body.quantity,
                            available=avail,
                        ).model_dump()
                    ],
                )
        elif delta < 0:
            c.execute(_UNRESERVE, {"sku": sku, "loc": loc, "q": -delta})
        if body.quantity == 0:
            c.execute(_LINE_DEL, key)
        else:
            price = current_price(c, sku, row.channel, now)
            c.execute(
                _LINE_UPD if line is not None else _LINE_INS,
                {**key, "qty": body.quantity, "price": price},
            )
        cart = _read(ctx, c, row, _lines(c, cart_id))
        u.commit()
    return cart


def release_reserved(conn: Connection, rows: dict[tuple[int, int], int]) -> None:
    """Give back reservations: ``rows[(location_id, sku_id)]`` units each, one UPDATE."""
    if not rows:
        return
    cte, params = values_cte(
        [(loc, sku, q) for (loc, sku), q in sorted(rows.items())], ("location_id", "sku_id", "q")
    )
    if conn.dialect.name == "postgresql" and len(rows) > 1:  # lock in key order: no deadlocks
        conn.execute(
            text(
                cte + "SELECT 1 FROM stock JOIN v ON stock.location_id = v.location_id "
                "AND stock.sku_id = v.sku_id ORDER BY stock.location_id, stock.sku_id "
                "FOR UPDATE OF stock"
            ),
            params,
        )
    conn.execute(
        text(
            cte + "UPDATE stock SET reserved = stock.reserved - v.q FROM v "
            "WHERE stock.location_id = v.location_id AND stock.sku_id = v.sku_id"
        ),
        params,
    )


def expire_reservations(ctx: ServiceContext, who: Principal) -> int:
    """Expire open carts whose ``expires_at`` is at or before the clock's now and release their
    reservations. Returns the number of carts expired. Staff/service only."""
    require_staff(who, "expiring reservations")
    now = ctx.clock.now()
    with ctx.uow() as u:
        c = u.conn
        carts = c.execute(
            update(_CART)
            .where(_CART.c.status == "open", _CART.c.expires_at <= now)
            .values(status="expired")
            .returning(_CART.c.id, _CART.c.location_id)
        ).all()
        if not carts:
            return 0
        loc_of = {cid: loc for cid, loc in carts}
        ids = sorted(loc_of)
        held: dict[tuple[int, int], int] = defaultdict(int)
        lines = c.execute(
            select(_LINE.c.cart_id, _LINE.c.sku_id, _LINE.c.reserved_qty).where(
                _LINE.c.cart_id.in_(bindparam("ids", expanding=True)), _LINE.c.reserved_qty > 0
            ),
            {"ids": ids},
        ).all()
        for cid, sku, q in lines:
            held[(loc_of[cid], sku)] += q
        release_reserved(c, held)
        c.execute(
            update(_LINE)
            .where(_LINE.c.cart_id.in_(bindparam("ids", expanding=True)))
            .values(reserved_qty=0),
            {"ids": ids},
        )
        u.commit()
    return len(carts)
