"""The commerce operation table: every :class:`~api.client.base.CommerceClient` method, once.

One :class:`Operation` per client method says how the call travels through each door:

* over HTTP: the verb, the path template (``{name}`` placeholders are arguments), which argument
  is the JSON body (or which arguments form it), which become the query string, the success
  status, and the wire type of the answer;
* in-process: the service function (``"module:function"``, resolved on first use so that this
  module imports no service code) and how ``Idempotency-Key`` is honoured (``"key"``: the
  generic :func:`~api.services.idempotency.run_idempotent`; ``"service"``: the service function
  takes the key as its last argument and honours it itself, as checkout does with its lease
  and payment resumption);
* for the recorder: the same verb, path and body, so a traffic line is the HTTP request a
  replayer sends;
* for documentation: whether it changes state (``unsafe``) and whether a retry is safe
  (``retry_safe``: a read, a naturally idempotent PUT, or an unsafe call given an
  ``Idempotency-Key``).

Typed method signatures live in one place, the :class:`~api.client.base.CommerceClient`
protocol; its methods forward to ``_invoke(operation, arguments, idempotency_key)``, which is all
a door implements. ``python -m api.client.operations`` prints the table as Markdown.

Adding an endpoint: a route and a service function (``api``), one ``Operation`` here, one typed
method on the protocol, and the fake's behaviour (``api.client.fake``); the contract test
(``tests/api/test_client_contract.py``) then runs it through every door.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, TypeAdapter

from api.schemas import (
    AdjustmentCreate,
    CartCreate,
    CartLineSet,
    CartRead,
    CategoryCreate,
    CategoryRead,
    CheckoutRequest,
    CountResult,
    ImportResult,
    LocationCreate,
    LocationRead,
    MovementRead,
    OrderRead,
    OrderTransition,
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
    SkuImportRow,
    SkuRead,
    StockLevel,
    StockQuery,
    TransferCreate,
)
from api.schemas_batch import (
    BatchResult,
    CartBatch,
    CartLineBatch,
    CheckoutBatch,
    TransitionBatch,
)
from api.schemas_fulfilment import (
    AllocationRequest,
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
Verb = Literal["GET", "POST", "PUT"]
Idempotency = Literal["none", "key", "service"]

_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}
_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def adapter(tp: Any) -> TypeAdapter[Any]:
    """A cached pydantic ``TypeAdapter`` for ``tp`` (building one costs ~1 ms)."""
    ad = _ADAPTERS.get(tp)
    if ad is None:
        ad = _ADAPTERS[tp] = TypeAdapter(tp)
    return ad


def _count(result: CountResult) -> int:
    return result.count


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An operation call as an HTTP request: what the HTTP door sends and the recorder logs."""

    verb: Verb
    path: str
    params: dict[str, Any] | None
    body: BaseModel | list[BaseModel] | None


@dataclass(frozen=True, slots=True)
class Operation(Generic[R]):
    """One commerce operation (``R``: what the client method returns).

    Attributes:
        name: the client method.
        verb, path: the HTTP request; ``{arg}`` in ``path`` is replaced by that argument.
        response: the wire type of a success answer (also what an idempotent replay stores).
        service: the service function, ``"module:function"``, called in-process as
            ``function(ctx, principal, *positional, **keyword)``.
        request: the JSON body type (None: no body).
        body: the argument sent as the JSON body.
        body_fields: arguments that together form the JSON body (an object of ``request``).
        query: query parameter -> argument (arguments that are None are left out).
        query_model: the argument whose fields are the query string.
        keyword: arguments passed to the service by keyword (keyword-only in the protocol).
        status: the HTTP status of a success.
        unsafe: the call changes state.
        retry_safe: repeating the call cannot apply it twice (reads and idempotent PUTs).
        idempotency: how an ``Idempotency-Key`` is honoured in-process (``none``: not accepted).
        scope: the idempotency scope (``str.format`` over the arguments); the routes use the same.
        unwrap: turns the wire answer into ``R`` (e.g. a count).
        summary: one line for the documentation.
    """

    name: str
    verb: Verb
    path: str
    response: Any
    service: str
    summary: str
    request: Any = None
    body: str | None = None
    body_fields: tuple[str, ...] = ()
    query: Mapping[str, str] = field(default_factory=dict)
    query_model: str | None = None
    keyword: tuple[str, ...] = ()
    status: int = 200
    unsafe: bool = False
    retry_safe: bool = True
    idempotency: Idempotency = "none"
    scope: str = ""
    unwrap: Callable[[Any], R] | None = None

    # ---- in-process ----------------------------------------------------------------------
    def function(self) -> Callable[..., Any]:
        """The service function (imported on first use)."""
        fn = _FUNCTIONS.get(self.service)
        if fn is None:
            module, _, name = self.service.partition(":")
            fn = _FUNCTIONS[self.service] = getattr(importlib.import_module(module), name)
        return fn

    def split(self, args: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """The service's positional and keyword arguments."""
        if not self.keyword:
            return list(args.values()), {}
        pos = [v for k, v in args.items() if k not in self.keyword]
        return pos, {k: args[k] for k in self.keyword}

    def scope_for(self, args: Mapping[str, Any]) -> str:
        """The idempotency scope of this call."""
        return self.scope.format(**args) if "{" in self.scope else self.scope

    def request_body(self, args: Mapping[str, Any]) -> BaseModel | list[BaseModel] | None:
        """The body as a schema value (also what an Idempotency-Key hashes), or None."""
        if self.body is not None:
            value = args[self.body]
            return value if isinstance(value, BaseModel) else list(value)
        if self.body_fields:
            # the parts are validated schemas already; the server (or service) checks the whole
            body: BaseModel = self.request.model_construct(**{f: args[f] for f in self.body_fields})
            return body
        return None

    # ---- HTTP ----------------------------------------------------------------------------
    def http(self, args: Mapping[str, Any]) -> HttpRequest:
        """The HTTP request of a call with ``args`` (path quoted, None query values dropped)."""
        path = self.path
        if "{" in path:
            path = path.format(**{k: quote(str(v), safe="") for k, v in args.items()})
        params: dict[str, Any] | None = None
        if self.query_model is not None:
            params = args[self.query_model].model_dump(mode="json", exclude_none=True)
        elif self.query:
            params = {}
            for wire, arg in self.query.items():
                v = args[arg]
                if v is not None:
                    params[wire] = list(v) if isinstance(v, list | tuple) else _plain(v)
        return HttpRequest(self.verb, path, params, self.request_body(args))

    def encode(self, body: BaseModel | list[BaseModel]) -> bytes:
        """JSON bytes of a request body."""
        if isinstance(body, BaseModel):
            return body.model_dump_json().encode()
        return adapter(self.request).dump_json(body)

    def decode(self, content: bytes) -> R:
        """Validate a success answer's JSON and turn it into ``R``."""
        value = adapter(self.response).validate_json(content)
        out: R = self.unwrap(value) if self.unwrap is not None else value
        return out

    @property
    def takes_key(self) -> bool:
        """The client method accepts ``idempotency_key``."""
        return self.idempotency != "none"


def _plain(v: Any) -> Any:
    return v.value if hasattr(v, "value") else v


_S = "api.services."

# ---- catalog ---------------------------------------------------------------------------------
CREATE_CATEGORY: Operation[CategoryRead] = Operation(
    "create_category", "POST", "/v1/categories", CategoryRead, _S + "catalog:create_category",
    "Create a category (staff).", request=CategoryCreate, body="body", status=201, unsafe=True,
    retry_safe=False,
)  # fmt: skip
IMPORT_SKUS: Operation[ImportResult] = Operation(
    "import_skus", "POST", "/v1/skus/import", ImportResult, _S + "catalog:import_skus",
    "Create or update SKUs in bulk (staff).", request=list[SkuImportRow], body="rows",
    unsafe=True,
)  # fmt: skip
GET_SKU: Operation[SkuRead] = Operation(
    "get_sku", "GET", "/v1/skus/{sku}", SkuRead, _S + "catalog:get_sku", "One SKU by code.",
)  # fmt: skip
SEARCH: Operation[Page[SkuRead]] = Operation(
    "search", "GET", "/v1/search", Page[SkuRead], _S + "catalog:search",
    "Search the catalog (text, category, price, in stock at).", query_model="query",
)  # fmt: skip

# ---- locations -------------------------------------------------------------------------------
CREATE_LOCATION: Operation[LocationRead] = Operation(
    "create_location", "POST", "/v1/locations", LocationRead, _S + "locations:create_location",
    "Create a store or warehouse (staff).", request=LocationCreate, body="body", status=201,
    unsafe=True, retry_safe=False,
)  # fmt: skip
LIST_LOCATIONS: Operation[list[LocationRead]] = Operation(
    "list_locations", "GET", "/v1/locations", list[LocationRead],
    _S + "locations:list_locations", "All locations.",
)  # fmt: skip

# ---- stock -----------------------------------------------------------------------------------
STOCK_LEVELS: Operation[list[StockLevel]] = Operation(
    "stock_levels", "POST", "/v1/stock/levels", list[StockLevel], _S + "stock:stock_levels",
    "Counters per SKU and location (a read; POST carries long lists).", request=StockQuery,
    body="query",
)  # fmt: skip
RECEIVE: Operation[list[MovementRead]] = Operation(
    "receive", "POST", "/v1/stock/receipts", list[MovementRead], _S + "stock:receive",
    "Book a goods receipt.", request=ReceiptCreate, body="body", status=201, unsafe=True,
    retry_safe=False, idempotency="key", scope="receive",
)  # fmt: skip
TRANSFER: Operation[list[MovementRead]] = Operation(
    "transfer", "POST", "/v1/stock/transfers", list[MovementRead], _S + "stock:transfer",
    "Move stock between locations.", request=TransferCreate, body="body", status=201,
    unsafe=True, retry_safe=False, idempotency="key", scope="transfer",
)  # fmt: skip
ADJUST: Operation[MovementRead] = Operation(
    "adjust", "POST", "/v1/stock/adjustments", MovementRead, _S + "stock:adjust",
    "Correct on-hand stock (shrink, count).", request=AdjustmentCreate, body="body", status=201,
    unsafe=True, retry_safe=False, idempotency="key", scope="adjust",
)  # fmt: skip
POS_SALES: Operation[PosSaleResult] = Operation(
    "pos_sales", "POST", "/v1/stock/pos-sales", PosSaleResult, _S + "stock:pos_sales",
    "Book till sales; short lines are rejected per line.", request=PosSaleBatch, body="body",
    unsafe=True, retry_safe=False, idempotency="key", scope="pos_sales",
)  # fmt: skip
MOVEMENTS: Operation[Page[MovementRead]] = Operation(
    "movements", "GET", "/v1/stock/movements", Page[MovementRead], _S + "stock:movements",
    "The stock ledger, oldest first, paged.",
    query={"sku": "sku", "location": "location", "cursor": "cursor", "limit": "limit"},
    keyword=("sku", "location", "cursor", "limit"),
)  # fmt: skip

# ---- prices ----------------------------------------------------------------------------------
SET_PRICES: Operation[PriceBulkResult] = Operation(
    "set_prices", "POST", "/v1/prices", PriceBulkResult, _S + "prices:set_prices",
    "Set prices in bulk (staff).", request=list[PriceSet], body="prices", unsafe=True,
)  # fmt: skip
GET_PRICES: Operation[list[PriceRead]] = Operation(
    "get_prices", "GET", "/v1/prices", list[PriceRead], _S + "prices:get_prices",
    "Current prices of SKUs on a channel.", query={"sku": "skus", "channel": "channel"},
)  # fmt: skip

# ---- carts -----------------------------------------------------------------------------------
CREATE_CART: Operation[CartRead] = Operation(
    "create_cart", "POST", "/v1/carts", CartRead, _S + "carts:create_cart",
    "Open a cart reserving from a location.", request=CartCreate, body="body", status=201,
    unsafe=True, retry_safe=False, idempotency="key", scope="create_cart",
)  # fmt: skip
SET_CART_LINE: Operation[CartRead] = Operation(
    "set_cart_line", "PUT", "/v1/carts/{cart_id}/lines", CartRead, _S + "carts:set_cart_line",
    "Set a line's quantity (0 removes it), reserving the difference.", request=CartLineSet,
    body="body", unsafe=True,
)  # fmt: skip
GET_CART: Operation[CartRead] = Operation(
    "get_cart", "GET", "/v1/carts/{cart_id}", CartRead, _S + "carts:get_cart", "One cart.",
)  # fmt: skip

# ---- checkout and orders ---------------------------------------------------------------------
CHECKOUT: Operation[OrderRead] = Operation(
    "checkout", "POST", "/v1/checkout", OrderRead, _S + "checkout:checkout_idempotent",
    "Cart (or lines inline: express) -> paid order, exactly once.", request=CheckoutRequest,
    body="body", status=201, unsafe=True, retry_safe=False, idempotency="service",
    scope="checkout",
)  # fmt: skip
GET_ORDER: Operation[OrderRead] = Operation(
    "get_order", "GET", "/v1/orders/{order_id}", OrderRead, _S + "orders:get_order", "One order.",
)  # fmt: skip
LIST_ORDERS: Operation[Page[OrderRead]] = Operation(
    "list_orders", "GET", "/v1/orders", Page[OrderRead], _S + "orders:list_orders",
    "Orders, newest first, paged.",
    query={"status": "status", "cursor": "cursor", "limit": "limit"},
    keyword=("status", "cursor", "limit"),
)  # fmt: skip
TRANSITION_ORDER: Operation[OrderRead] = Operation(
    "transition_order", "POST", "/v1/orders/{order_id}/transition", OrderRead,
    _S + "orders:transition_order", "Allocate, ship or deliver an order (staff).",
    request=OrderTransition, body_fields=("to",), unsafe=True, retry_safe=False,
)  # fmt: skip
CANCEL_ORDER: Operation[OrderRead] = Operation(
    "cancel_order", "POST", "/v1/orders/{order_id}/cancel", OrderRead, _S + "orders:cancel_order",
    "Cancel an unshipped order; releases stock, refunds.", unsafe=True, retry_safe=False,
)  # fmt: skip
RETURN_ORDER: Operation[OrderRead] = Operation(
    "return_order", "POST", "/v1/orders/{order_id}/returns", OrderRead, _S + "orders:return_order",
    "Return delivered units; refunds them.", request=ReturnCreate, body="body", unsafe=True,
    retry_safe=False, idempotency="key", scope="return_order:{order_id}",
)  # fmt: skip

# ---- fulfilment: promise, shipments, returns (RMA) -------------------------------------------
PROMISE: Operation[PromiseRead] = Operation(
    "promise", "POST", "/v1/promise", PromiseRead, _S + "fulfilment:promise",
    "Earliest delivery per carrier and mode for lines (a read; staff).", request=PromiseRequest,
    body="body",
)  # fmt: skip
CART_PROMISE: Operation[PromiseRead] = Operation(
    "cart_promise", "GET", "/v1/carts/{cart_id}/promise", PromiseRead,
    _S + "fulfilment:cart_promise", "Earliest delivery per carrier and mode for a cart.",
    query_model="query",
)  # fmt: skip
ALLOCATE_ORDER: Operation[list[ShipmentRead]] = Operation(
    "allocate_order", "POST", "/v1/orders/{order_id}/shipments", list[ShipmentRead],
    _S + "allocation:allocate_order", "Allocate a paid order to nodes as shipments (staff).",
    request=AllocationRequest, body="body", status=201, unsafe=True, retry_safe=False,
    idempotency="key", scope="allocate_order:{order_id}",
)  # fmt: skip
LIST_SHIPMENTS: Operation[list[ShipmentRead]] = Operation(
    "list_shipments", "GET", "/v1/orders/{order_id}/shipments", list[ShipmentRead],
    _S + "shipments:list_shipments", "An order's shipments.",
)  # fmt: skip
TRANSITION_SHIPMENT: Operation[ShipmentRead] = Operation(
    "transition_shipment", "POST", "/v1/shipments/{shipment_id}/transitions", ShipmentRead,
    _S + "shipments:transition_shipment", "Pick, pack, ship, deliver, fail, return (staff).",
    request=ShipmentTransition, body="body", unsafe=True, retry_safe=False, idempotency="key",
    scope="transition_shipment:{shipment_id}",
)  # fmt: skip
CREATE_RMA: Operation[RmaRead] = Operation(
    "create_rma", "POST", "/v1/orders/{order_id}/rmas", RmaRead, _S + "returns:create_rma",
    "Open a return (RMA) for delivered units.", request=RmaCreate, body="body", status=201,
    unsafe=True, retry_safe=False, idempotency="key", scope="create_rma:{order_id}",
)  # fmt: skip
GET_RMA: Operation[RmaRead] = Operation(
    "get_rma", "GET", "/v1/rmas/{rma_id}", RmaRead, _S + "returns:get_rma", "One RMA.",
)  # fmt: skip
TRANSITION_RMA: Operation[RmaRead] = Operation(
    "transition_rma", "POST", "/v1/rmas/{rma_id}/transitions", RmaRead,
    _S + "returns:transition_rma", "Receive, inspect, restock or write off, refund (staff).",
    request=RmaTransition, body="body", unsafe=True, retry_safe=False, idempotency="key",
    scope="transition_rma:{rma_id}",
)  # fmt: skip

# ---- housekeeping ----------------------------------------------------------------------------
EXPIRE_RESERVATIONS: Operation[int] = Operation(
    "expire_reservations", "POST", "/v1/admin/expire-reservations", CountResult,
    _S + "carts:expire_reservations", "Expire carts past their TTL (staff).", unsafe=True,
    unwrap=_count,
)  # fmt: skip
EXPIRE_UNPAID_ORDERS: Operation[int] = Operation(
    "expire_unpaid_orders", "POST", "/v1/admin/expire-unpaid-orders", CountResult,
    _S + "orders:expire_unpaid_orders", "Cancel orders unpaid past their TTL (staff).",
    unsafe=True, unwrap=_count,
)  # fmt: skip

# ---- policies --------------------------------------------------------------------------------
PLAN_REPLENISHMENT: Operation[ReplenishmentPlan] = Operation(
    "plan_replenishment", "POST", "/v1/replenishment/plan", ReplenishmentPlan,
    _S + "policy_serving:plan_replenishment", "Order quantities from the replenishment policy.",
    request=ReplenishmentPlanRequest, body="body",
)  # fmt: skip
QUOTE_PRICES: Operation[PriceQuote] = Operation(
    "quote_prices", "POST", "/v1/pricing/quote", PriceQuote, _S + "policy_serving:quote_prices",
    "Prices from the pricing policy; optionally applied.", request=PriceQuoteRequest, body="body",
    unsafe=True, retry_safe=False, idempotency="key", scope="pricing_quote",
)  # fmt: skip

# ---- promotions and recommendations ----------------------------------------------------------
CREATE_PROMOTION: Operation[PromotionRead] = Operation(
    "create_promotion", "POST", "/v1/promotions", PromotionRead,
    _S + "promotions:create_promotion", "Create a voucher or automatic promotion (staff).",
    request=PromotionCreate, body="body", status=201, unsafe=True, retry_safe=False,
)  # fmt: skip
SET_CART_VOUCHER: Operation[CartRead] = Operation(
    "set_cart_voucher", "PUT", "/v1/carts/{cart_id}/voucher", CartRead,
    _S + "promotions_cart:set_cart_voucher", "Enter a voucher on a cart (null: take it off).",
    request=VoucherSet, body="body", unsafe=True,
)  # fmt: skip
RECOMMENDATIONS: Operation[Recommendations] = Operation(
    "recommendations", "GET", "/v1/recommendations", Recommendations,
    _S + "recommend:recommendations", "Top-k SKUs for a customer and/or a SKU.",
    query={"customer": "customer", "sku": "sku", "k": "k"}, keyword=("customer", "sku", "k"),
)  # fmt: skip
RECORD_VIEWS: Operation[int] = Operation(
    "record_views", "POST", "/v1/recommendations/views", CountResult,
    _S + "recommend:record_views", "Record product views (also viewed).", request=ViewBatch,
    body="body", unsafe=True, retry_safe=False, unwrap=_count,
)  # fmt: skip
TRAIN_RECOMMENDATIONS: Operation[TrainResult] = Operation(
    "train_recommendations", "POST", "/v1/recommendations/train", TrainResult,
    _S + "recommend:train_recommendations", "Train the recommender on orders and views (staff).",
    unsafe=True,
)  # fmt: skip

# ---- batches (many items in one call, a result per item) -------------------------------------
BATCH_CREATE_CARTS: Operation[BatchResult[CartRead]] = Operation(
    "batch_create_carts", "POST", "/v1/batch/carts", BatchResult[CartRead],
    _S + "batch:create_carts", "Open many carts (optionally with lines); key per item.",
    request=CartBatch, body_fields=("items",), unsafe=True, retry_safe=False,
)  # fmt: skip
BATCH_SET_CART_LINES: Operation[BatchResult[CartRead]] = Operation(
    "batch_set_cart_lines", "POST", "/v1/batch/cart-lines", BatchResult[CartRead],
    _S + "batch:set_cart_lines", "Set many cart lines; INSUFFICIENT_STOCK per item.",
    request=CartLineBatch, body_fields=("items",), unsafe=True,
)  # fmt: skip
BATCH_CHECKOUT: Operation[BatchResult[OrderRead]] = Operation(
    "batch_checkout", "POST", "/v1/batch/checkouts", BatchResult[OrderRead],
    _S + "batch:checkout", "Check out many carts, each exactly once; key per item.",
    request=CheckoutBatch, body_fields=("items",), unsafe=True, retry_safe=False,
)  # fmt: skip
BATCH_TRANSITION_ORDERS: Operation[BatchResult[OrderRead]] = Operation(
    "batch_transition_orders", "POST", "/v1/batch/order-transitions", BatchResult[OrderRead],
    _S + "batch:transition_orders", "Allocate, ship, deliver or cancel many orders (staff).",
    request=TransitionBatch, body_fields=("items",), unsafe=True, retry_safe=False,
)  # fmt: skip

OPERATIONS: tuple[Operation[Any], ...] = tuple(
    v for v in list(globals().values()) if isinstance(v, Operation)
)
"""Every operation, in protocol order."""
BY_NAME: dict[str, Operation[Any]] = {op.name: op for op in OPERATIONS}


def table_markdown() -> str:
    """The operation table as Markdown (the protocol's and ``docs``' reference)."""
    rows = [
        "| method | HTTP | success | body | changes state | retry-safe | Idempotency-Key |",
        "|---|---|---|---|---|---|---|",
    ]
    for op in OPERATIONS:
        body = getattr(op.request, "__name__", None) or (str(op.request) if op.request else "-")
        rows.append(
            f"| `{op.name}` | `{op.verb} {op.path}` | {op.status} | {body} "
            f"| {'yes' if op.unsafe else 'no'} | {'yes' if op.retry_safe else 'no'} "
            f"| {'yes' if op.takes_key else 'no'} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover
    print(table_markdown())
