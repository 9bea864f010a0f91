"""Shelf-camera routes: observations in, restock tasks out (staff and service keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import TypeAdapter

from api.routes.deps import CtxDep, IdemKey, WhoDep, idem
from api.schemas import Page
from api.services import shelf
from api.services.shelf import (
    ObservationResult,
    RestockTaskRead,
    ShelfObservationBatch,
    TaskComplete,
)

router = APIRouter(prefix="/v1/shelf", tags=["shelf"])
_OBS = TypeAdapter(ObservationResult)
_TASK = TypeAdapter(RestockTaskRead)


@router.post("/observations", status_code=201)
def observe(
    body: ShelfObservationBatch, ctx: CtxDep, who: WhoDep, key: IdemKey = None
) -> ObservationResult:
    """Record what a camera saw; opens restock tasks and flags suspected phantom inventory."""
    return idem(
        ctx, who, key, "shelf_obs", body, _OBS, lambda: shelf.record_observations(ctx, who, body)
    )


@router.get("/tasks")
def tasks(
    ctx: CtxDep,
    who: WhoDep,
    location: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(open|done)$")] = "open",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Page[RestockTaskRead]:
    """Restock tasks, oldest first."""
    return shelf.list_tasks(ctx, who, location=location, status=status, limit=limit)


@router.post("/tasks/{task_id}/complete")
def complete(
    task_id: Annotated[int, Path(ge=1, le=2**62)],
    body: TaskComplete,
    ctx: CtxDep,
    who: WhoDep,
    key: IdemKey = None,
) -> RestockTaskRead:
    """Close a task; a count below the ledger corrects it (phantom inventory)."""
    return idem(
        ctx,
        who,
        key,
        f"shelf_task_{task_id}",
        body,
        _TASK,
        lambda: shelf.complete_task(ctx, who, task_id, body),
    )
