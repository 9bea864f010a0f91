"""Tables of promotions (vouchers, percentage, fixed and bundle discounts) and of the
recommendation data (view events, trained neighbours and factors).

The database guards the usage limits (DESIGN principle 6): ``promotions.uses`` never exceeds
``max_uses`` (a CHECK, and the conditional UPDATE that counts a use), and a customer's uses of a
promotion live in one row per (promotion, customer) that a conditional UPDATE raises only while
it is below the per-customer limit. Imported once from the bottom of :mod:`api.models`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.models import Base, Id, UTCDateTime


class Promotion(Base):
    """A discount rule; with ``code`` it is a voucher a shopper must enter, without it it
    applies automatically. Kinds: ``percent`` (``percent_off`` of the eligible lines),
    ``fixed`` (``amount_off_cents`` off the eligible subtotal), ``bundle`` (every
    ``bundle_qty`` eligible units cost ``bundle_price_cents`` or get ``percent_off``)."""

    __tablename__ = "promotions"
    __table_args__ = (
        CheckConstraint("kind IN ('percent', 'fixed', 'bundle')", name="ck_promotions_kind"),
        CheckConstraint(
            "percent_off IS NULL OR (percent_off > 0 AND percent_off <= 100)",
            name="ck_promotions_percent",
        ),
        CheckConstraint(
            "uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)", name="ck_promotions_uses"
        ),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="ck_promotions_window"),
        Index("ix_promotions_auto", "active", "valid_from"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    percent_off: Mapped[int | None] = mapped_column(Integer)
    amount_off_cents: Mapped[int | None] = mapped_column(BigInteger)
    bundle_qty: Mapped[int | None] = mapped_column(Integer)
    bundle_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    channel: Mapped[str | None] = mapped_column(String(16))
    min_subtotal_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    max_uses: Mapped[int | None] = mapped_column(BigInteger)
    max_uses_per_customer: Mapped[int | None] = mapped_column(BigInteger)
    uses: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PromotionSku(Base):
    """The SKUs a promotion is limited to (none: every SKU)."""

    __tablename__ = "promotion_skus"
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)


class PromotionCustomerUse(Base):
    """Uses of a promotion by one customer (raised by a conditional UPDATE under the limit)."""

    __tablename__ = "promotion_customer_uses"
    __table_args__ = (CheckConstraint("uses >= 0", name="ck_promotion_customer_uses"),)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    uses: Mapped[int] = mapped_column(BigInteger, default=0)


class CartVoucher(Base):
    """The voucher entered on a cart (at most one)."""

    __tablename__ = "cart_vouchers"
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id"), primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"))


class OrderDiscount(Base):
    """A discount line of an order: which promotion took how much off (cents)."""

    __tablename__ = "order_discounts"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="ck_order_discounts_amount"),
        Index("ix_order_discounts_order", "order_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"))
    code: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    counted: Mapped[bool] = mapped_column(Boolean, default=False)  # a use was counted


class ProductView(Base):
    """A shopper looked at a SKU (input of "also viewed")."""

    __tablename__ = "product_views"
    __table_args__ = (Index("ix_product_views_customer", "customer_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RecommendationModel(Base):
    """A trained recommendation model: neighbours and factors as an ``.npz`` blob."""

    __tablename__ = "recommendation_models"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime)
    n_orders: Mapped[int] = mapped_column(BigInteger)
    n_views: Mapped[int] = mapped_column(BigInteger)
    factors: Mapped[int] = mapped_column(Integer)
    train_seconds: Mapped[float] = mapped_column(Float)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
