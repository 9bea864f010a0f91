"""Schemas of the fulfilment routes: the delivery promise (also on a cart), allocation into
shipments and their states, and returns (RMA)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from api.schemas import LocationKind, StockLine, Strict


class PromiseRequest(Strict):
    """An order-to-be: its lines, where it goes (degrees WGS84) and when it is placed
    (default: now)."""

    lines: list[StockLine] = Field(min_length=1, max_length=500)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    at: datetime | None = None


class PromiseOptionRead(Strict):
    carrier: str
    mode: str
    origin: str
    deliver_from: datetime
    deliver_to: datetime
    cost_cents: int
    co2_g: float
    distance_km: float


class PromiseRead(Strict):
    """Options sorted by earliest delivery then cost; empty when no location holds every line."""

    placed_at: datetime
    options: list[PromiseOptionRead]


# ---- allocation and shipments --------------------------------------------------------------
class ShipmentStatus(StrEnum):
    ALLOCATED = "allocated"
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    FAILED = "failed"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class ShipmentKind(StrEnum):
    DIRECT = "direct"  # origin -> customer
    LEG = "leg"  # origin -> consolidation point (merged in transit)
    MERGED = "merged"  # consolidation point -> customer, once every leg has arrived


class WeightsIn(Strict):
    """Allocation cost weights (any left out take the configured value)."""

    distance: float | None = Field(default=None, ge=0)
    carrier: float | None = Field(default=None, ge=0)
    co2: float | None = Field(default=None, ge=0)
    capacity: float | None = Field(default=None, ge=0)
    stock: float | None = Field(default=None, ge=0)
    split: float | None = Field(default=None, ge=0)


class AllocationRequest(Strict):
    """Allocate a paid order to fulfilment nodes: where it goes (degrees WGS84), whether it may
    be split (at most ``max_shipments``), and an optional consolidation point (a location code)
    where split shipments are merged into one parcel for the customer."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    allow_split: bool = True
    max_shipments: int = Field(default=4, ge=1, le=20)
    consolidate_at: str | None = Field(default=None, min_length=1, max_length=64)
    kinds: list[LocationKind] | None = Field(default=None, min_length=1, max_length=4)
    weights: WeightsIn | None = None


class ShipmentLineRead(Strict):
    sku: str
    quantity: int


class ShipmentRead(Strict):
    """A parcel of an order: from ``origin`` by ``carrier``, promised in [deliver_from,
    deliver_to]; ``merge_into``: the merged shipment a leg joins at the consolidation point."""

    id: int
    order_id: int
    kind: ShipmentKind
    origin: str
    merge_into: int | None
    carrier: str
    mode: str
    status: ShipmentStatus
    attempts: int
    lines: list[ShipmentLineRead]
    distance_km: float
    cost_cents: int
    co2_g: float
    deliver_from: datetime
    deliver_to: datetime
    created_at: datetime
    updated_at: datetime


class ShipmentTransition(Strict):
    to: ShipmentStatus


# ---- promise on a cart ---------------------------------------------------------------------
class CartPromiseQuery(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    at: datetime | None = None


# ---- returns (RMA) -------------------------------------------------------------------------
class RmaStatus(StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"
    INSPECTED = "inspected"
    RESTOCKED = "restocked"
    WRITTEN_OFF = "written_off"
    REFUNDED = "refunded"


class RmaCreate(Strict):
    """Units of a delivered order to return, and why."""

    lines: list[StockLine] = Field(min_length=1, max_length=1000)
    reason: str = Field(default="", max_length=200)


class RmaTransition(Strict):
    """``received`` needs ``location`` (where the goods arrive); ``inspected`` takes
    ``restock`` (units fit to sell again; default: all); ``restocked`` books those back and
    writes off the rest, ``written_off`` writes off every unit; ``refunded`` pays back."""

    to: RmaStatus
    location: str | None = Field(default=None, min_length=1, max_length=64)
    restock: list[StockLine] | None = Field(default=None, max_length=1000)


class RmaLineRead(Strict):
    sku: str
    quantity: int
    unit_price_cents: int
    restock_qty: int


class RmaRead(Strict):
    id: int
    order_id: int
    status: RmaStatus
    reason: str
    location: str | None
    lines: list[RmaLineRead]
    refund_cents: int
    created_at: datetime
    updated_at: datetime
