"""Stock ledger and price routes (staff and service keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import TypeAdapter

from api.routes.deps import EnvDep, IdemKey, WhoDep, idem
from api.schemas import (
    AdjustmentCreate,
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
def stock_levels(body: StockQuery, env: EnvDep, who: WhoDep) -> list[StockLevel]:
    """Counters for SKUs and locations (a read; POST only to carry long SKU lists)."""
    return stock.stock_levels(env, who, body)


@router.post("/stock/receipts", status_code=201)
def receive(body: ReceiptCreate, env: EnvDep, who: WhoDep, key: IdemKey = None) -> list[MovementRead]:
    return idem(env, who, key, "receive", body, A_MOVES, lambda: stock.receive(env, who, body))


@router.post("/stock/transfers", status_code=201)
def transfer(body: TransferCreate, env: EnvDep, who: WhoDep, key: IdemKey = None) -> list[MovementRead]:
    return idem(env, who, key, "transfer", body, A_MOVES, lambda: stock.transfer(env, who, body))


@router.post("/stock/adjustments", status_code=201)
def adjust(body: AdjustmentCreate, env: EnvDep, who: WhoDep, key: IdemKey = None) -> MovementRead:
    return idem(env, who, key, "adjust", body, A_MOVE, lambda: stock.adjust(env, who, body))


@router.post("/stock/pos-sales")
def pos_sales(body: PosSaleBatch, env: EnvDep, who: WhoDep, key: IdemKey = None) -> PosSaleResult:
    return idem(env, who, key, "pos_sales", body, A_POS, lambda: stock.pos_sales(env, who, body))


@router.get("/stock/movements")
def movements(
    env: EnvDep,
    who: WhoDep,
    sku: str | None = None,
    location: str | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Page[MovementRead]:
    return stock.movements(env, who, sku=sku, location=location, cursor=cursor, limit=limit)


@router.post("/prices", tags=["prices"])
def set_prices(body: list[PriceSet], env: EnvDep, who: WhoDep, key: IdemKey = None) -> PriceBulkResult:
    """Bulk price update: one row per SKU and channel with an optional validity window."""
    return idem(env, who, key, "set_prices", body, _PB, lambda: prices.set_prices(env, who, body))


@router.get("/prices", tags=["prices"])
def get_prices(
    env: EnvDep,
    who: WhoDep,
    sku: Annotated[list[str], Query(min_length=1)],
    channel: str,
) -> list[PriceRead]:
    return prices.get_prices(env, who, sku, channel)
