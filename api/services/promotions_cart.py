"""Entering a voucher on a cart (``PUT /v1/carts/{id}/voucher``)."""

from __future__ import annotations

from sqlalchemy import delete, insert

from api.models import T
from api.schemas import CartRead
from api.schemas_promo import VoucherSet
from api.services import carts
from api.services.context import Principal, ServiceContext
from api.services.promotions import voucher_rule

_CV = T["cart_vouchers"]


def set_cart_voucher(
    ctx: ServiceContext, who: Principal, cart_id: int, body: VoucherSet
) -> CartRead:
    """Enter voucher ``body.code`` on an open cart (replacing any other), or take it off (None).

    The voucher is checked now (exists, in its window, not used up, right channel); whether it
    takes anything off shows on the cart (``discounts``) and is checked again at checkout.
    Raises: NotFoundError (cart), ConflictError (cart not open), VoucherNotFoundError,
    VoucherExpiredError, VoucherExhaustedError, VoucherNotApplicableError (channel).
    """
    now = ctx.clock.now()
    with ctx.uow() as u:
        c = u.conn
        params = {"cid": cart_id, "exp": now + ctx.reservation_ttl}
        if who.role == "customer":
            row = c.execute(carts._CLAIM_OWN, {**params, "cust": who.customer_id}).first()
        else:
            row = c.execute(carts._CLAIM, params).first()
        if row is None:
            raise carts._missing_or_closed(c, who, cart_id)
        c.execute(delete(_CV).where(_CV.c.cart_id == cart_id))
        if body.code is not None:
            rule = voucher_rule(
                c,
                code=body.code,
                channel=row.channel,
                customer_id=row.customer_id,
                now=now,
                strict=True,
            )
            assert rule is not None
            c.execute(insert(_CV).values(cart_id=cart_id, promotion_id=rule.id))
        cart = carts._read(ctx, c, row, carts._lines(c, cart_id))
        u.commit()
    return cart
