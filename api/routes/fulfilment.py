"""Fulfilment routes: ``POST /v1/promise``."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes.deps import CtxDep, WhoDep
from api.schemas_fulfilment import PromiseRead, PromiseRequest
from api.services import fulfilment

router = APIRouter(prefix="/v1", tags=["fulfilment"])


@router.post("/promise")
def promise(body: PromiseRequest, ctx: CtxDep, who: WhoDep) -> PromiseRead:
    """Earliest delivery per carrier and mode from the stores and warehouses holding the
    lines (a read; POST to carry the lines)."""
    return fulfilment.promise(ctx, who, body)
