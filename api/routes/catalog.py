"""Catalog and location routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from api.csv_import import parse_sku_csv
from api.routes.deps import CtxDep, IdemKey, WhoDep, idem
from api.schemas import (
    CategoryCreate,
    CategoryRead,
    CodeStr,
    ImportResult,
    LocationCreate,
    LocationRead,
    Page,
    SearchQuery,
    SkuImportRow,
    SkuRead,
)
from api.services import catalog, locations

router = APIRouter(prefix="/v1", tags=["catalog"])
_ROWS: TypeAdapter[list[SkuImportRow]] = TypeAdapter(list[SkuImportRow])
_CAT = TypeAdapter(CategoryRead)
_IMP = TypeAdapter(ImportResult)
_LOC = TypeAdapter(LocationRead)


@router.post("/categories", status_code=201)
def create_category(
    body: CategoryCreate, ctx: CtxDep, who: WhoDep, key: IdemKey = None
) -> CategoryRead:
    return idem(
        ctx,
        who,
        key,
        "create_category",
        body,
        _CAT,
        lambda: catalog.create_category(ctx, who, body),
    )


@router.post(
    "/skus/import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/SkuImportRow"},
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_skus(
    request: Request, ctx: CtxDep, who: WhoDep, key: IdemKey = None
) -> ImportResult:
    """Create or update SKUs from a JSON array of SkuImportRow or from CSV (``text/csv``).

    Staff and service keys only (checked before the body is read); the body is parsed and
    validated off the event loop."""
    raw = await request.body()
    csv = request.headers.get("content-type", "").startswith("text/csv")
    rows = await run_in_threadpool(_parse_rows, raw, csv)
    return await run_in_threadpool(
        idem, ctx, who, key, "import_skus", rows, _IMP, lambda: catalog.import_skus(ctx, who, rows)
    )


def _parse_rows(raw: bytes, csv: bool) -> list[SkuImportRow]:
    if csv:
        return parse_sku_csv(raw.decode("utf-8", errors="replace"))
    try:
        return _ROWS.validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from exc


@router.get("/skus/{sku}")
def get_sku(sku: Annotated[CodeStr, Path()], ctx: CtxDep, who: WhoDep) -> SkuRead:
    return catalog.get_sku(ctx, who, sku)


@router.get("/search")
def search(query: Annotated[SearchQuery, Query()], ctx: CtxDep, who: WhoDep) -> Page[SkuRead]:
    return catalog.search(ctx, who, query)


@router.post("/locations", status_code=201, tags=["locations"])
def create_location(
    body: LocationCreate, ctx: CtxDep, who: WhoDep, key: IdemKey = None
) -> LocationRead:
    return idem(
        ctx,
        who,
        key,
        "create_location",
        body,
        _LOC,
        lambda: locations.create_location(ctx, who, body),
    )


@router.get("/locations", tags=["locations"])
def list_locations(ctx: CtxDep, who: WhoDep) -> list[LocationRead]:
    return locations.list_locations(ctx, who)
