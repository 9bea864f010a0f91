"""Routes of per-customer purchase limits (see :mod:`api.services.purchase_limits`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.routes.deps import CtxDep, WhoDep
from api.services.purchase_limits import (
    PurchaseLimitRead,
    PurchaseLimitSet,
    get_limit,
    remove_limit,
    set_limit,
)

router = APIRouter(prefix="/v1/purchase-limits", tags=["purchase limits"])
SkuPath = Annotated[str, Path(min_length=1, max_length=64)]


@router.put("/{sku}", response_model=PurchaseLimitRead)
def put_limit(sku: SkuPath, body: PurchaseLimitSet, ctx: CtxDep, who: WhoDep) -> PurchaseLimitRead:
    """Set the most units of ``sku`` one customer may hold in live orders (staff)."""
    return set_limit(ctx, who, sku, body)


@router.get("/{sku}", response_model=PurchaseLimitRead)
def read_limit(sku: SkuPath, ctx: CtxDep, who: WhoDep) -> PurchaseLimitRead:
    return get_limit(ctx, who, sku)


@router.delete("/{sku}", status_code=204)
def delete_limit(sku: SkuPath, ctx: CtxDep, who: WhoDep) -> Response:
    remove_limit(ctx, who, sku)
    return Response(status_code=204)
