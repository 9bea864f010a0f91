"""Visual shopping: ``POST /v1/visual-search`` (a photo in the body, ranked SKUs out)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.routes.deps import WhoDep
from api.services import visual
from api.services.visual import VisualCatalog, VisualSearchResult

router = APIRouter(prefix="/v1", tags=["visual"])

_BODY = {
    "requestBody": {
        "required": True,
        "description": "The photo, encoded (JPEG, PNG, BMP or WebP), as the raw request body.",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("image/jpeg", "image/png", "application/octet-stream")
        },
    }
}


def _catalog(request: Request) -> VisualCatalog:
    state = request.app.state
    cat: VisualCatalog | None = getattr(state, "visual_catalog", None)
    if cat is None:
        cat = VisualCatalog()
        state.visual_catalog = cat
    return cat


@router.post("/visual-search", openapi_extra=_BODY)
async def visual_search(
    request: Request,
    who: WhoDep,
    limit: Annotated[int, Query(ge=1, le=visual.MAX_RESULTS)] = 5,
) -> VisualSearchResult:
    """Catalog SKUs that look like the photo, best first (any authenticated key; a read).

    Send a picture of one product (downscaled to about 400 px: the matcher works at that size
    and the body limit applies). Matching is CPU work, so it runs in the thread pool."""
    data = await request.body()
    return await run_in_threadpool(visual.search_photo, _catalog(request), data, limit)
