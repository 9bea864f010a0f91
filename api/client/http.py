"""HTTP :class:`~api.client.base.CommerceClient` (httpx) against a running server.

Every 4xx answer is raised as :class:`~api.client.base.CommerceError` with the server's typed
``code``, ``message``, ``details`` and the HTTP status. The client is thread-safe (one pooled
``httpx.Client``); use one per process or thread pool.

Example::

    with HttpClient("http://127.0.0.1:8000", api_key="dev-staff-key") as client:
        client.list_locations()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from api.client.base import CommerceError
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
    OrderStatus,
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
    SearchQuery,
    SkuImportRow,
    SkuRead,
    StockLevel,
    StockQuery,
    TransferCreate,
)

R = TypeVar("R")
_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(tp: Any) -> TypeAdapter[Any]:
    ad = _ADAPTERS.get(tp)
    if ad is None:
        ad = _ADAPTERS[tp] = TypeAdapter(tp)
    return ad


class HttpClient:
    """CommerceClient over HTTP. ``api_key`` goes into the ``X-API-Key`` header."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"X-API-Key": api_key},
            timeout=timeout_s,
            transport=transport,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing --------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        result: Any,
        *,
        json: BaseModel | None = None,
        params: Any = None,
        content: bytes | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        if json is not None:
            content = json.model_dump_json().encode()
        if content is not None:
            headers = {**(headers or {}), "Content-Type": "application/json"}
        resp = self._http.request(method, path, content=content, params=params, headers=headers)
        if resp.status_code >= 400:
            try:
                body = resp.json()
                code, message, details = body["code"], body["message"], body.get("details")
            except (ValueError, KeyError, TypeError):
                code, message, details = f"HTTP_{resp.status_code}", resp.text[:500], None
            if resp.status_code >= 500:
                resp.raise_for_status()
            raise CommerceError(code, message, status=resp.status_code, details=details)
        return _adapter(result).validate_json(resp.content)

    # ---- catalog ---------------------------------------------------------------------
    def create_category(self, body: CategoryCreate) -> CategoryRead:
        out: CategoryRead = self._call("POST", "/v1/categories", CategoryRead, json=body)
        return out

    def import_skus(self, rows: Sequence[SkuImportRow]) -> ImportResult:
        content = _adapter(list[SkuImportRow]).dump_json(list(rows))
        out: ImportResult = self._call("POST", "/v1/skus/import", ImportResult, content=content)
        return out

    def get_sku(self, sku: str) -> SkuRead:
        out: SkuRead = self._call("GET", f"/v1/skus/{sku}", SkuRead)
        return out

    def search(self, query: SearchQuery) -> Page[SkuRead]:
        params = query.model_dump(exclude_none=True)
        out: Page[SkuRead] = self._call("GET", "/v1/search", Page[SkuRead], params=params)
        return out

    # ---- locations -------------------------------------------------------------------
    def create_location(self, body: LocationCreate) -> LocationRead:
        out: LocationRead = self._call("POST", "/v1/locations", LocationRead, json=body)
        return out

    def list_locations(self) -> list[LocationRead]:
        out: list[LocationRead] = self._call("GET", "/v1/locations", list[LocationRead])
        return out

    # ---- stock -----------------------------------------------------------------------
    def stock_levels(self, query: StockQuery) -> list[StockLevel]:
        out: list[StockLevel] = self._call("POST", "/v1/stock/levels", list[StockLevel], json=query)
        return out

    def receive(
        self, body: ReceiptCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]:
        out: list[MovementRead] = self._call(
            "POST",
            "/v1/stock/receipts",
            list[MovementRead],
            json=body,
            idempotency_key=idempotency_key,
        )
        return out

    def transfer(
        self, body: TransferCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]:
        out: list[MovementRead] = self._call(
            "POST",
            "/v1/stock/transfers",
            list[MovementRead],
            json=body,
            idempotency_key=idempotency_key,
        )
        return out

    def adjust(self, body: AdjustmentCreate, *, idempotency_key: str | None = None) -> MovementRead:
        out: MovementRead = self._call(
            "POST",
            "/v1/stock/adjustments",
            MovementRead,
            json=body,
            idempotency_key=idempotency_key,
        )
        return out

    def pos_sales(self, body: PosSaleBatch, *, idempotency_key: str | None = None) -> PosSaleResult:
        out: PosSaleResult = self._call(
            "POST", "/v1/stock/pos-sales", PosSaleResult, json=body, idempotency_key=idempotency_key
        )
        return out

    def movements(
        self,
        *,
        sku: str | None = None,
        location: str | None = None,
        cursor: str | None = None,
        limit: int = 500,
    ) -> Page[MovementRead]:
        params = {
            k: v
            for k, v in {"sku": sku, "location": location, "cursor": cursor, "limit": limit}.items()
            if v is not None
        }
        out: Page[MovementRead] = self._call(
            "GET", "/v1/stock/movements", Page[MovementRead], params=params
        )
        return out

    # ---- prices ----------------------------------------------------------------------
    def set_prices(self, prices: Sequence[PriceSet]) -> PriceBulkResult:
        content = _adapter(list[PriceSet]).dump_json(list(prices))
        out: PriceBulkResult = self._call("POST", "/v1/prices", PriceBulkResult, content=content)
        return out

    def get_prices(self, skus: Sequence[str], channel: str) -> list[PriceRead]:
        out: list[PriceRead] = self._call(
            "GET", "/v1/prices", list[PriceRead], params={"sku": list(skus), "channel": channel}
        )
        return out

    # ---- carts -----------------------------------------------------------------------
    def create_cart(self, body: CartCreate, *, idempotency_key: str | None = None) -> CartRead:
        out: CartRead = self._call(
            "POST", "/v1/carts", CartRead, json=body, idempotency_key=idempotency_key
        )
        return out

    def set_cart_line(self, cart_id: int, body: CartLineSet) -> CartRead:
        out: CartRead = self._call("PUT", f"/v1/carts/{cart_id}/lines", CartRead, json=body)
        return out

    def get_cart(self, cart_id: int) -> CartRead:
        out: CartRead = self._call("GET", f"/v1/carts/{cart_id}", CartRead)
        return out

    # ---- checkout and orders ---------------------------------------------------------
    def checkout(self, body: CheckoutRequest, *, idempotency_key: str | None = None) -> OrderRead:
        out: OrderRead = self._call(
            "POST", "/v1/checkout", OrderRead, json=body, idempotency_key=idempotency_key
        )
        return out

    def get_order(self, order_id: int) -> OrderRead:
        out: OrderRead = self._call("GET", f"/v1/orders/{order_id}", OrderRead)
        return out

    def list_orders(
        self, *, status: OrderStatus | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page[OrderRead]:
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            params["status"] = OrderStatus(status).value
        if cursor is not None:
            params["cursor"] = cursor
        out: Page[OrderRead] = self._call("GET", "/v1/orders", Page[OrderRead], params=params)
        return out

    def transition_order(self, order_id: int, to: OrderStatus) -> OrderRead:
        out: OrderRead = self._call(
            "POST", f"/v1/orders/{order_id}/transition", OrderRead, json=OrderTransition(to=to)
        )
        return out

    def cancel_order(self, order_id: int) -> OrderRead:
        out: OrderRead = self._call("POST", f"/v1/orders/{order_id}/cancel", OrderRead)
        return out

    def return_order(
        self, order_id: int, body: ReturnCreate, *, idempotency_key: str | None = None
    ) -> OrderRead:
        out: OrderRead = self._call(
            "POST",
            f"/v1/orders/{order_id}/returns",
            OrderRead,
            json=body,
            idempotency_key=idempotency_key,
        )
        return out

    # ---- housekeeping ----------------------------------------------------------------
    def expire_reservations(self) -> int:
        out: CountResult = self._call("POST", "/v1/admin/expire-reservations", CountResult)
        return out.count

    def expire_unpaid_orders(self) -> int:
        out: CountResult = self._call("POST", "/v1/admin/expire-unpaid-orders", CountResult)
        return out.count

    # ---- policies --------------------------------------------------------------------
    def plan_replenishment(self, body: ReplenishmentPlanRequest) -> ReplenishmentPlan:
        out: ReplenishmentPlan = self._call(
            "POST", "/v1/replenishment/plan", ReplenishmentPlan, json=body
        )
        return out

    def quote_prices(
        self, body: PriceQuoteRequest, *, idempotency_key: str | None = None
    ) -> PriceQuote:
        out: PriceQuote = self._call(
            "POST", "/v1/pricing/quote", PriceQuote, json=body, idempotency_key=idempotency_key
        )
        return out
