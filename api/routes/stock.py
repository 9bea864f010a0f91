"""Stock ledger and price routes (staff and service keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import TypeAdapter

from api.routes.deps import CtxDep, IdemKey, WhoDep, idem
from api.schemas import (
    MAX_LIST,
    AdjustmentCreate,
    CodeStr,
    MovementRead,
    Page,
    PosSaleBatch,
    PosSaleResult,
    PriceBulkResult,
    PriceRead,
    PriceSet,
    ReceiptCreate,
    StockLevel,
    StockQuery,
    TransferCreate,
)
from api.services import prices, stock
from api.services.adapters import A_MOVE, A_MOVES, A_POS

router = APIRouter(prefix="/v1", tags=["stock"])
_PB = TypeAdapter(PriceBulkResult)


@router.post("/stock/levels")
def stock_levels(body: StockQuery, ctx: CtxDep, who: WhoDep) -> list[StockLevel]:
    """Counters for SKUs and locations (a read; POST only to carry long SKU lists)."""
    return stock.stock_levels(ctx, who, body)


@router.post("/stock/receipts", status_code=201)
def receive(
    body: ReceiptCreate, ctx: CtxDep, who: WhoDep, key: IdemKey = None
) -> list[MovementRead]:
    return idem(ctx, who, key, "receive", body, A_MOVES, lambda: stock.receive(ctx, who, body))


@router.post("/stock/transfers", status_code=201)
def transfer(
    body: TransferCreate, ctx: CtxDep, who: WhoDep, key: IdemKey = None
) -> list[MovementRead]:
    return idem(ctx, who, key, "transfer", body, A_MOVES, lambda: stock.transfer(ctx, who, body))


@router.post("/stock/adjustments", status_code=201)
def adjust(body: AdjustmentCreate, ctx: CtxDep, who: WhoDep, key: IdemKey = None) -> MovementRead:
    return idem(ctx, who, key, "adjust", body, A_MOVE, lambda: stock.adjust(ctx, who, body))


@router.post("/stock/pos-sales")
def pos_sales(body: PosSaleBatch, ctx: CtxDep, who: WhoDep, key: IdemKey = None) -> PosSaleResult:
    return idem(ctx, who, key, "pos_sales", body, A_POS, lambda: stock.pos_sales(ctx, who, body))


@router.get("/stock/movements")
def movements(
    ctx: CtxDep,
    who: WhoDep,
    sku: CodeStr | None = None,
    location: CodeStr | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Page[MovementRead]:
    return stock.movements(ctx, who, sku=sku, location=location, cursor=cursor, limit=limit)


@router.post("/prices", tags=["prices"])
def set_prices(
    body: Annotated[list[PriceSet], Body(max_length=MAX_LIST)],
    ctx: CtxDep,
    who: WhoDep,
    key: IdemKey = None,
) -> PriceBulkResult:
    """Bulk price update: one row per SKU and channel with an optional validity window."""
    return idem(ctx, who, key, "set_prices", body, _PB, lambda: prices.set_prices(ctx, who, body))


@router.get("/prices", tags=["prices"])
def get_prices(
    ctx: CtxDep,
    who: WhoDep,
    sku: Annotated[list[CodeStr], Query(min_length=1, max_length=1000)],
    channel: Annotated[str, Query(max_length=16)],
) -> list[PriceRead]:
    return prices.get_prices(ctx, who, sku, channel)
