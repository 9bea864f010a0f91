"""Cart, checkout, order and housekeeping routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from api.routes.deps import CtxDep, IdemKey, IdPath, WhoDep, idem, json_response
from api.schemas import (
    CartCreate,
    CartLineSet,
    CartRead,
    CheckoutRequest,
    CountResult,
    OrderRead,
    OrderStatus,
    OrderTransition,
    Page,
    ReturnCreate,
)
from api.services import carts, checkout, orders
from api.services.adapters import A_CART, A_ORDER

router = APIRouter(prefix="/v1", tags=["orders"])
_COUNT = TypeAdapter(CountResult)


@router.post("/carts", status_code=201, tags=["carts"], response_model=CartRead)
def create_cart(body: CartCreate, ctx: CtxDep, who: WhoDep, key: IdemKey = None) -> Response:
    return json_response(
        idem(ctx, who, key, "create_cart", body, A_CART, lambda: carts.create_cart(ctx, who, body)),
        201,
    )


@router.put("/carts/{cart_id}/lines", tags=["carts"], response_model=CartRead)
def set_cart_line(cart_id: IdPath, body: CartLineSet, ctx: CtxDep, who: WhoDep) -> Response:
    """Set one line's quantity (0 removes it); idempotent by nature."""
    return json_response(carts.set_cart_line(ctx, who, cart_id, body))


@router.get("/carts/{cart_id}", tags=["carts"], response_model=CartRead)
def get_cart(cart_id: IdPath, ctx: CtxDep, who: WhoDep) -> Response:
    return json_response(carts.get_cart(ctx, who, cart_id))


@router.post("/checkout", status_code=201, response_model=OrderRead)
def checkout_cart(body: CheckoutRequest, ctx: CtxDep, who: WhoDep, key: IdemKey = None) -> Response:
    """Check out a cart (``cart_id``) or lines given inline (express checkout, one request).

    Exactly once under ``Idempotency-Key``; a retry after a crash resumes the payment of the
    order placed, or answers 409 ``ORDER_NOT_PAID`` with the order id."""
    order = checkout.checkout_idempotent(ctx, who, body, key)
    return json_response(order, 201, checkout.rendered(order))


@router.get("/orders")
def list_orders(
    ctx: CtxDep,
    who: WhoDep,
    status: OrderStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[OrderRead]:
    return orders.list_orders(ctx, who, status=status, cursor=cursor, limit=limit)


@router.get("/orders/{order_id}", response_model=OrderRead)
def get_order(order_id: IdPath, ctx: CtxDep, who: WhoDep) -> Response:
    return json_response(orders.get_order(ctx, who, order_id))


@router.post("/orders/{order_id}/transition")
def transition_order(
    order_id: IdPath, body: OrderTransition, ctx: CtxDep, who: WhoDep, key: IdemKey = None
) -> OrderRead:
    return idem(
        ctx,
        who,
        key,
        f"transition_order:{order_id}",
        body,
        A_ORDER,
        lambda: orders.transition_order(ctx, who, order_id, body.to),
    )


@router.post("/orders/{order_id}/cancel")
def cancel_order(order_id: IdPath, ctx: CtxDep, who: WhoDep, key: IdemKey = None) -> OrderRead:
    return idem(
        ctx,
        who,
        key,
        f"cancel_order:{order_id}",
        None,
        A_ORDER,
        lambda: orders.cancel_order(ctx, who, order_id),
    )


@router.post("/orders/{order_id}/returns")
def return_order(
    order_id: IdPath, body: ReturnCreate, ctx: CtxDep, who: WhoDep, key: IdemKey = None
) -> OrderRead:
    return idem(
        ctx,
        who,
        key,
        f"return_order:{order_id}",
        body,
        A_ORDER,
        lambda: orders.return_order(ctx, who, order_id, body),
    )


@router.post("/admin/expire-reservations", tags=["admin"])
def expire_reservations(ctx: CtxDep, who: WhoDep, key: IdemKey = None) -> CountResult:
    return idem(
        ctx,
        who,
        key,
        "expire_reservations",
        None,
        _COUNT,
        lambda: CountResult(count=carts.expire_reservations(ctx, who)),
    )


@router.post("/admin/expire-unpaid-orders", tags=["admin"])
def expire_unpaid_orders(ctx: CtxDep, who: WhoDep, key: IdemKey = None) -> CountResult:
    return idem(
        ctx,
        who,
        key,
        "expire_unpaid_orders",
        None,
        _COUNT,
        lambda: CountResult(count=orders.expire_unpaid_orders(ctx, who)),
    )
