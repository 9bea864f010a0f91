"""SQLAlchemy 2 models of the commerce database.

The database enforces the invariants (see DESIGN principle 6): stock counters can never make
available stock negative, payment amounts obey captured <= authorized and refunded <= captured,
idempotency keys are unique per principal, and an order is created at most once per cart.
Search columns (PostgreSQL ``tsvector``, SQLite FTS5 table) are added by the migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} stored; use timezone-aware UTC")
        if dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


class Base(DeclarativeBase):
    pass


Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite rowid alias needs INTEGER


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))


class Sku(Base):
    __tablename__ = "skus"
    __table_args__ = (
        CheckConstraint("cost_cents >= 0 AND list_price_cents >= 0", name="ck_skus_money"),
        Index("ix_skus_category_price", "category_id", "list_price_cents"),
        Index("ix_skus_price", "list_price_cents", "id"),
        Index("ix_skus_name", "name", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[str] = mapped_column(Text, default="{}")  # JSON object of strings
    cost_cents: Mapped[int] = mapped_column(BigInteger)
    list_price_cents: Mapped[int] = mapped_column(BigInteger)


class Location(Base):
    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)


class Stock(Base):
    """Counters per (SKU, location). available = on_hand - reserved, never negative."""

    __tablename__ = "stock"
    __table_args__ = (
        CheckConstraint("reserved >= 0 AND on_hand >= reserved", name="ck_stock_available"),
        Index("ix_stock_location", "location_id", "sku_id"),
    )
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)


class Movement(Base):
    """Append-only ledger; per (sku, location) the sum of ``quantity`` equals ``on_hand``."""

    __tablename__ = "movements"
    __table_args__ = (
        Index("ix_movements_sku_loc", "sku_id", "location_id", "id"),
        Index("ix_movements_loc", "location_id", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Price(Base):
    __tablename__ = "prices"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="ck_prices_nonneg"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="ck_prices_window"),
        Index("ix_prices_lookup", "sku_id", "channel", "valid_from"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    channel: Mapped[str] = mapped_column(String(16))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Cart(Base):
    __tablename__ = "carts"
    __table_args__ = (Index("ix_carts_expiry", "status", "expires_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        CheckConstraint("reserved_qty >= 0 AND reserved_qty <= quantity", name="ck_cart_lines_res"),
    )
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    reserved_qty: Mapped[int] = mapped_column(BigInteger, default=0)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_customer", "customer_id", "id"),
        Index("ix_orders_status_created", "status", "created_at"),
        Index(
            "ix_orders_placed_created",
            "created_at",
            postgresql_where=text("status = 'placed'"),
            sqlite_where=text("status = 'placed'"),
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id"), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[str] = mapped_column(String(16))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint(
            "returned_qty >= 0 AND returned_qty <= quantity", name="ck_order_lines_ret"
        ),
    )
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    returned_qty: Mapped[int] = mapped_column(BigInteger, default=0)


class Payment(Base):
    """Money guards live here: captured <= authorized, refunded <= captured."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(
            "authorized_cents >= 0 AND captured_cents >= 0 AND refunded_cents >= 0",
            name="ck_payments_nonneg",
        ),
        CheckConstraint("captured_cents <= authorized_cents", name="ck_payments_capture"),
        CheckConstraint("refunded_cents <= captured_cents", name="ck_payments_refund"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    authorized_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    captured_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16))
    gateway_ref: Mapped[str | None] = mapped_column(String(100))


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key", name="uq_idempotency_principal_key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    principal: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # an in-progress key belongs to its request until then; afterwards a retry may take it over
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resource_id: Mapped[int | None] = mapped_column(Id)  # e.g. the order a checkout placed


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN ('customer', 'staff', 'service')", name="ck_api_keys_role"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WaitingRoomTicket(Base):
    """A place in a hot SKU's waiting room (api.waiting_room): one per customer and SKU."""

    __tablename__ = "waiting_room_tickets"
    __table_args__ = (
        UniqueConstraint("sku", "customer_id", name="uq_waiting_room_sku_customer"),
        Index("ix_waiting_room_sku_id", "sku", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


import api.models_fulfilment  # noqa: E402  (fulfilment tables: shipments, RMAs)
from api import models_outbox as _models_outbox  # noqa: E402,F401  (outbox, purchase limits)

T = Base.metadata.tables  # short alias for Core statements in the services

import api.models_promo  # noqa: E402  (promotions and recommendation tables)
import api.search.models  # noqa: E402,F401  (search + content tables, migration 0009)
