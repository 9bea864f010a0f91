"""Catalog and location routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
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
from api.search import content as content_service
from api.search import service as search_service
from api.search import vectors
from api.search.schemas import (
    ContentRead,
    ContentVersion,
    ContentWrite,
    EmbeddingRefresh,
    SearchFacets,
    SynonymGroups,
    SynonymsSet,
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


@router.get("/search/facets", tags=["search"])
def search_facets(query: Annotated[SearchQuery, Query()], ctx: CtxDep, who: WhoDep) -> SearchFacets:
    """Facet counts (category, brand, attributes, price bands, in stock) and how the query was
    read (typo corrections, synonyms) for the same parameters as ``GET /search``."""
    return search_service.facets(ctx, who, query)


@router.get("/search/synonyms", tags=["search"])
def list_synonyms(ctx: CtxDep, who: WhoDep) -> dict[str, list[str]]:
    return search_service.list_synonyms(ctx, who)


@router.post("/search/synonyms", tags=["search"])
def add_synonyms(body: SynonymGroups, ctx: CtxDep, who: WhoDep) -> SynonymsSet:
    """Add synonym groups (staff); every term of a group matches every other one."""
    return SynonymsSet(pairs=search_service.set_synonyms(ctx, who, body.groups))


@router.post("/search/embeddings/refresh", tags=["search"])
def refresh_embeddings(ctx: CtxDep, who: WhoDep) -> EmbeddingRefresh:
    """(Re-)embed SKUs whose text changed (staff); hybrid and semantic search use them."""
    return vectors.refresh(ctx, who)


@router.get("/products/{product}/content", tags=["content"])
def get_content(
    product: Annotated[CodeStr, Path()],
    response: Response,
    ctx: CtxDep,
    who: WhoDep,
    version: Annotated[int | None, Query(ge=1, le=10**9)] = None,
) -> ContentRead:
    """The product's latest content, or ``version``; the ``ETag`` header is its version."""
    got = content_service.get_content(ctx, who, product, version)
    response.headers["ETag"] = content_service.etag(got.version)
    return got


@router.get("/products/{product}/content/versions", tags=["content"])
def list_content_versions(
    product: Annotated[CodeStr, Path()], ctx: CtxDep, who: WhoDep
) -> list[ContentVersion]:
    return content_service.list_versions(ctx, who, product)


@router.put("/products/{product}/content", tags=["content"])
def put_content(
    product: Annotated[CodeStr, Path()],
    body: ContentWrite,
    response: Response,
    ctx: CtxDep,
    who: WhoDep,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> ContentRead:
    """Store a new content version (staff). ``If-Match`` must carry the version read (the
    ``ETag``): 428 when missing on existing content, 412 when it is no longer current."""
    got = content_service.put_content(
        ctx, who, product, body, content_service.parse_if_match(if_match)
    )
    response.headers["ETag"] = content_service.etag(got.version)
    return got


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
