"""Schemas of promotions (vouchers, percentage, fixed and bundle discounts) and
recommendations. Money in integer cents; times timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from api.schemas import CODE_PATTERN, MAX_CENTS, Channel, CodeStr, Strict

PromotionKind = Literal["percent", "fixed", "bundle"]
MAX_PROMOTION_SKUS = 1000


class PromotionCreate(Strict):
    """A discount rule (staff). With ``code`` it is a voucher the shopper enters; without, it
    applies automatically to every cart and order it fits.

    * ``percent``: ``percent_off`` of the eligible lines;
    * ``fixed``: ``amount_off_cents`` off the eligible subtotal (never below 0);
    * ``bundle``: every ``bundle_qty`` eligible units (most expensive first) cost
      ``bundle_price_cents`` together, or get ``percent_off``.

    Eligible lines are those of ``skus`` (empty: every SKU), on ``channel`` (None: every
    channel), once the order's subtotal reaches ``min_subtotal_cents``. ``max_uses`` and
    ``max_uses_per_customer`` limit orders placed with it (vouchers only), guarded by the
    database.
    """

    name: str = Field(min_length=1, max_length=200)
    kind: PromotionKind
    code: str | None = Field(default=None, min_length=1, max_length=64, pattern=CODE_PATTERN)
    percent_off: int | None = Field(default=None, ge=1, le=100)
    amount_off_cents: int | None = Field(default=None, ge=1, le=MAX_CENTS)
    bundle_qty: int | None = Field(default=None, ge=2, le=1000)
    bundle_price_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)
    skus: list[CodeStr] = Field(default_factory=list, max_length=MAX_PROMOTION_SKUS)
    channel: Channel | None = None
    min_subtotal_cents: int = Field(default=0, ge=0, le=MAX_CENTS)
    valid_from: datetime | None = None  # default: now (the service's clock)
    valid_to: datetime | None = None
    max_uses: int | None = Field(default=None, ge=1, le=2**62)
    max_uses_per_customer: int | None = Field(default=None, ge=1, le=2**62)

    @model_validator(mode="after")
    def _fields_of_kind(self) -> PromotionCreate:
        if self.kind == "percent" and (self.percent_off is None or self.amount_off_cents):
            raise ValueError("a percent promotion needs percent_off (and no amount_off_cents)")
        if self.kind == "fixed" and (self.amount_off_cents is None or self.percent_off):
            raise ValueError("a fixed promotion needs amount_off_cents (and no percent_off)")
        if self.kind == "bundle":
            if self.bundle_qty is None:
                raise ValueError("a bundle promotion needs bundle_qty")
            if (self.bundle_price_cents is None) == (self.percent_off is None):
                raise ValueError("a bundle promotion needs bundle_price_cents or percent_off")
        elif self.bundle_qty is not None or self.bundle_price_cents is not None:
            raise ValueError("bundle_qty and bundle_price_cents belong to bundle promotions")
        if self.code is None and (self.max_uses or self.max_uses_per_customer):
            raise ValueError("usage limits need a voucher code")
        for t in (self.valid_from, self.valid_to):
            if t is not None and t.tzinfo is None:
                raise ValueError("valid_from and valid_to need a timezone (UTC)")
        return self


class PromotionRead(Strict):
    id: int
    name: str
    kind: PromotionKind
    code: str | None
    percent_off: int | None
    amount_off_cents: int | None
    bundle_qty: int | None
    bundle_price_cents: int | None
    skus: list[str]
    channel: Channel | None
    min_subtotal_cents: int
    valid_from: datetime
    valid_to: datetime | None
    max_uses: int | None
    max_uses_per_customer: int | None
    uses: int
    active: bool


class VoucherSet(Strict):
    """Enter a voucher on a cart (``code``), or take it off (None)."""

    code: str | None = Field(default=None, min_length=1, max_length=64, pattern=CODE_PATTERN)


class ViewEvent(Strict):
    """A shopper looked at a SKU (staff/service keys name the customer)."""

    sku: CodeStr
    customer_id: str | None = Field(default=None, min_length=1, max_length=64)


class ViewBatch(Strict):
    views: list[ViewEvent] = Field(min_length=1, max_length=10000)


class RecommendationItem(Strict):
    sku: str
    score: float
    source: Literal["co_purchase", "also_viewed", "factors", "popular"]


class Recommendations(Strict):
    """Top-``k`` SKUs for a customer and/or a SKU being looked at, best first."""

    customer: str | None
    sku: str | None
    items: list[RecommendationItem]
    model_id: int | None  # the trained model that served them (None: popularity only)


class TrainResult(Strict):
    model_id: int
    orders: int
    views: int
    skus: int
    customers: int
    factors: int
    train_seconds: float
