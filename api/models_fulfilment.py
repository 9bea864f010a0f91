"""ORM models of fulfilment: shipments (an order's parcels, split and merged) and returns (RMA).

Imported once from the bottom of :mod:`api.models`; migration ``0007`` creates the tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.models import Base, Id, UTCDateTime

SHIPMENT_STATES = (
    "allocated",
    "picked",
    "packed",
    "shipped",
    "delivered",
    "failed",
    "returned",
    "cancelled",
)
RMA_STATES = ("requested", "received", "inspected", "restocked", "written_off", "refunded")


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Shipment(Base):
    """One parcel of an order from one origin by one carrier. ``merge_into``: the consolidated
    shipment it joins at ``origin`` of that one (merge in transit); ``kind``: ``direct``,
    ``leg`` (to a consolidation point) or ``merged`` (from it to the customer)."""

    __tablename__ = "shipments"
    __table_args__ = (
        CheckConstraint(_in("status", SHIPMENT_STATES), name="ck_shipments_status"),
        CheckConstraint("kind IN ('direct', 'leg', 'merged')", name="ck_shipments_kind"),
        CheckConstraint("attempts >= 0", name="ck_shipments_attempts"),
        Index("ix_shipments_order", "order_id", "id"),
        Index("ix_shipments_carrier_day", "carrier", "promised_day"),
        Index("ix_shipments_origin_day", "origin_id", "promised_day"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    origin_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    merge_into: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))
    carrier: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(BigInteger, default=0)
    dest_lat: Mapped[float] = mapped_column(Float)
    dest_lon: Mapped[float] = mapped_column(Float)
    distance_km: Mapped[float] = mapped_column(Float)
    cost_cents: Mapped[int] = mapped_column(BigInteger)
    co2_g: Mapped[float] = mapped_column(Float)
    promised_day: Mapped[str] = mapped_column(String(10))  # ISO date of deliver_from (capacity)
    deliver_from: Mapped[datetime] = mapped_column(UTCDateTime)
    deliver_to: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_shipment_lines_qty"),)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)


class Rma(Base):
    """A return authorisation: requested -> received -> inspected -> restocked | written_off
    -> refunded. ``location_id``: where the goods are received (set on receipt)."""

    __tablename__ = "rmas"
    __table_args__ = (
        CheckConstraint(_in("status", RMA_STATES), name="ck_rmas_status"),
        CheckConstraint("refund_cents >= 0", name="ck_rmas_refund"),
        Index("ix_rmas_order", "order_id", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    customer_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    refund_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RmaLine(Base):
    __tablename__ = "rma_lines"
    __table_args__ = (
        CheckConstraint(
            "quantity > 0 AND restock_qty >= 0 AND restock_qty <= quantity",
            name="ck_rma_lines_qty",
        ),
    )
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    restock_qty: Mapped[int] = mapped_column(BigInteger, default=0)  # set by the inspection
