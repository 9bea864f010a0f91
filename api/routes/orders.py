"""Cart, checkout, order and housekeeping routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from api.routes.deps import EnvDep, IdemKey, IdPath, WhoDep, idem, json_response
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
from api.services.idempotency import run_idempotent_tx

router = APIRouter(prefix="/v1", tags=["orders"])
_COUNT = TypeAdapter(CountResult)


@router.post("/carts", status_code=201, tags=["carts"], response_model=CartRead)
def create_cart(body: CartCreate, env: EnvDep, who: WhoDep, key: IdemKey = None) -> Response:
    return json_response(idem(env, who, key, "create_cart", body, A_CART,
                              lambda: carts.create_cart(env, who, body)), 201)


@router.put("/carts/{cart_id}/lines", tags=["carts"], response_model=CartRead)
def set_cart_line(cart_id: IdPath, body: CartLineSet, env: EnvDep, who: WhoDep) -> Response:
    """Set one line's quantity (0 removes it); idempotent by nature."""
    return json_response(carts.set_cart_line(env, who, cart_id, body))


@router.get("/carts/{cart_id}", tags=["carts"], response_model=CartRead)
def get_cart(cart_id: IdPath, env: EnvDep, who: WhoDep) -> Response:
    return json_response(carts.get_cart(env, who, cart_id))


@router.post("/checkout", status_code=201, response_model=OrderRead)
def checkout_cart(body: CheckoutRequest, env: EnvDep, who: WhoDep, key: IdemKey = None) -> Response:
    return json_response(run_idempotent_tx(env, who, key, "checkout", body, A_ORDER,
                                           lambda claim: checkout.checkout(env, who, body, claim)), 201)


@router.get("/orders")
def list_orders(
    env: EnvDep,
    who: WhoDep,
    status: OrderStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[OrderRead]:
    return orders.list_orders(env, who, status=status, cursor=cursor, limit=limit)


@router.get("/orders/{order_id}", response_model=OrderRead)
def get_order(order_id: IdPath, env: EnvDep, who: WhoDep) -> Response:
    return json_response(orders.get_order(env, who, order_id))


@router.post("/orders/{order_id}/transition")
def transition_order(order_id: IdPath, body: OrderTransition, env: EnvDep, who: WhoDep,
                     key: IdemKey = None) -> OrderRead:
    return idem(env, who, key, f"transition_order:{order_id}", body, A_ORDER,
                lambda: orders.transition_order(env, who, order_id, body.to))


@router.post("/orders/{order_id}/cancel")
def cancel_order(order_id: IdPath, env: EnvDep, who: WhoDep, key: IdemKey = None) -> OrderRead:
    return idem(env, who, key, f"cancel_order:{order_id}", None, A_ORDER,
                lambda: orders.cancel_order(env, who, order_id))


@router.post("/orders/{order_id}/returns")
def return_order(order_id: IdPath, body: ReturnCreate, env: EnvDep, who: WhoDep,
                 key: IdemKey = None) -> OrderRead:
    return idem(env, who, key, f"return_order:{order_id}", body, A_ORDER,
                lambda: orders.return_order(env, who, order_id, body))


@router.post("/admin/expire-reservations", tags=["admin"])
def expire_reservations(env: EnvDep, who: WhoDep, key: IdemKey = None) -> CountResult:
    return idem(env, who, key, "expire_reservations", None, _COUNT,
                lambda: CountResult(count=carts.expire_reservations(env, who)))


@router.post("/admin/expire-unpaid-orders", tags=["admin"])
def expire_unpaid_orders(env: EnvDep, who: WhoDep, key: IdemKey = None) -> CountResult:
    return idem(env, who, key, "expire_unpaid_orders", None, _COUNT,
                lambda: CountResult(count=orders.expire_unpaid_orders(env, who)))
