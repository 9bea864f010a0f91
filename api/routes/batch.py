"""Batch routes: many carts, cart lines, checkouts or order transitions per request.

Each answers ``200`` with one result per item (see :mod:`api.schemas_batch`); an item's
failure is its typed error inside the answer, not the answer's status.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.routes.deps import CtxDep, WhoDep, json_response
from api.schemas import CartRead, OrderRead
from api.schemas_batch import BatchResult, CartBatch, CartLineBatch, CheckoutBatch, TransitionBatch
from api.services import batch

router = APIRouter(prefix="/v1/batch", tags=["batch"])


@router.post("/carts", response_model=BatchResult[CartRead])
def batch_create_carts(body: CartBatch, ctx: CtxDep, who: WhoDep) -> Response:
    """Open carts, each with its lines (all or nothing per cart); ``idempotency_key`` per item."""
    return json_response(batch.create_carts(ctx, who, body.items))


@router.post("/cart-lines", response_model=BatchResult[CartRead])
def batch_set_cart_lines(body: CartLineBatch, ctx: CtxDep, who: WhoDep) -> Response:
    """Set cart lines in order; ``INSUFFICIENT_STOCK`` per item."""
    return json_response(batch.set_cart_lines(ctx, who, body.items))


@router.post("/checkouts", response_model=BatchResult[OrderRead])
def batch_checkout(body: CheckoutBatch, ctx: CtxDep, who: WhoDep) -> Response:
    """Check out carts, each exactly once; ``idempotency_key`` per item."""
    return json_response(batch.checkout(ctx, who, body.items))


@router.post("/order-transitions", response_model=BatchResult[OrderRead])
def batch_transition_orders(body: TransitionBatch, ctx: CtxDep, who: WhoDep) -> Response:
    """Allocate, ship, deliver or cancel orders (staff), in item order."""
    return json_response(batch.transition_orders(ctx, who, body.items))
