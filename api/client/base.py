"""The :class:`CommerceClient` protocol.

The twin, the tests and the load tools talk to commerce only through this interface. Two
implementations exist with the same method names and the same results:

* ``api.client.inprocess.InProcessClient`` calls the service layer directly (no HTTP), on the
  injected clock, for the twin's speed (embedded SQLite by default).
* ``api.client.http.HttpClient`` calls a running server with httpx (PostgreSQL in production).

Every method raises :class:`CommerceError` for a 4xx outcome, carrying the API's typed error
body (``code``, ``message``, ``details``) and the HTTP status it maps to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from api.schemas import (
    AdjustmentCreate,
    CartCreate,
    CartLineSet,
    CartRead,
    CategoryCreate,
    CategoryRead,
    CheckoutRequest,
    ImportResult,
    LocationCreate,
    LocationRead,
    MovementRead,
    OrderRead,
    OrderStatus,
    Page,
    PosSaleBatch,
    PosSaleResult,
    PriceBulkResult,
    PriceQuote,
    PriceQuoteRequest,
    PriceRead,
    PriceSet,
    ReceiptCreate,
    ReplenishmentPlan,
    ReplenishmentPlanRequest,
    ReturnCreate,
    SearchQuery,
    SkuImportRow,
    SkuRead,
    StockLevel,
    StockQuery,
    TransferCreate,
)


class CommerceError(Exception):
    """A 4xx outcome of a commerce call: typed code, message, details, and HTTP status."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        details: dict[str, object] | list[object] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details


@runtime_checkable
class CommerceClient(Protocol):
    """Everything the twin, policies and load tools may do to commerce.

    ``idempotency_key`` (where accepted) follows the HTTP ``Idempotency-Key`` semantics: the
    same key and body returns the stored result, the same key with another body raises
    ``CommerceError(code="IDEMPOTENCY_MISMATCH", status=422)``.
    """

    # catalog
    def create_category(self, body: CategoryCreate) -> CategoryRead: ...
    def import_skus(self, rows: Sequence[SkuImportRow]) -> ImportResult: ...
    def get_sku(self, sku: str) -> SkuRead: ...
    def search(self, query: SearchQuery) -> Page[SkuRead]: ...

    # locations
    def create_location(self, body: LocationCreate) -> LocationRead: ...
    def list_locations(self) -> list[LocationRead]: ...

    # stock
    def stock_levels(self, query: StockQuery) -> list[StockLevel]: ...
    def receive(
        self, body: ReceiptCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]: ...
    def transfer(
        self, body: TransferCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]: ...
    def adjust(
        self, body: AdjustmentCreate, *, idempotency_key: str | None = None
    ) -> MovementRead: ...
    def pos_sales(
        self, body: PosSaleBatch, *, idempotency_key: str | None = None
    ) -> PosSaleResult: ...
    def movements(
        self,
        *,
        sku: str | None = None,
        location: str | None = None,
        cursor: str | None = None,
        limit: int = 500,
    ) -> Page[MovementRead]: ...

    # prices
    def set_prices(self, prices: Sequence[PriceSet]) -> PriceBulkResult: ...
    def get_prices(self, skus: Sequence[str], channel: str) -> list[PriceRead]: ...

    # carts
    def create_cart(self, body: CartCreate, *, idempotency_key: str | None = None) -> CartRead: ...
    def set_cart_line(self, cart_id: int, body: CartLineSet) -> CartRead: ...
    def get_cart(self, cart_id: int) -> CartRead: ...

    # checkout and orders
    def checkout(
        self, body: CheckoutRequest, *, idempotency_key: str | None = None
    ) -> OrderRead: ...
    def get_order(self, order_id: int) -> OrderRead: ...
    def list_orders(
        self, *, status: OrderStatus | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page[OrderRead]: ...
    def transition_order(self, order_id: int, to: OrderStatus) -> OrderRead: ...
    def cancel_order(self, order_id: int) -> OrderRead: ...
    def return_order(
        self, order_id: int, body: ReturnCreate, *, idempotency_key: str | None = None
    ) -> OrderRead: ...

    # housekeeping (driven by the injected clock; staff/service only)
    def expire_reservations(self) -> int: ...
    def expire_unpaid_orders(self) -> int: ...

    # policies (staff/service only): the configured replenishment and pricing policies
    def plan_replenishment(self, body: ReplenishmentPlanRequest) -> ReplenishmentPlan: ...
    def quote_prices(
        self, body: PriceQuoteRequest, *, idempotency_key: str | None = None
    ) -> PriceQuote: ...
