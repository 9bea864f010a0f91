"""Checkout: cart -> order exactly once, then payment with no transaction open.

1. One short transaction claims the cart (conditional UPDATE of its status, so a cart yields at
   most one order), re-takes any reservation the cart lost to expiry (one conditional UPDATE for
   all such lines; per-line ``INSUFFICIENT_STOCK`` otherwise), and writes the order (``placed``,
   holding the cart's reservation as its allocation), its lines and a pending payment row.
2. The gateway authorises and captures, outside any transaction and lock; it is idempotent per
   order reference, so a retried checkout never charges twice.
3. A second short transaction books the payment and moves the order to ``paid`` (or cancels it
   and releases the stock on a decline). An order cancelled meanwhile (expiry) is refunded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from api.errors import (
    ConflictError,
    InsufficientStockError,
    InvalidInputError,
    NotFoundError,
    PaymentFailedError,
)
from api.models import T
from api.payments import GatewayTimeout, PaymentDeclined
from api.schemas import (
    Channel,
    CheckoutRequest,
    LineError,
    OrderLineRead,
    OrderRead,
    OrderStatus,
    PaymentRead,
)
from api.services.adapters import A_ORDER
from api.services.carts import release_reserved
from api.services.context import Principal, ServiceContext
from api.services.idempotency import Claim
from api.services.orders import get_order, read_order
from api.services.stock import available, decrement_available

_CART, _LINE, _SKU = T["carts"], T["cart_lines"], T["skus"]
_ORD, _OL, _PAY = T["orders"], T["order_lines"], T["payments"]


# Hot path: statements built once.
_CLAIM = (
    update(_CART)
    .where(_CART.c.id == bindparam("cid"), _CART.c.status.in_(("open", "expired")))
    .values(status="checked_out")
    .returning(_CART.c.customer_id, _CART.c.channel, _CART.c.location_id)
)
_CLAIM_OWN = _CLAIM.where(_CART.c.customer_id == bindparam("cust"))
_LINES = (
    select(
        _LINE.c.sku_id,
        _SKU.c.code,
        _LINE.c.quantity,
        _LINE.c.unit_price_cents,
        _LINE.c.reserved_qty,
    )
    .join(_SKU, _SKU.c.id == _LINE.c.sku_id)
    .where(_LINE.c.cart_id == bindparam("cid"))
    .order_by(_SKU.c.code)
)
_ORDER_INS = insert(_ORD).returning(_ORD.c.id)
_OL_INS = insert(_OL)
_PAY_INS = insert(_PAY)
_PAID = (
    update(_ORD)
    .where(_ORD.c.id == bindparam("oid"), _ORD.c.status == OrderStatus.PLACED.value)
    .values(status=OrderStatus.PAID.value, updated_at=bindparam("now"))
)
_CAPTURED = (
    update(_PAY)
    .where(_PAY.c.order_id == bindparam("oid"))
    .values(
        authorized_cents=bindparam("amt"),
        captured_cents=bindparam("amt"),
        status="captured",
        gateway_ref=bindparam("ref"),
    )
)


def _place(
    ctx: ServiceContext, who: Principal, body: CheckoutRequest, claim: Claim | None
) -> tuple[OrderRead, bool]:
    """Step 1. Returns the placed order and whether it is new (False: the cart's existing order)."""
    now = ctx.clock.now()
    with ctx.uow() as u:
        c = u.conn
        if claim is not None:
            claim.insert(c)  # the Idempotency-Key row commits with the order (or not at all)
        if who.role == "customer":
            cart = c.execute(_CLAIM_OWN, {"cid": body.cart_id, "cust": who.customer_id}).first()
        else:
            cart = c.execute(_CLAIM, {"cid": body.cart_id}).first()
        if cart is None:
            q = select(_CART.c.status).where(_CART.c.id == body.cart_id)
            if who.role == "customer":
                q = q.where(_CART.c.customer_id == who.customer_id)
            status = c.scalar(q)
            if status is None:
                raise NotFoundError(
                    f"cart {body.cart_id} not found", details={"cart_id": body.cart_id}
                )
            oid = c.scalar(select(_ORD.c.id).where(_ORD.c.cart_id == body.cart_id))
            if oid is None:
                raise ConflictError(
                    f"cart {body.cart_id} is {status}", details={"cart_id": body.cart_id}
                )
            return read_order(ctx, c, who, oid), False
        lines = c.execute(_LINES, {"cid": body.cart_id}).all()
        if not lines:
            raise InvalidInputError(
                f"cart {body.cart_id} is empty", details={"field": "cart_id", "value": body.cart_id}
            )
        loc = cart.location_id
        need = {
            ln.sku_id: ln.quantity - ln.reserved_qty
            for ln in lines
            if ln.quantity > ln.reserved_qty
        }
        if need:
            ok = decrement_available(ctx, c, loc, need, column="reserved")
            if len(ok) != len(need):
                _short(c, loc, need, ok, lines)
        total = sum(ln.quantity * ln.unit_price_cents for ln in lines)
        oid = c.execute(
            _ORDER_INS,
            {
                "cart_id": body.cart_id,
                "customer_id": cart.customer_id,
                "channel": cart.channel,
                "location_id": loc,
                "status": OrderStatus.PLACED.value,
                "total_cents": total,
                "created_at": now,
                "updated_at": now,
            },
        ).scalar_one()
        c.execute(
            _OL_INS,
            [
                {
                    "order_id": oid,
                    "sku_id": ln.sku_id,
                    "quantity": ln.quantity,
                    "unit_price_cents": ln.unit_price_cents,
                    "returned_qty": 0,
                }
                for ln in lines
            ],
        )
        c.execute(
            _PAY_INS,
            {
                "order_id": oid,
                "amount_cents": total,
                "authorized_cents": 0,
                "captured_cents": 0,
                "refunded_cents": 0,
                "status": "pending",
            },
        )
        order = OrderRead(
            id=oid,
            customer_id=cart.customer_id,
            channel=Channel(cart.channel),
            location=ctx.location_code(c, loc),
            status=OrderStatus.PLACED,
            lines=[
                OrderLineRead(
                    sku=ln.code, quantity=ln.quantity, unit_price_cents=ln.unit_price_cents
                )
                for ln in lines
            ],
            total_cents=total,
            payment=PaymentRead(
                authorized_cents=0, captured_cents=0, refunded_cents=0, status="pending"
            ),
            created_at=now,
            updated_at=now,
        )
        u.commit()
    if claim is not None:
        claim.held = True
    return order, True


def _short(c: Any, loc: int, need: dict[int, int], ok: set[int], lines: Sequence[Any]) -> None:
    code = {ln.sku_id: ln.code for ln in lines}
    bad = sorted(set(need) - ok, key=code.__getitem__)
    avail = available(c, loc, bad)
    qty = {ln.sku_id: ln.quantity for ln in lines}
    held = {ln.sku_id: ln.reserved_qty for ln in lines}
    errs = [
        LineError(
            sku=code[s], code="INSUFFICIENT_STOCK", requested=qty[s], available=avail[s] + held[s]
        ).model_dump()
        for s in bad
    ]
    raise InsufficientStockError(
        f"{len(errs)} line(s) of the cart are out of stock", details=list(errs)
    )


def checkout(
    ctx: ServiceContext, who: Principal, body: CheckoutRequest, claim: Claim | None = None
) -> OrderRead:
    """Turn a cart into a paid order (exactly once per cart).

    ``claim`` (from :func:`api.services.idempotency.run_idempotent_tx`) writes the
    Idempotency-Key row in the order-placement transaction and the stored result in the payment
    transaction.

    Raises:
        NotFoundError: unknown cart, or another customer's.
        ConflictError: the cart was abandoned.
        InvalidInputError: the cart is empty.
        InsufficientStockError: (409) ``details`` lists a LineError per short line.
        PaymentFailedError: (402) ``PAYMENT_DECLINED`` (order cancelled, stock released) or
            ``PAYMENT_TIMEOUT`` (order left ``placed``; unpaid-order expiry releases it).
            ``details`` carries the ``order_id``.
    """
    order, new = _place(ctx, who, body, claim)
    if not new:
        return order
    ref = f"order-{order.id}"
    try:
        auth = ctx.gateway.authorize(
            amount_cents=order.total_cents, token=body.payment_token, reference=ref
        )
        ctx.gateway.capture(auth, order.total_cents)
    except PaymentDeclined as exc:
        now = ctx.clock.now()
        with ctx.uow() as u:
            row = u.conn.execute(
                update(_ORD)
                .where(_ORD.c.id == order.id, _ORD.c.status == OrderStatus.PLACED.value)
                .values(status=OrderStatus.CANCELLED.value, updated_at=now)
                .returning(_ORD.c.location_id)
            ).first()
            if row is not None:
                ids = ctx.sku_ids(u.conn, [ln.sku for ln in order.lines])
                release_reserved(
                    u.conn, {(row.location_id, ids[ln.sku]): ln.quantity for ln in order.lines}
                )
            u.conn.execute(
                update(_PAY).where(_PAY.c.order_id == order.id).values(status="declined")
            )
            u.commit()
        raise PaymentFailedError(
            f"payment declined for order {order.id}",
            code="PAYMENT_DECLINED",
            details={"order_id": order.id},
        ) from exc
    except GatewayTimeout as exc:
        with ctx.uow() as u:
            u.conn.execute(update(_PAY).where(_PAY.c.order_id == order.id).values(status="timeout"))
            u.commit()
        raise PaymentFailedError(
            f"payment gateway timed out for order {order.id}",
            code="PAYMENT_TIMEOUT",
            details={"order_id": order.id},
        ) from exc
    now = ctx.clock.now()
    paid = order.model_copy(
        update={
            "status": OrderStatus.PAID,
            "updated_at": now,
            "payment": PaymentRead(
                authorized_cents=order.total_cents,
                captured_cents=order.total_cents,
                refunded_cents=0,
                status="captured",
            ),
        }
    )
    with ctx.uow() as u:
        moved = u.conn.execute(_PAID, {"oid": order.id, "now": now}).rowcount
        u.conn.execute(_CAPTURED, {"oid": order.id, "amt": order.total_cents, "ref": auth.auth_id})
        if moved == 1 and claim is not None:
            claim.complete(u.conn, A_ORDER.dump_json(paid).decode())
        u.commit()
    if moved == 1 and claim is not None:
        claim.done = True
    if moved != 1:  # expired (cancelled) while we were at the gateway: give the money back
        ctx.gateway.refund(auth.auth_id, order.total_cents)
        with ctx.uow() as u:
            u.conn.execute(
                update(_PAY)
                .where(_PAY.c.order_id == order.id)
                .values(refunded_cents=order.total_cents, status="refunded")
            )
            u.commit()
        return get_order(ctx, who, order.id)
    return paid
