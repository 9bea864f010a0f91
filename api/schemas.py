"""Request and response schemas of the commerce API (one family per resource).

These are the wire types of the HTTP API *and* the return types of every
:class:`api.client.CommerceClient` method, so both client implementations give identical
results. Money is integer minor units (``*_cents``); quantities are integer units; times are
timezone-aware UTC datetimes. Resources are addressed by natural codes (``sku``, location
``code``), integer ids stay inside the database except for carts and orders.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    model_validator,
)

T = TypeVar("T")

CODE_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
Code = Field(min_length=1, max_length=64, pattern=CODE_PATTERN)
CodeStr = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=CODE_PATTERN)]
"""A natural code (SKU, location, category): what the ``String(64)`` code columns hold."""
Reference = Annotated[str, StringConstraints(max_length=200)]
"""A free-text reference on a stock movement (``String(200)``)."""
MAX_LINES = 10_000
MAX_LIST = 20_000
# Input bounds: values beyond them are refused at the edge (422), never overflow the database.
MAX_QTY = 1_000_000
MAX_CENTS = 10**10
MAX_ID = 2**62


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- errors -------------------------------------------------------------------------------
class ErrorBody(Strict):
    """Every 4xx answer has this body."""

    code: str  # e.g. NOT_FOUND, VALIDATION_ERROR, INSUFFICIENT_STOCK, IDEMPOTENCY_MISMATCH
    message: str
    details: dict[str, object] | list[object] | None = None


# ---- pagination ---------------------------------------------------------------------------
class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(frozen=True)
    items: list[T]
    next_cursor: str | None = None


# ---- catalog ------------------------------------------------------------------------------
class CategoryCreate(Strict):
    code: str = Code
    name: str = Field(min_length=1, max_length=200)
    parent_code: CodeStr | None = None


class CategoryRead(Strict):
    code: str
    name: str
    parent_code: str | None = None


class SkuImportRow(Strict):
    """One row of a bulk catalog import; creates the product and category if missing."""

    sku: str = Code
    product: str = Code
    name: str = Field(min_length=1, max_length=300)
    category: str = Code
    description: str = Field(default="", max_length=5000)
    attributes: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=64)],
        Annotated[str, StringConstraints(max_length=500)],
    ] = Field(default_factory=dict, max_length=50)
    cost_cents: int = Field(ge=0, le=MAX_CENTS)
    list_price_cents: int = Field(ge=0, le=MAX_CENTS)


class ImportResult(Strict):
    created: int
    updated: int


class SkuRead(Strict):
    sku: str
    product: str
    name: str
    category: str
    description: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    cost_cents: int
    list_price_cents: int


SortKey = Literal["relevance", "price_asc", "price_desc", "name"]
SearchMode = Literal["keyword", "hybrid", "semantic"]


class SearchQuery(Strict):
    q: str | None = Field(default=None, max_length=200)
    category: CodeStr | None = None
    min_price_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)
    max_price_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)
    in_stock_at: CodeStr | None = None  # location code: only SKUs with available > 0 there
    sort: SortKey = "relevance"
    # search (docs/search.md): keyword full text, or fused with semantic vectors
    mode: SearchMode = "keyword"
    expand: bool = True  # typo correction and synonyms
    rank_at: CodeStr | None = None  # shopper's location: SKUs available there rank higher
    cursor: str | None = Field(default=None, max_length=500)
    limit: int = Field(default=50, ge=1, le=500)


# ---- locations ----------------------------------------------------------------------------
class LocationKind(StrEnum):
    STORE = "store"
    WAREHOUSE = "warehouse"
    SUPPLIER = "supplier"  # also a vendor drop-ship node when it holds stock
    MFC = "mfc"  # micro-fulfilment centre


class Channel(StrEnum):
    WEB = "web"
    APP = "app"
    STORE = "store"


class LocationCreate(Strict):
    code: str = Code
    kind: LocationKind
    name: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class LocationRead(Strict):
    code: str
    kind: LocationKind
    name: str
    lat: float
    lon: float


# ---- stock --------------------------------------------------------------------------------
class MovementKind(StrEnum):
    RECEIPT = "receipt"
    SALE = "sale"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    ADJUSTMENT = "adjustment"
    RETURN = "return"


class StockLine(Strict):
    sku: str = Code
    quantity: int = Field(gt=0, le=MAX_QTY)


class StockLevel(Strict):
    sku: str
    location: str
    on_hand: int
    reserved: int
    available: int


class StockQuery(Strict):
    skus: list[CodeStr] | None = Field(default=None, max_length=MAX_LIST)  # None: all SKUs
    locations: list[CodeStr] | None = Field(default=None, max_length=MAX_LIST)


class ReceiptCreate(Strict):
    location: str = Code
    lines: list[StockLine] = Field(min_length=1, max_length=MAX_LINES)
    reference: Reference | None = None


class TransferCreate(Strict):
    from_location: str = Code
    to_location: str = Code
    lines: list[StockLine] = Field(min_length=1, max_length=MAX_LINES)
    reference: Reference | None = None


class AdjustmentCreate(Strict):
    location: str = Code
    sku: str = Code
    delta: int = Field(
        ge=-MAX_QTY, le=MAX_QTY
    )  # may be negative (write-off, shrink); on_hand never goes below reserved
    reason: str = Field(min_length=1, max_length=200)


class MovementRead(Strict):
    id: int
    sku: str
    location: str
    kind: MovementKind
    quantity: int  # signed change of on_hand
    reference: str | None
    created_at: datetime


class PosSale(Strict):
    sku: str = Code
    quantity: int = Field(gt=0, le=MAX_QTY)
    unit_price_cents: int | None = Field(
        default=None, ge=0, le=MAX_CENTS
    )  # None: current store price


class PosSaleBatch(Strict):
    location: str = Code
    sales: list[PosSale] = Field(min_length=1, max_length=MAX_LINES)
    reference: Reference | None = None


class LineError(Strict):
    sku: str
    code: str  # INSUFFICIENT_STOCK, UNKNOWN_SKU
    requested: int
    available: int


class PosSaleResult(Strict):
    accepted: list[StockLine]
    rejected: list[LineError]
    revenue_cents: int


# ---- prices -------------------------------------------------------------------------------
class PriceSet(Strict):
    sku: str = Code
    channel: Channel
    price_cents: int = Field(ge=0, le=MAX_CENTS)
    valid_from: AwareDatetime | None = None  # None: from now; must carry a timezone
    valid_to: AwareDatetime | None = None  # None: open-ended


class PriceRead(Strict):
    sku: str
    channel: Channel
    price_cents: int
    valid_from: datetime
    valid_to: datetime | None


class PriceBulkResult(Strict):
    updated: int


# ---- carts --------------------------------------------------------------------------------
class CartCreate(Strict):
    channel: Channel
    location: str = Code  # where stock is reserved from (store, or the fulfilling warehouse)
    # staff/service only; a customer key always uses its own
    customer_id: str | None = Field(default=None, min_length=1, max_length=64)


class CartLineSet(Strict):
    sku: str = Code
    quantity: int = Field(ge=0, le=MAX_QTY)  # 0 removes the line


class CartLineRead(Strict):
    sku: str
    quantity: int
    unit_price_cents: int  # price snapshot taken when the line was set


class DiscountLine(Strict):
    """A promotion's share of a cart's or order's discount (``api.services.promotions``)."""

    promotion_id: int
    code: str | None  # the voucher code; None for an automatic promotion
    name: str
    amount_cents: int


class CartRead(Strict):
    id: int
    customer_id: str
    channel: Channel
    location: str
    status: Literal["open", "checked_out", "expired", "abandoned"]
    lines: list[CartLineRead]
    total_cents: int  # what checkout charges: the lines less ``discount_cents``
    expires_at: datetime
    discounts: list[DiscountLine] = Field(default_factory=list)
    discount_cents: int = 0
    voucher: str | None = None


# ---- checkout, payments, orders -----------------------------------------------------------
class CheckoutLine(Strict):
    """One line of an express checkout."""

    sku: str = Code
    quantity: int = Field(gt=0, le=MAX_QTY)


MAX_CHECKOUT_LINES = 100


class CheckoutRequest(Strict):
    """Check out a cart (``cart_id``) or, in one request, lines given inline (express checkout:
    ``lines``, ``location``, ``channel``; staff and service keys also name ``customer_id``)."""

    cart_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    lines: list[CheckoutLine] | None = Field(
        default=None, min_length=1, max_length=MAX_CHECKOUT_LINES
    )
    location: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$"
    )
    channel: Channel | None = None
    customer_id: str | None = Field(default=None, min_length=1, max_length=64)
    # simulated gateway: tok_ok, tok_decline, tok_timeout, tok_lost_answer
    payment_token: str = Field(default="tok_ok", min_length=1, max_length=64)
    # a voucher code for an express checkout (a cart carries its own, see PUT .../voucher)
    voucher: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _cart_or_lines(self) -> CheckoutRequest:
        if (self.cart_id is None) == (self.lines is None):
            raise ValueError("give either cart_id or lines (express checkout), not both")
        if self.lines is not None and (self.location is None or self.channel is None):
            raise ValueError("an express checkout (lines) needs location and channel")
        return self


class OrderStatus(StrEnum):
    PLACED = "placed"
    PAID = "paid"
    ALLOCATED = "allocated"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    PAYMENT_FAILED = "payment_failed"
    RETURNED = "returned"
    REFUNDED = "refunded"


class OrderLineRead(Strict):
    sku: str
    quantity: int
    unit_price_cents: int


class PaymentRead(Strict):
    authorized_cents: int
    captured_cents: int
    refunded_cents: int
    status: str


class OrderRead(Strict):
    id: int
    customer_id: str
    channel: Channel
    location: str
    status: OrderStatus
    lines: list[OrderLineRead]
    total_cents: int  # charged: the lines less ``discount_cents``
    payment: PaymentRead | None
    created_at: datetime
    updated_at: datetime
    discounts: list[DiscountLine] = Field(default_factory=list)
    discount_cents: int = 0


class OrderTransition(Strict):
    """Staff/service moves an order along its state machine (ship, deliver)."""

    to: OrderStatus


class CountResult(Strict):
    """How many records a housekeeping call changed (e.g. carts expired)."""

    count: int


class ReturnCreate(Strict):
    lines: list[StockLine] = Field(min_length=1, max_length=1000)
    restock: bool = True


# ---- policy serving (replenishment plans, price quotes) ----------------------------------
class PolicySpec(Strict):
    """A registered policy by name with its parameters (see ``shopsphere policies list``)."""

    name: str = Field(min_length=1, max_length=64)
    params: dict[str, JsonValue] = Field(default_factory=dict)


class PipelineLine(Strict):
    """Units already ordered for a SKU, arriving ``arrives_in_days`` days from now (0: today)."""

    sku: str = Code
    quantity: int = Field(gt=0, le=MAX_QTY)
    arrives_in_days: int = Field(ge=0, le=365)


class ReplenishmentPlanRequest(Strict):
    """Order quantities for SKUs at one location from the configured (or named) policy."""

    location: str = Code
    skus: list[CodeStr] | None = Field(
        default=None, min_length=1, max_length=MAX_LIST
    )  # None: all stocked there
    policy: PolicySpec | None = None  # None: SHOPSPHERE_REPLENISHMENT_POLICY / _ARTIFACT
    lead_time_days: int | None = Field(default=None, ge=0, le=365)  # None: server default
    pipeline: list[PipelineLine] = Field(default_factory=list, max_length=100_000)
    history_days: int | None = Field(default=None, ge=2, le=730)  # None: server default


class PolicyLineError(Strict):
    """Why the policy could not decide for one SKU of a multi-SKU request (the others are
    decided): the observation field at fault, its value and a message."""

    field: str
    value: int
    message: str


class ReplenishmentPlanLine(Strict):
    sku: str
    on_hand: int
    available: int  # on_hand - reserved
    on_order: int  # units in the pipeline
    inventory_position: int  # available + on_order
    demand_mean: float  # units/day over the history window
    demand_std: float
    order_quantity: int
    target: float | None  # the level the policy aimed at, where it has one
    error: PolicyLineError | None = None  # this SKU was refused (order 0); others are planned


class ReplenishmentPlan(Strict):
    location: str
    policy: str
    params: dict[str, JsonValue]
    lead_time_days: int
    history_days: int
    generated_at: datetime
    lines: list[ReplenishmentPlanLine]


class PriceQuoteRequest(Strict):
    """Prices for SKUs on a channel from the configured (or named) pricing policy."""

    skus: list[CodeStr] = Field(min_length=1, max_length=MAX_LIST)
    channel: Channel
    location: CodeStr | None = None  # stock and sales at one location; None: all locations
    policy: PolicySpec | None = None  # None: SHOPSPHERE_PRICING_POLICY / _ARTIFACT
    days_left: int | None = Field(
        default=None, ge=0, le=3650
    )  # selling days left; None: server default
    history_days: int | None = Field(default=None, ge=2, le=730)
    min_price_ratio: float | None = Field(default=None, ge=0, le=100)  # lower bound, x list price
    max_price_ratio: float | None = Field(default=None, gt=0, le=100)  # upper bound, x list price
    apply: bool = False  # write the quoted prices (changed ones) through the price service


class PriceQuoteLine(Strict):
    sku: str
    current_price_cents: int
    list_price_cents: int
    cost_cents: int
    on_hand: int
    min_price_cents: int
    max_price_cents: int
    quoted_price_cents: int
    error: PolicyLineError | None = None  # this SKU was refused (current price kept)


class PriceQuote(Strict):
    channel: Channel
    location: str | None
    policy: str
    params: dict[str, JsonValue]
    generated_at: datetime
    applied: bool
    updated: int  # price rows written (changed prices only; 0 unless ``apply``)
    lines: list[PriceQuoteLine]
