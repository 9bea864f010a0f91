"""The :class:`CommerceClient` protocol: every commerce operation with its typed signature.

The twin, the tests and the load tools talk to commerce only through this interface. The doors
share one operation table (:mod:`api.client.operations`: verb, path, body, status, service
function, idempotency) and implement only ``_invoke``:

* :class:`api.client.inprocess.InProcessClient` calls the service layer directly (no HTTP), on
  the injected clock, for the twin's speed (embedded SQLite by default);
* :class:`api.client.http.HttpClient` calls a running server with httpx (PostgreSQL in
  production);
* :class:`api.client.recorder.RecordingClient` forwards to another client and records each call
  as the HTTP request it corresponds to.

:class:`api.client.fake.FakeCommerce` implements the same protocol in dictionaries for fast
unit tests; ``tests/api/test_client_contract.py`` runs one scenario through all of them.

Every method raises :class:`CommerceError` (a typed subclass: ``InsufficientStockError``,
``NotFoundError``, ``ServiceUnavailableError`` ...) for an error outcome, carrying the API's
``code``, ``message``, ``details``, the HTTP status and, for 429/503, ``retry_after_s``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from api.client import operations as ops
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
from api.schemas_batch import (
    BatchResult,
    CartLineItem,
    CartOpen,
    CheckoutItem,
    TransitionItem,
)
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
from api.schemas_promo import (
    PromotionCreate,
    PromotionRead,
    Recommendations,
    TrainResult,
    ViewBatch,
    VoucherSet,
)

R = TypeVar("R")


class CommerceError(Exception):
    """An error outcome of a commerce call: typed code, message, details, HTTP status, and
    (429/503) how many seconds to wait before retrying."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        details: dict[str, object] | list[object] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details
        self.retry_after_s = retry_after_s


def _call(
    client: CommerceClient,
    op: ops.Operation[R],
    args: dict[str, Any],
    key: str | None = None,
) -> R:
    return cast(OperationClient, client)._invoke(op, args, key)


@runtime_checkable
class CommerceClient(Protocol):
    """Everything the twin, policies and load tools may do to commerce.

    ``idempotency_key`` (where accepted) follows the HTTP ``Idempotency-Key`` semantics: the
    same key and body returns the stored result, the same key with another body raises
    ``CommerceError(code="IDEMPOTENCY_MISMATCH", status=422)``.

    The method bodies forward to the door's ``_invoke`` (see :class:`OperationClient`); a class
    may instead implement every method itself (the fake). The operations:

    """

    # catalog
    def create_category(self, body: CategoryCreate) -> CategoryRead:
        return _call(self, ops.CREATE_CATEGORY, {"body": body})

    def import_skus(self, rows: Sequence[SkuImportRow]) -> ImportResult:
        return _call(self, ops.IMPORT_SKUS, {"rows": rows})

    def get_sku(self, sku: str) -> SkuRead:
        return _call(self, ops.GET_SKU, {"sku": sku})

    def search(self, query: SearchQuery) -> Page[SkuRead]:
        return _call(self, ops.SEARCH, {"query": query})

    # locations
    def create_location(self, body: LocationCreate) -> LocationRead:
        return _call(self, ops.CREATE_LOCATION, {"body": body})

    def list_locations(self) -> list[LocationRead]:
        return _call(self, ops.LIST_LOCATIONS, {})

    # stock
    def stock_levels(self, query: StockQuery) -> list[StockLevel]:
        return _call(self, ops.STOCK_LEVELS, {"query": query})

    def receive(
        self, body: ReceiptCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]:
        return _call(self, ops.RECEIVE, {"body": body}, idempotency_key)

    def transfer(
        self, body: TransferCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]:
        return _call(self, ops.TRANSFER, {"body": body}, idempotency_key)

    def adjust(self, body: AdjustmentCreate, *, idempotency_key: str | None = None) -> MovementRead:
        return _call(self, ops.ADJUST, {"body": body}, idempotency_key)

    def pos_sales(self, body: PosSaleBatch, *, idempotency_key: str | None = None) -> PosSaleResult:
        return _call(self, ops.POS_SALES, {"body": body}, idempotency_key)

    def movements(
        self,
        *,
        sku: str | None = None,
        location: str | None = None,
        cursor: str | None = None,
        limit: int = 500,
    ) -> Page[MovementRead]:
        args = {"sku": sku, "location": location, "cursor": cursor, "limit": limit}
        return _call(self, ops.MOVEMENTS, args)

    # prices
    def set_prices(self, prices: Sequence[PriceSet]) -> PriceBulkResult:
        return _call(self, ops.SET_PRICES, {"prices": prices})

    def get_prices(self, skus: Sequence[str], channel: str) -> list[PriceRead]:
        return _call(self, ops.GET_PRICES, {"skus": skus, "channel": channel})

    # carts
    def create_cart(self, body: CartCreate, *, idempotency_key: str | None = None) -> CartRead:
        return _call(self, ops.CREATE_CART, {"body": body}, idempotency_key)

    def set_cart_line(self, cart_id: int, body: CartLineSet) -> CartRead:
        return _call(self, ops.SET_CART_LINE, {"cart_id": cart_id, "body": body})

    def get_cart(self, cart_id: int) -> CartRead:
        return _call(self, ops.GET_CART, {"cart_id": cart_id})

    # checkout and orders
    def checkout(self, body: CheckoutRequest, *, idempotency_key: str | None = None) -> OrderRead:
        return _call(self, ops.CHECKOUT, {"body": body}, idempotency_key)

    def get_order(self, order_id: int) -> OrderRead:
        return _call(self, ops.GET_ORDER, {"order_id": order_id})

    def list_orders(
        self, *, status: OrderStatus | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page[OrderRead]:
        return _call(self, ops.LIST_ORDERS, {"status": status, "cursor": cursor, "limit": limit})

    def transition_order(self, order_id: int, to: OrderStatus) -> OrderRead:
        return _call(self, ops.TRANSITION_ORDER, {"order_id": order_id, "to": to})

    def cancel_order(self, order_id: int) -> OrderRead:
        return _call(self, ops.CANCEL_ORDER, {"order_id": order_id})

    def return_order(
        self, order_id: int, body: ReturnCreate, *, idempotency_key: str | None = None
    ) -> OrderRead:
        return _call(self, ops.RETURN_ORDER, {"order_id": order_id, "body": body}, idempotency_key)

    # fulfilment: promise, shipments, returns (RMA); see docs/fulfilment.md
    def promise(self, body: PromiseRequest) -> PromiseRead:
        return _call(self, ops.PROMISE, {"body": body})

    def cart_promise(self, cart_id: int, query: CartPromiseQuery) -> PromiseRead:
        return _call(self, ops.CART_PROMISE, {"cart_id": cart_id, "query": query})

    def allocate_order(
        self, order_id: int, body: AllocationRequest, *, idempotency_key: str | None = None
    ) -> list[ShipmentRead]:
        return _call(
            self, ops.ALLOCATE_ORDER, {"order_id": order_id, "body": body}, idempotency_key
        )

    def list_shipments(self, order_id: int) -> list[ShipmentRead]:
        return _call(self, ops.LIST_SHIPMENTS, {"order_id": order_id})

    def transition_shipment(
        self, shipment_id: int, body: ShipmentTransition, *, idempotency_key: str | None = None
    ) -> ShipmentRead:
        return _call(
            self,
            ops.TRANSITION_SHIPMENT,
            {"shipment_id": shipment_id, "body": body},
            idempotency_key,
        )

    def create_rma(
        self, order_id: int, body: RmaCreate, *, idempotency_key: str | None = None
    ) -> RmaRead:
        return _call(self, ops.CREATE_RMA, {"order_id": order_id, "body": body}, idempotency_key)

    def get_rma(self, rma_id: int) -> RmaRead:
        return _call(self, ops.GET_RMA, {"rma_id": rma_id})

    def transition_rma(
        self, rma_id: int, body: RmaTransition, *, idempotency_key: str | None = None
    ) -> RmaRead:
        return _call(self, ops.TRANSITION_RMA, {"rma_id": rma_id, "body": body}, idempotency_key)

    # housekeeping (driven by the injected clock; staff/service only)
    def expire_reservations(self) -> int:
        return _call(self, ops.EXPIRE_RESERVATIONS, {})

    def expire_unpaid_orders(self) -> int:
        return _call(self, ops.EXPIRE_UNPAID_ORDERS, {})

    # policies (staff/service only): the configured replenishment and pricing policies
    def plan_replenishment(self, body: ReplenishmentPlanRequest) -> ReplenishmentPlan:
        return _call(self, ops.PLAN_REPLENISHMENT, {"body": body})

    def quote_prices(
        self, body: PriceQuoteRequest, *, idempotency_key: str | None = None
    ) -> PriceQuote:
        return _call(self, ops.QUOTE_PRICES, {"body": body}, idempotency_key)

    # promotions (staff) and recommendations
    def create_promotion(self, body: PromotionCreate) -> PromotionRead:
        return _call(self, ops.CREATE_PROMOTION, {"body": body})

    def set_cart_voucher(self, cart_id: int, body: VoucherSet) -> CartRead:
        return _call(self, ops.SET_CART_VOUCHER, {"cart_id": cart_id, "body": body})

    def recommendations(
        self, *, customer: str | None = None, sku: str | None = None, k: int = 10
    ) -> Recommendations:
        return _call(self, ops.RECOMMENDATIONS, {"customer": customer, "sku": sku, "k": k})

    def record_views(self, body: ViewBatch) -> int:
        return _call(self, ops.RECORD_VIEWS, {"body": body})

    def train_recommendations(self) -> TrainResult:
        return _call(self, ops.TRAIN_RECOMMENDATIONS, {})

    # batches: many items, one call, one typed result per item (see api.schemas_batch)
    def batch_create_carts(self, items: Sequence[CartOpen]) -> BatchResult[CartRead]:
        """Open many carts, each with its lines (all or nothing per cart)."""
        return _call(self, ops.BATCH_CREATE_CARTS, {"items": list(items)})

    def batch_set_cart_lines(self, items: Sequence[CartLineItem]) -> BatchResult[CartRead]:
        """Set many cart lines; each result is the cart after its line."""
        return _call(self, ops.BATCH_SET_CART_LINES, {"items": list(items)})

    def batch_checkout(self, items: Sequence[CheckoutItem]) -> BatchResult[OrderRead]:
        """Check out many carts, each exactly once (``idempotency_key`` per item)."""
        return _call(self, ops.BATCH_CHECKOUT, {"items": list(items)})

    def batch_transition_orders(self, items: Sequence[TransitionItem]) -> BatchResult[OrderRead]:
        """Allocate, ship, deliver or cancel many orders."""
        return _call(self, ops.BATCH_TRANSITION_ORDERS, {"items": list(items)})


class OperationClient(CommerceClient):
    """Base of the doors driven by the operation table: implement :meth:`_invoke` only."""

    @abstractmethod
    def _invoke(self, op: ops.Operation[R], args: Mapping[str, Any], key: str | None) -> R:
        """Run ``op`` with ``args`` (the method's arguments by name, in signature order) and
        ``key`` (its ``idempotency_key``, None when absent or not accepted)."""


CommerceClient.__doc__ = (CommerceClient.__doc__ or "") + ops.table_markdown() + "\n"
