"""Tables of the transactional outbox, webhook deliveries and per-customer purchase limits.

* ``outbox_events``: one row per order event (``order.placed``, ``order.paid``,
  ``order.cancelled``, ``order.refunded``), inserted in the transaction that made the change, so
  an event exists if and only if its change committed. ``fanned_out`` is set once the
  dispatcher has created a delivery per configured endpoint.
* ``webhook_deliveries``: one row per (event, endpoint): ``pending`` (due at
  ``next_attempt_at``, leased by a dispatcher until ``lease_until``), ``delivered`` or ``dead``.
* ``purchase_limits`` / ``customer_sku_purchases``: the most units of a SKU one customer may
  buy, and the units each customer has bought; the counter is raised by a conditional upsert in
  the checkout transaction (see :mod:`api.purchase_limits`).

Imported once from the bottom of :mod:`api.models` so that ``Base.metadata`` holds them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.models import Base, Id, UTCDateTime


class OutboxEvent(Base):
    """An order event written in the order's own transaction (the transactional outbox)."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index(
            "ix_outbox_events_unfanned",
            "id",
            postgresql_where=text("fanned_out = false"),
            sqlite_where=text("fanned_out = 0"),
        ),
        Index("ix_outbox_events_aggregate", "aggregate_id", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[int] = mapped_column(BigInteger)  # the order id
    payload: Mapped[str] = mapped_column(Text)  # JSON object
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False)


class WebhookDelivery(Base):
    """One event to one endpoint: retried with backoff until delivered or dead."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint", name="uq_webhook_deliveries_event_endpoint"),
        CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')", name="ck_webhook_deliveries_status"
        ),
        CheckConstraint("attempts >= 0", name="ck_webhook_deliveries_attempts"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    endpoint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PurchaseLimit(Base):
    """At most ``max_per_customer`` units of the SKU per customer (over all live orders)."""

    __tablename__ = "purchase_limits"
    __table_args__ = (CheckConstraint("max_per_customer > 0", name="ck_purchase_limits_pos"),)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    max_per_customer: Mapped[int] = mapped_column(BigInteger)


class CustomerSkuPurchase(Base):
    """Units of a limited SKU a customer holds in live orders (raised at checkout, lowered when
    an order is cancelled)."""

    __tablename__ = "customer_sku_purchases"
    __table_args__ = (CheckConstraint("quantity >= 0", name="ck_customer_sku_purchases_nonneg"),)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger, default=0)
