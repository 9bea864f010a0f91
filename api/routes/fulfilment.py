"""Fulfilment routes: the promise (lines or a cart), allocation into shipments and their
states, and returns (RMA)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import TypeAdapter

from api.routes.deps import CtxDep, IdemKey, IdPath, WhoDep, idem
from api.schemas_fulfilment import (
    AllocationRequest,
    CartPromiseQuery,
    PromiseRead,
    PromiseRequest,
    RmaCreate,
    RmaRead,
    RmaTransition,
    ShipmentRead,
    ShipmentTransition,
)
from api.services import allocation, fulfilment, returns, shipments

router = APIRouter(prefix="/v1", tags=["fulfilment"])
_SHIPMENTS = TypeAdapter(list[ShipmentRead])
_SHIPMENT = TypeAdapter(ShipmentRead)
_RMA = TypeAdapter(RmaRead)


@router.post("/promise")
def promise(body: PromiseRequest, ctx: CtxDep, who: WhoDep) -> PromiseRead:
    """Earliest delivery per carrier and mode from the nodes holding the lines (a read; POST
    to carry the lines)."""
    return fulfilment.promise(ctx, who, body)


@router.get("/carts/{cart_id}/promise", tags=["carts"])
def cart_promise(
    cart_id: IdPath,
    ctx: CtxDep,
    who: WhoDep,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    at: datetime | None = None,
) -> PromiseRead:
    """Earliest delivery per carrier and mode for the cart's lines (its customer or staff)."""
    return fulfilment.cart_promise(ctx, who, cart_id, CartPromiseQuery(lat=lat, lon=lon, at=at))


@router.post("/orders/{order_id}/shipments", status_code=201)
def allocate_order(
    order_id: IdPath, body: AllocationRequest, ctx: CtxDep, who: WhoDep, key: IdemKey = None
) -> list[ShipmentRead]:
    """Allocate a paid order to fulfilment nodes as shipments (staff); answers the existing
    shipments when it is allocated already."""
    return idem(
        ctx,
        who,
        key,
        f"allocate_order:{order_id}",
        body,
        _SHIPMENTS,
        lambda: allocation.allocate_order(ctx, who, order_id, body),
    )


@router.get("/orders/{order_id}/shipments")
def list_shipments(order_id: IdPath, ctx: CtxDep, who: WhoDep) -> list[ShipmentRead]:
    return shipments.list_shipments(ctx, who, order_id)


@router.post("/shipments/{shipment_id}/transitions")
def transition_shipment(
    shipment_id: IdPath, body: ShipmentTransition, ctx: CtxDep, who: WhoDep, key: IdemKey = None
) -> ShipmentRead:
    """Move a shipment (staff): picked, packed, shipped, delivered, failed, returned."""
    return idem(
        ctx,
        who,
        key,
        f"transition_shipment:{shipment_id}",
        body,
        _SHIPMENT,
        lambda: shipments.transition_shipment(ctx, who, shipment_id, body),
    )


@router.post("/orders/{order_id}/rmas", status_code=201)
def create_rma(
    order_id: IdPath, body: RmaCreate, ctx: CtxDep, who: WhoDep, key: IdemKey = None
) -> RmaRead:
    """Open a return (RMA) for delivered units (the order's customer or staff)."""
    return idem(
        ctx,
        who,
        key,
        f"create_rma:{order_id}",
        body,
        _RMA,
        lambda: returns.create_rma(ctx, who, order_id, body),
    )


@router.get("/orders/{order_id}/rmas")
def list_rmas(order_id: IdPath, ctx: CtxDep, who: WhoDep) -> list[RmaRead]:
    return returns.list_rmas(ctx, who, order_id)


@router.get("/rmas/{rma_id}")
def get_rma(rma_id: IdPath, ctx: CtxDep, who: WhoDep) -> RmaRead:
    return returns.get_rma(ctx, who, rma_id)


@router.post("/rmas/{rma_id}/transitions")
def transition_rma(
    rma_id: IdPath, body: RmaTransition, ctx: CtxDep, who: WhoDep, key: IdemKey = None
) -> RmaRead:
    """Receive, inspect, restock or write off, refund a return (staff)."""
    return idem(
        ctx,
        who,
        key,
        f"transition_rma:{rma_id}",
        body,
        _RMA,
        lambda: returns.transition_rma(ctx, who, rma_id, body),
    )
