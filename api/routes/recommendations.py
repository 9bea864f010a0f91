"""Recommendation routes: serve top-k, record views, train (staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.routes.deps import CtxDep, WhoDep
from api.schemas import CountResult
from api.schemas_promo import Recommendations, TrainResult, ViewBatch
from api.services import recommend

router = APIRouter(prefix="/v1", tags=["recommendations"])


@router.get("/recommendations")
def recommendations(
    ctx: CtxDep,
    who: WhoDep,
    customer: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    sku: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    k: Annotated[int, Query(ge=1, le=recommend.MAX_K)] = 10,
) -> Recommendations:
    """Top-``k`` SKUs for a customer and/or a SKU being looked at (best first)."""
    return recommend.recommendations(ctx, who, customer=customer, sku=sku, k=k)


@router.post("/recommendations/views")
def record_views(body: ViewBatch, ctx: CtxDep, who: WhoDep) -> CountResult:
    """Record product views (input of "also viewed")."""
    return recommend.record_views(ctx, who, body)


@router.post("/recommendations/train")
def train(ctx: CtxDep, who: WhoDep) -> TrainResult:
    """Train the recommender on every paid order and view (staff)."""
    return recommend.train_recommendations(ctx, who)
