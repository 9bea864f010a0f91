"""Checkout: a cart (or lines given inline) -> an order exactly once, then a recoverable payment.

1. One short transaction places the order. From a cart: claims the cart (conditional UPDATE of
   its status, so a cart yields at most one order) and re-takes any reservation the cart lost to
   expiry. Express (``lines`` inline, no cart): reserves every line in one conditional UPDATE.
   Either way a short line fails with per-line ``INSUFFICIENT_STOCK``; the order (``placed``,
   holding its stock as reserved), its lines and a ``pending`` payment row are written, and the
   ``Idempotency-Key`` row commits in the same transaction with the order id on it.
2. The gateway authorises and captures with no transaction open, under its own idempotency key
   ``order-<id>``: however often the payment is retried, the order is charged at most once.
3. A second short transaction books the payment, moves the order to ``paid`` and stores the
   key's outcome. A decline cancels the order and releases its stock.

Recovery. A payment is a step that can be resumed: a retry of the same checkout (same key after
its lease expired, or the same cart with any key) finds the placed order and runs steps 2-3
again; the gateway answers the first charge if there was one. An order already ``paid`` is
answered as it is; an order that can no longer be paid (cancelled, ``payment_failed``) is
answered with a typed 409 ``ORDER_NOT_PAID`` carrying the order id, never a 201. Orders whose
payment was left pending by a crash are resolved by :func:`reconcile_payments`, which asks the
gateway what happened.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from psycopg.errors import UniqueViolation
from sqlalchemy import Connection, bindparam, insert, select, update

from api import outbox
from api.errors import (
    ConflictError,
    InsufficientStockError,
    InvalidInputError,
    NotFoundError,
    PaymentFailedError,
)
from api.models import T
from api.payments import Authorization, GatewayTimeout, PaymentDeclined
from api.schemas import (
    Channel,
    CheckoutRequest,
    LineError,
    OrderLineRead,
    OrderRead,
    OrderStatus,
    PaymentRead,
)
from api.services import checkout_pg as pg
from api.services.adapters import A_ORDER
from api.services.carts import release_reserved
from api.services.context import Principal, ServiceContext, require_staff
from api.services.idempotency import Claim, KeyTakenError, run_idempotent_tx
from api.services.orders import read_order
from api.services.prices import compose, current_prices
from api.services.promotions import PricedLine, any_automatic, record_discounts, release_uses
from api.services.purchase_limits import consume as consume_limits
from api.services.purchase_limits import give_back as give_back_limits
from api.services.stock import available, decrement_available

log = logging.getLogger(__name__)
_CART, _LINE, _SKU = T["carts"], T["cart_lines"], T["skus"]
_ORD, _OL, _PAY = T["orders"], T["order_lines"], T["payments"]
S = OrderStatus
PAID_OR_LATER = frozenset({S.PAID, S.ALLOCATED, S.SHIPPED, S.DELIVERED, S.RETURNED, S.REFUNDED})


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
    .where(_ORD.c.id == bindparam("oid"), _ORD.c.status == S.PLACED.value)
    .values(status=S.PAID.value, updated_at=bindparam("now"))
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
_STATUS_OF = select(_ORD.c.status).where(_ORD.c.id == bindparam("oid"))


@dataclass(frozen=True, slots=True)
class _Line:
    sku_id: int
    code: str
    quantity: int
    unit_price_cents: int


_RENDERED: ContextVar[tuple[OrderRead, bytes] | None] = ContextVar("checkout_json", default=None)


def rendered(order: OrderRead) -> bytes | None:
    """The JSON of ``order`` if this call of checkout rendered it already (sent as is)."""
    got = _RENDERED.get()
    return got[1] if got is not None and got[0] is order else None


def gateway_reference(order_id: int) -> str:
    """The gateway idempotency key of an order's payment."""
    return f"order-{order_id}"


def _write_order(
    ctx: ServiceContext,
    c: Connection,
    *,
    cart_id: int | None,
    customer_id: str,
    channel: str,
    loc: int,
    lines: Sequence[_Line],
    claim: Claim | None,
    voucher: str | None = None,
) -> OrderRead:
    """Price the lines with the promotions (:func:`api.services.prices.compose`, strict: a
    voucher that cannot be used raises its typed 409/404), count the limited promotions' uses
    (the database refuses one too many: VOUCHER_EXHAUSTED rolls the transaction back), and insert
    the order, its lines, its discount lines and a pending payment in ``c``'s transaction."""
    now = ctx.clock.now()
    comp = compose(
        c,
        [PricedLine(ln.sku_id, ln.quantity, ln.unit_price_cents) for ln in lines],
        channel=channel,
        customer_id=customer_id,
        now=now,
        voucher=voucher,
        cart_id=cart_id,
        strict=True,
    )
    total = comp.total_cents
    oid = c.execute(
        _ORDER_INS,
        {
            "cart_id": cart_id,
            "customer_id": customer_id,
            "channel": channel,
            "location_id": loc,
            "status": S.PLACED.value,
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
    outbox.record(
        c,
        "order.placed",
        oid,
        {
            "order_id": oid,
            "customer_id": customer_id,
            "status": S.PLACED.value,
            "total_cents": total,
            "lines": [
                {"sku": ln.code, "quantity": ln.quantity, "unit_price_cents": ln.unit_price_cents}
                for ln in sorted(lines, key=lambda x: x.code)
            ],
        },
        now,
    )
    record_discounts(c, oid, customer_id, comp.applied)
    if claim is not None:
        claim.set_resource(c, oid)
    return OrderRead(
        id=oid,
        customer_id=customer_id,
        channel=Channel(channel),
        location=ctx.location_code(c, loc),
        status=S.PLACED,
        lines=[
            OrderLineRead(sku=ln.code, quantity=ln.quantity, unit_price_cents=ln.unit_price_cents)
            for ln in lines
        ],
        total_cents=total,
        payment=PaymentRead(
            authorized_cents=0, captured_cents=0, refunded_cents=0, status="pending"
        ),
        created_at=now,
        updated_at=now,
        discounts=comp.discount_lines(),
        discount_cents=comp.discount_cents,
    )


def _place_cart(
    ctx: ServiceContext,
    who: Principal,
    cart_id: int,
    claim: Claim | None,
    voucher: str | None = None,
) -> tuple[OrderRead | None, int | None]:
    """Step 1 for a cart. Returns (the new order, None) or (None, id of the cart's order)."""
    with ctx.uow() as u:
        c = u.conn
        if claim is not None:
            claim.insert(c)  # the Idempotency-Key row commits with the order (or not at all)
        if who.role == "customer":
            cart = c.execute(_CLAIM_OWN, {"cid": cart_id, "cust": who.customer_id}).first()
        else:
            cart = c.execute(_CLAIM, {"cid": cart_id}).first()
        if cart is None:
            q = select(_CART.c.status).where(_CART.c.id == cart_id)
            if who.role == "customer":
                q = q.where(_CART.c.customer_id == who.customer_id)
            status = c.scalar(q)
            if status is None:
                raise NotFoundError(f"cart {cart_id} not found", details={"cart_id": cart_id})
            oid = c.scalar(select(_ORD.c.id).where(_ORD.c.cart_id == cart_id))
            if oid is None:
                raise ConflictError(f"cart {cart_id} is {status}", details={"cart_id": cart_id})
            if claim is not None:
                claim.set_resource(c, oid)
                u.commit()
                claim.held = True
            return None, int(oid)
        rows = c.execute(_LINES, {"cid": cart_id}).all()
        if not rows:
            raise InvalidInputError(
                f"cart {cart_id} is empty", details={"field": "cart_id", "value": cart_id}
            )
        loc = cart.location_id
        need = {r.sku_id: r.quantity - r.reserved_qty for r in rows if r.quantity > r.reserved_qty}
        if need:
            ok = decrement_available(ctx, c, loc, need, column="reserved")
            if len(ok) != len(need):
                held = {r.sku_id: r.reserved_qty for r in rows}
                _short(c, loc, need, ok, {r.sku_id: (r.code, r.quantity) for r in rows}, held)
        consume_limits(
            c,
            cart.customer_id,
            {r.sku_id: r.quantity for r in rows},
            {r.sku_id: r.code for r in rows},
        )
        lines = [_Line(r.sku_id, r.code, r.quantity, r.unit_price_cents) for r in rows]
        order = _write_order(
            ctx,
            c,
            cart_id=cart_id,
            customer_id=cart.customer_id,
            channel=cart.channel,
            loc=loc,
            lines=lines,
            claim=claim,
            voucher=voucher,
        )
        u.commit()
    if claim is not None:
        claim.held = True
    return order, None


def _place_express(
    ctx: ServiceContext, who: Principal, body: CheckoutRequest, claim: Claim | None
) -> OrderRead:
    """Step 1 for lines given inline: reserve them all or none, write the order."""
    assert body.lines is not None and body.location is not None and body.channel is not None
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
    qty: dict[str, int] = defaultdict(int)
    for ln in body.lines:
        qty[ln.sku] += ln.quantity
    if ctx.is_pg and body.voucher is None:  # the one-statement path, when no promotion applies
        placed = _place_express_pg(ctx, body, customer, qty, claim)
        if placed is not None:
            return placed
    with ctx.uow() as u:
        c = u.conn
        if claim is not None:
            claim.insert(c)
        loc, ids = _resolve(ctx, c, body.location, qty)
        need = {ids[s]: q for s, q in qty.items()}
        ok = decrement_available(ctx, c, loc, need, column="reserved")
        if len(ok) != len(need):
            _short(c, loc, need, ok, {ids[s]: (s, q) for s, q in qty.items()}, {})
        consume_limits(c, customer, need, {ids[s]: s for s in qty})
        price = current_prices(c, list(need), body.channel.value, ctx.clock.now())
        lines = [_Line(ids[s], s, qty[s], price[ids[s]]) for s in sorted(qty)]
        order = _write_order(
            ctx,
            c,
            cart_id=None,
            customer_id=customer,
            channel=body.channel.value,
            loc=loc,
            lines=lines,
            claim=claim,
            voucher=body.voucher,
        )
        u.commit()
    if claim is not None:
        claim.held = True
    return order


def _resolve(
    ctx: ServiceContext, c: Connection, location: str, qty: dict[str, int]
) -> tuple[int, dict[str, int]]:
    """Location id and SKU ids (cached). Raises NotFoundError (per-line UNKNOWN_SKU)."""
    loc = ctx.location_id(c, location)
    ids = ctx.sku_ids(c, qty)
    missing = sorted(set(qty) - ids.keys())
    if missing:
        raise NotFoundError(
            f"unknown sku(s) {missing[:10]}",
            details=[
                LineError(sku=m, code="UNKNOWN_SKU", requested=qty[m], available=0).model_dump()
                for m in missing
            ],
        )
    return loc, ids


def _place_express_pg(
    ctx: ServiceContext,
    body: CheckoutRequest,
    customer: str,
    qty: dict[str, int],
    claim: Claim | None,
) -> OrderRead | None:
    """Step 1 on PostgreSQL: one prepared statement (see :mod:`api.services.checkout_pg`).
    None (nothing done) when an automatic promotion is in force: the portable path prices it."""
    assert body.location is not None and body.channel is not None
    now = ctx.clock.now()
    with ctx.uow() as u:
        c = u.conn
        if any_automatic(c, body.channel.value, now):
            return None
        loc, ids = _resolve(ctx, c, body.location, qty)
        need = {ids[s]: q for s, q in qty.items()}
        key = (claim.who, claim.key, claim.digest, claim.lease_until) if claim else None
        consume_limits(c, customer, need, {ids[s]: s for s in qty})
        try:
            oid, ok, price = pg.place_express(
                c,
                location_id=loc,
                qty=need,
                channel=body.channel.value,
                customer_id=customer,
                now=now,
                key=key,
            )
        except UniqueViolation as exc:
            raise KeyTakenError(claim.key if claim else "") from exc
        if oid is None:
            _short(c, loc, need, ok, {ids[s]: (s, q) for s, q in qty.items()}, {})
        location = ctx.location_code(c, loc)
        u.commit()
    assert oid is not None
    if claim is not None:
        claim.held = True
        claim.resource_id = oid
    lines = [
        OrderLineRead(sku=s, quantity=qty[s], unit_price_cents=price[ids[s]]) for s in sorted(qty)
    ]
    return OrderRead(
        id=oid,
        customer_id=customer,
        channel=body.channel,
        location=location,
        status=S.PLACED,
        lines=lines,
        total_cents=sum(ln.quantity * ln.unit_price_cents for ln in lines),
        payment=PaymentRead(
            authorized_cents=0, captured_cents=0, refunded_cents=0, status="pending"
        ),
        created_at=now,
        updated_at=now,
    )


def _short(
    c: Connection,
    loc: int,
    need: dict[int, int],
    ok: set[int],
    lines: dict[int, tuple[str, int]],
    held: dict[int, int],
) -> None:
    """Raise INSUFFICIENT_STOCK with a LineError per short line (``lines``: id -> code, qty)."""
    bad = sorted(set(need) - ok, key=lambda s: lines[s][0])
    avail = available(c, loc, bad)
    errs = [
        LineError(
            sku=lines[s][0],
            code="INSUFFICIENT_STOCK",
            requested=lines[s][1],
            available=avail[s] + held.get(s, 0),
        ).model_dump()
        for s in bad
    ]
    raise InsufficientStockError(f"{len(errs)} line(s) are out of stock", details=list(errs))


def _not_paid(order_id: int, status: str) -> ConflictError:
    return ConflictError(
        f"order {order_id} is {status} and can no longer be paid",
        code="ORDER_NOT_PAID",
        details={"order_id": order_id, "status": status},
    )


def _paid_event(c: Connection, order_id: int, amount_cents: int, now: datetime) -> None:
    outbox.record(
        c,
        "order.paid",
        order_id,
        {"order_id": order_id, "status": S.PAID.value, "amount_cents": amount_cents},
        now,
    )


def _cancelled(
    c: Connection,
    order_ids: list[int],
    reason: str,
    now: datetime,
    status: OrderStatus = S.CANCELLED,
) -> None:
    """In the cancelling transaction: give purchase-limit units back, write the events."""
    give_back_limits(c, order_ids)
    outbox.record_many(
        c,
        "order.cancelled",
        [(i, {"order_id": i, "status": status.value, "reason": reason}) for i in order_ids],
        now,
    )


def _release_order(c: Connection, order_id: int, location_id: int) -> None:
    rows = c.execute(select(_OL.c.sku_id, _OL.c.quantity).where(_OL.c.order_id == order_id)).all()
    release_reserved(c, {(location_id, r.sku_id): r.quantity for r in rows})
    release_uses(c, [order_id])  # a declined or failed order gives its voucher uses back


def _pay(
    ctx: ServiceContext, who: Principal, order: OrderRead, token: str, claim: Claim | None
) -> OrderRead:
    """Steps 2-3 for a placed order (new, or resumed after a crash or a gateway timeout)."""
    ref = gateway_reference(order.id)
    try:
        auth = ctx.gateway.authorize(amount_cents=order.total_cents, token=token, reference=ref)
        ctx.gateway.capture(auth, order.total_cents)
    except PaymentDeclined as exc:
        now = ctx.clock.now()
        with ctx.uow() as u:
            row = u.conn.execute(
                update(_ORD)
                .where(_ORD.c.id == order.id, _ORD.c.status == S.PLACED.value)
                .values(status=S.CANCELLED.value, updated_at=now)
                .returning(_ORD.c.location_id)
            ).first()
            if row is not None:
                _release_order(u.conn, order.id, row.location_id)
                u.conn.execute(
                    update(_PAY).where(_PAY.c.order_id == order.id).values(status="declined")
                )
                _cancelled(u.conn, [order.id], "declined", now)
            u.commit()
        if row is None:  # resolved meanwhile by another attempt: answer its state
            return _answer_existing(ctx, who, order.id, claim)
        raise PaymentFailedError(
            f"payment declined for order {order.id}",
            code="PAYMENT_DECLINED",
            details={"order_id": order.id},
        ) from exc
    except GatewayTimeout as exc:
        with ctx.uow() as u:
            u.conn.execute(
                update(_PAY)
                .where(_PAY.c.order_id == order.id, _PAY.c.status == "pending")
                .values(status="timeout")
            )
            u.commit()
        err = PaymentFailedError(
            f"payment gateway timed out for order {order.id}; retry the checkout to resume it",
            code="PAYMENT_TIMEOUT",
            details={"order_id": order.id},
        )
        err.resumable = True  # type: ignore[attr-defined]
        raise err from exc
    now = ctx.clock.now()
    paid = order.model_copy(
        update={
            "status": S.PAID,
            "updated_at": now,
            "payment": PaymentRead(
                authorized_cents=order.total_cents,
                captured_cents=order.total_cents,
                refunded_cents=0,
                status="captured",
            ),
        }
    )
    paid_json = A_ORDER.dump_json(paid)  # rendered once: stored under the key and sent
    _RENDERED.set((paid, paid_json))
    with ctx.uow() as u:
        if ctx.is_pg:  # one prepared statement
            moved = pg.book_paid(
                u.conn,
                order_id=order.id,
                amount_cents=order.total_cents,
                gateway_ref=auth.auth_id,
                now=now,
                key=(claim.who, claim.key) if claim is not None else None,
                response=paid_json.decode() if claim is not None else None,
            )
        else:
            moved = u.conn.execute(_PAID, {"oid": order.id, "now": now}).rowcount == 1
            if moved:
                u.conn.execute(
                    _CAPTURED, {"oid": order.id, "amt": order.total_cents, "ref": auth.auth_id}
                )
                _paid_event(u.conn, order.id, order.total_cents, now)
                if claim is not None:
                    claim.complete(u.conn, paid_json.decode())
        u.commit()
    if moved:
        if claim is not None:
            claim.done = True
        return paid
    # resolved meanwhile: paid by a concurrent attempt (the gateway charged once), or cancelled
    # or failed by expiry / the reconciler while we were at the gateway (refund the capture)
    return _answer_existing(ctx, who, order.id, claim, refund_auth=auth.auth_id)


def _answer_existing(
    ctx: ServiceContext,
    who: Principal,
    order_id: int,
    claim: Claim | None,
    *,
    refund_auth: str | None = None,
) -> OrderRead:
    with ctx.engine.connect() as conn:
        order = read_order(ctx, conn, who, order_id)
        conn.rollback()
    if order.status in PAID_OR_LATER:
        return order
    if refund_auth is not None and order.status != S.PLACED:
        charge = ctx.gateway.lookup(gateway_reference(order_id))
        if charge is not None and charge.captured_cents > charge.refunded_cents:
            ctx.gateway.refund(refund_auth, charge.captured_cents - charge.refunded_cents)
            with ctx.uow() as u:
                u.conn.execute(
                    update(_PAY)
                    .where(_PAY.c.order_id == order_id)
                    .values(
                        authorized_cents=charge.amount_cents,
                        captured_cents=charge.captured_cents,
                        refunded_cents=charge.captured_cents,
                        status="refunded",
                        gateway_ref=charge.auth_id,
                    )
                )
                u.commit()
    raise _not_paid(order_id, order.status.value)


def resume_payment(
    ctx: ServiceContext, who: Principal, order_id: int, token: str, claim: Claim | None
) -> OrderRead:
    """Finish the payment of an order placed earlier (see the module docstring).

    Raises: NotFoundError, ConflictError (409 ORDER_NOT_PAID: cancelled or payment_failed, with
    the order id), PaymentFailedError (402).
    """
    with ctx.engine.connect() as conn:
        order = read_order(ctx, conn, who, order_id)
        conn.rollback()
    if order.status == S.PLACED:
        return _pay(ctx, who, order, token, claim)
    if order.status in PAID_OR_LATER:
        return order
    raise _not_paid(order_id, order.status.value)


def checkout(
    ctx: ServiceContext, who: Principal, body: CheckoutRequest, claim: Claim | None = None
) -> OrderRead:
    """Turn a cart, or lines given inline, into a paid order (exactly once per cart / key).

    ``claim`` (from :func:`api.services.idempotency.run_idempotent_tx`) writes the
    Idempotency-Key row in the order-placement transaction and the stored result in the payment
    transaction.

    Raises:
        NotFoundError: unknown cart (or another customer's), location or SKU.
        ConflictError: the cart was abandoned; or 409 ``ORDER_NOT_PAID`` (the cart's order was
            cancelled or its payment failed), ``details`` carrying the ``order_id``.
        InvalidInputError: the cart is empty; a staff key without ``customer_id``.
        InsufficientStockError: (409) ``details`` lists a LineError per short line.
        PaymentFailedError: (402) ``PAYMENT_DECLINED`` (order cancelled, stock released) or
            ``PAYMENT_TIMEOUT`` (order left ``placed``: a retry resumes it, the reconciler
            resolves it). ``details`` carries the ``order_id``.
    """
    if body.cart_id is not None:
        order, existing = _place_cart(ctx, who, body.cart_id, claim, body.voucher)
        if order is None:
            assert existing is not None
            return resume_payment(ctx, who, existing, body.payment_token, claim)
    else:
        order = _place_express(ctx, who, body, claim)
    return _pay(ctx, who, order, body.payment_token, claim)


def checkout_idempotent(
    ctx: ServiceContext, who: Principal, body: CheckoutRequest, key: str | None
) -> OrderRead:
    """:func:`checkout` under ``Idempotency-Key`` ``key``: exactly once; a retry after the first
    request died (its key's lease expired) resumes the payment of the order it placed."""
    return run_idempotent_tx(
        ctx,
        who,
        key,
        "checkout",
        body,
        A_ORDER,
        lambda claim: checkout(ctx, who, body, claim),
        resume=lambda claim: _resume_claim(ctx, who, body, claim),
    )


def _resume_claim(
    ctx: ServiceContext, who: Principal, body: CheckoutRequest, claim: Claim
) -> OrderRead:
    assert claim.resource_id is not None
    return resume_payment(ctx, who, claim.resource_id, body.payment_token, claim)


# ---- reconciliation --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReconcileResult:
    """What one reconciliation pass did (counts of orders)."""

    paid: int = 0
    failed: int = 0
    refunded: int = 0

    @property
    def total(self) -> int:
        return self.paid + self.failed + self.refunded


def reconcile_payments(ctx: ServiceContext, who: Principal, *, limit: int = 500) -> ReconcileResult:
    """Resolve payments a crash or a gateway timeout left pending, by asking the gateway.

    Orders still ``placed`` ``ctx.payment_grace`` after creation: captured at the gateway ->
    ``paid``; authorised only -> captured, then ``paid``; no charge -> ``payment_failed`` with
    their stock released. Orders cancelled or failed whose charge is captured and not refunded
    (the request died between the two) are refunded. Staff/service only.
    """
    require_staff(who, "reconciling payments")
    cutoff = ctx.clock.now() - ctx.payment_grace
    with ctx.engine.connect() as conn:
        placed = conn.execute(
            select(_ORD.c.id, _ORD.c.total_cents, _ORD.c.location_id)
            .where(_ORD.c.status == S.PLACED.value, _ORD.c.created_at <= cutoff)
            .order_by(_ORD.c.id)
            .limit(limit)
        ).all()
        stale = conn.execute(
            select(_ORD.c.id)
            .join(_PAY, _PAY.c.order_id == _ORD.c.id)
            .where(
                _ORD.c.status.in_((S.CANCELLED.value, S.PAYMENT_FAILED.value)),
                _PAY.c.status.in_(("pending", "timeout", "void")),
                _ORD.c.updated_at <= cutoff,
            )
            .order_by(_ORD.c.id)
            .limit(limit)
        ).all()
        conn.rollback()
    paid = failed = refunded = 0
    for o in placed:
        charge = ctx.gateway.lookup(gateway_reference(o.id))
        now = ctx.clock.now()
        with ctx.uow() as u:
            c = u.conn
            if charge is not None:
                if charge.captured_cents < charge.amount_cents:
                    ctx.gateway.capture(
                        Authorization(charge.auth_id, charge.amount_cents), charge.amount_cents
                    )
                moved = c.execute(_PAID, {"oid": o.id, "now": now}).rowcount
                if moved == 1:
                    c.execute(
                        _CAPTURED, {"oid": o.id, "amt": charge.amount_cents, "ref": charge.auth_id}
                    )
                    _paid_event(c, o.id, charge.amount_cents, now)
                    paid += 1
            else:
                row = c.execute(
                    update(_ORD)
                    .where(_ORD.c.id == o.id, _ORD.c.status == S.PLACED.value)
                    .values(status=S.PAYMENT_FAILED.value, updated_at=now)
                    .returning(_ORD.c.location_id)
                ).first()
                if row is not None:
                    _release_order(c, o.id, row.location_id)
                    c.execute(update(_PAY).where(_PAY.c.order_id == o.id).values(status="failed"))
                    _cancelled(c, [o.id], "payment_failed", now, S.PAYMENT_FAILED)
                    failed += 1
            u.commit()
    for o in stale:
        charge = ctx.gateway.lookup(gateway_reference(o.id))
        with ctx.uow() as u:
            if charge is not None and charge.captured_cents > charge.refunded_cents:
                ctx.gateway.refund(charge.auth_id, charge.captured_cents - charge.refunded_cents)
                u.conn.execute(
                    update(_PAY)
                    .where(_PAY.c.order_id == o.id)
                    .values(
                        authorized_cents=charge.amount_cents,
                        captured_cents=charge.captured_cents,
                        refunded_cents=charge.captured_cents,
                        status="refunded",
                        gateway_ref=charge.auth_id,
                    )
                )
                refunded += 1
            else:
                u.conn.execute(update(_PAY).where(_PAY.c.order_id == o.id).values(status="failed"))
            u.commit()
    if paid or failed or refunded:
        log.info("reconciled payments: %d paid, %d failed, %d refunded", paid, failed, refunded)
    return ReconcileResult(paid=paid, failed=failed, refunded=refunded)
