"""Promotion routes (staff) and the cart voucher route."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.routes.deps import CtxDep, IdPath, WhoDep, json_response
from api.schemas import CartRead
from api.schemas_promo import PromotionCreate, PromotionRead, VoucherSet
from api.services import promotions, promotions_cart

router = APIRouter(prefix="/v1", tags=["promotions"])


@router.post("/promotions", status_code=201, response_model=PromotionRead)
def create_promotion(body: PromotionCreate, ctx: CtxDep, who: WhoDep) -> Response:
    """Create a voucher (``code``) or an automatic promotion (staff)."""
    return json_response(promotions.create_promotion(ctx, who, body), 201)


@router.get("/promotions")
def list_promotions(ctx: CtxDep, who: WhoDep) -> list[PromotionRead]:
    return promotions.list_promotions(ctx, who)


@router.get("/promotions/{promotion_id}", response_model=PromotionRead)
def get_promotion(promotion_id: IdPath, ctx: CtxDep, who: WhoDep) -> Response:
    return json_response(promotions.get_promotion(ctx, who, promotion_id))


@router.post("/promotions/{promotion_id}/end", response_model=PromotionRead)
def end_promotion(promotion_id: IdPath, ctx: CtxDep, who: WhoDep) -> Response:
    """Withdraw a promotion now (staff)."""
    return json_response(promotions.end_promotion(ctx, who, promotion_id))


@router.put("/carts/{cart_id}/voucher", tags=["carts"], response_model=CartRead)
def set_cart_voucher(cart_id: IdPath, body: VoucherSet, ctx: CtxDep, who: WhoDep) -> Response:
    """Enter a voucher on a cart (or take it off with ``{"code": null}``)."""
    return json_response(promotions_cart.set_cart_voucher(ctx, who, cart_id, body))
