"""A recording decorator around :class:`api.client.CommerceClient`.

Every call the twin makes to commerce goes through :class:`RecordingClient`, which forwards it
unchanged to the wrapped client and records one traffic line: the *simulated* timestamp, the
HTTP method and path the call corresponds to, the JSON body, the status (2xx, or the status of
the :class:`~api.client.CommerceError` it raised) and the wall latency in milliseconds. The
lines are written to ``traffic.jsonl`` for later replay against a live API, and the per-method
call counts and latencies become the run's API KPIs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TypeVar

import numpy as np
import orjson
from pydantic import BaseModel

from api.client.base import CommerceClient, CommerceError
from api.clock import Clock
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

R = TypeVar("R")


@dataclass(slots=True)
class CallStats:
    """Latencies (milliseconds) of one client method, and how many calls failed."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def summary(self) -> dict[str, float]:
        lat = np.asarray(self.latencies_ms, dtype=float)
        if lat.size == 0:
            return {"calls": 0, "errors": self.errors}
        return {
            "calls": int(lat.size),
            "errors": self.errors,
            "mean_ms": float(lat.mean()),
            "p50_ms": float(np.percentile(lat, 50)),
            "p95_ms": float(np.percentile(lat, 95)),
            "p99_ms": float(np.percentile(lat, 99)),
            "total_ms": float(lat.sum()),
        }


def _dump(model: BaseModel) -> dict[str, object]:
    return model.model_dump(mode="json", exclude_none=True)


Body = BaseModel | Sequence[BaseModel] | Mapping[str, object] | None


def _json_body(body: Body) -> object:
    """The JSON body of a call, built only when a trace is written."""
    if body is None or isinstance(body, Mapping):
        return body
    if isinstance(body, BaseModel):
        return _dump(body)
    return [_dump(b) for b in body]


class RecordingClient:
    """A :class:`CommerceClient` that forwards to ``inner`` and records every call.

    Args:
        inner: the real client (in-process or HTTP).
        clock: the simulated clock; its time stamps each traffic line.
        sink: a binary file to append JSON lines to (``traffic.jsonl``), or None to keep only
            the statistics.
        before_call: called before every call (the twin moves the simulated clock there).
    """

    def __init__(
        self,
        inner: CommerceClient,
        clock: Clock,
        sink: IO[bytes] | None = None,
        before_call: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self._clock = clock
        self._sink = sink
        self._before = before_call
        self.stats: dict[str, CallStats] = {}

    # ---- bookkeeping ---------------------------------------------------------------------
    @property
    def total_calls(self) -> int:
        return sum(len(s.latencies_ms) for s in self.stats.values())

    def api_summary(self) -> dict[str, dict[str, float]]:
        """Per-method call count, errors and latency percentiles (milliseconds)."""
        return {name: s.summary() for name, s in sorted(self.stats.items())}

    def _call(
        self,
        name: str,
        method: str,
        path: str,
        body: Body,
        fn: Callable[[], R],
        idempotency_key: str | None = None,
    ) -> R:
        if self._before is not None:
            self._before()
        stats = self.stats.get(name)
        if stats is None:
            stats = self.stats[name] = CallStats()
        t0 = time.perf_counter()
        status = 201 if method == "POST" else 200
        try:
            return fn()
        except CommerceError as exc:
            status = exc.status
            stats.errors += 1
            raise
        finally:
            ms = (time.perf_counter() - t0) * 1000.0
            stats.latencies_ms.append(ms)
            if self._sink is not None:
                line: dict[str, object] = {
                    "timestamp": self._clock.now().isoformat(),
                    "method": method,
                    "path": path,
                    "body": _json_body(body),
                    "status": status,
                    "latency_ms": round(ms, 4),
                }
                if idempotency_key is not None:
                    line["idempotency_key"] = idempotency_key
                self._sink.write(orjson.dumps(line) + b"\n")

    # ---- catalog -------------------------------------------------------------------------
    def create_category(self, body: CategoryCreate) -> CategoryRead:
        return self._call(
            "create_category",
            "POST",
            "/v1/categories",
            body,
            lambda: self.inner.create_category(body),
        )

    def import_skus(self, rows: Sequence[SkuImportRow]) -> ImportResult:
        return self._call(
            "import_skus", "POST", "/v1/skus/import", rows, lambda: self.inner.import_skus(rows)
        )

    def get_sku(self, sku: str) -> SkuRead:
        return self._call(
            "get_sku", "GET", f"/v1/skus/{sku}", None, lambda: self.inner.get_sku(sku)
        )

    def search(self, query: SearchQuery) -> Page[SkuRead]:
        return self._call("search", "GET", "/v1/search", query, lambda: self.inner.search(query))

    # ---- locations -----------------------------------------------------------------------
    def create_location(self, body: LocationCreate) -> LocationRead:
        return self._call(
            "create_location",
            "POST",
            "/v1/locations",
            body,
            lambda: self.inner.create_location(body),
        )

    def list_locations(self) -> list[LocationRead]:
        return self._call(
            "list_locations", "GET", "/v1/locations", None, lambda: self.inner.list_locations()
        )

    # ---- stock ---------------------------------------------------------------------------
    def stock_levels(self, query: StockQuery) -> list[StockLevel]:
        return self._call(
            "stock_levels",
            "POST",
            "/v1/stock/levels",
            query,
            lambda: self.inner.stock_levels(query),
        )

    def receive(
        self, body: ReceiptCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]:
        return self._call(
            "receive",
            "POST",
            "/v1/stock/receipts",
            body,
            lambda: self.inner.receive(body, idempotency_key=idempotency_key),
            idempotency_key,
        )

    def transfer(
        self, body: TransferCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]:
        return self._call(
            "transfer",
            "POST",
            "/v1/stock/transfers",
            body,
            lambda: self.inner.transfer(body, idempotency_key=idempotency_key),
            idempotency_key,
        )

    def adjust(self, body: AdjustmentCreate, *, idempotency_key: str | None = None) -> MovementRead:
        return self._call(
            "adjust",
            "POST",
            "/v1/stock/adjustments",
            body,
            lambda: self.inner.adjust(body, idempotency_key=idempotency_key),
            idempotency_key,
        )

    def pos_sales(self, body: PosSaleBatch, *, idempotency_key: str | None = None) -> PosSaleResult:
        return self._call(
            "pos_sales",
            "POST",
            "/v1/stock/pos-sales",
            body,
            lambda: self.inner.pos_sales(body, idempotency_key=idempotency_key),
            idempotency_key,
        )

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
            for k, v in (("sku", sku), ("location", location), ("cursor", cursor), ("limit", limit))
            if v is not None
        }
        return self._call(
            "movements",
            "GET",
            "/v1/stock/movements",
            params,
            lambda: self.inner.movements(sku=sku, location=location, cursor=cursor, limit=limit),
        )

    # ---- prices --------------------------------------------------------------------------
    def set_prices(self, prices: Sequence[PriceSet]) -> PriceBulkResult:
        return self._call(
            "set_prices", "POST", "/v1/prices", prices, lambda: self.inner.set_prices(prices)
        )

    def get_prices(self, skus: Sequence[str], channel: str) -> list[PriceRead]:
        return self._call(
            "get_prices",
            "GET",
            "/v1/prices",
            {"sku": list(skus), "channel": str(channel)},
            lambda: self.inner.get_prices(skus, channel),
        )

    # ---- carts ---------------------------------------------------------------------------
    def create_cart(self, body: CartCreate, *, idempotency_key: str | None = None) -> CartRead:
        return self._call(
            "create_cart",
            "POST",
            "/v1/carts",
            body,
            lambda: self.inner.create_cart(body, idempotency_key=idempotency_key),
            idempotency_key,
        )

    def set_cart_line(self, cart_id: int, body: CartLineSet) -> CartRead:
        return self._call(
            "set_cart_line",
            "PUT",
            f"/v1/carts/{cart_id}/lines",
            body,
            lambda: self.inner.set_cart_line(cart_id, body),
        )

    def get_cart(self, cart_id: int) -> CartRead:
        return self._call(
            "get_cart", "GET", f"/v1/carts/{cart_id}", None, lambda: self.inner.get_cart(cart_id)
        )

    # ---- checkout and orders -------------------------------------------------------------
    def checkout(self, body: CheckoutRequest, *, idempotency_key: str | None = None) -> OrderRead:
        return self._call(
            "checkout",
            "POST",
            "/v1/checkout",
            body,
            lambda: self.inner.checkout(body, idempotency_key=idempotency_key),
            idempotency_key,
        )

    def get_order(self, order_id: int) -> OrderRead:
        return self._call(
            "get_order",
            "GET",
            f"/v1/orders/{order_id}",
            None,
            lambda: self.inner.get_order(order_id),
        )

    def list_orders(
        self, *, status: OrderStatus | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page[OrderRead]:
        params = {
            k: v
            for k, v in (("status", status), ("cursor", cursor), ("limit", limit))
            if v is not None
        }
        return self._call(
            "list_orders",
            "GET",
            "/v1/orders",
            params,
            lambda: self.inner.list_orders(status=status, cursor=cursor, limit=limit),
        )

    def transition_order(self, order_id: int, to: OrderStatus) -> OrderRead:
        return self._call(
            "transition_order",
            "POST",
            f"/v1/orders/{order_id}/transition",
            {"to": str(to)},
            lambda: self.inner.transition_order(order_id, to),
        )

    def cancel_order(self, order_id: int) -> OrderRead:
        return self._call(
            "cancel_order",
            "POST",
            f"/v1/orders/{order_id}/cancel",
            None,
            lambda: self.inner.cancel_order(order_id),
        )

    def return_order(
        self, order_id: int, body: ReturnCreate, *, idempotency_key: str | None = None
    ) -> OrderRead:
        return self._call(
            "return_order",
            "POST",
            f"/v1/orders/{order_id}/returns",
            body,
            lambda: self.inner.return_order(order_id, body, idempotency_key=idempotency_key),
            idempotency_key,
        )

    # ---- policies --------------------------------------------------------------------------
    def plan_replenishment(self, body: ReplenishmentPlanRequest) -> ReplenishmentPlan:
        return self._call(
            "plan_replenishment",
            "POST",
            "/v1/replenishment/plan",
            body,
            lambda: self.inner.plan_replenishment(body),
        )

    def quote_prices(
        self, body: PriceQuoteRequest, *, idempotency_key: str | None = None
    ) -> PriceQuote:
        return self._call(
            "quote_prices",
            "POST",
            "/v1/pricing/quote",
            body,
            lambda: self.inner.quote_prices(body, idempotency_key=idempotency_key),
            idempotency_key,
        )

    # ---- housekeeping --------------------------------------------------------------------
    def expire_reservations(self) -> int:
        return self._call(
            "expire_reservations",
            "POST",
            "/v1/admin/expire-reservations",
            None,
            lambda: self.inner.expire_reservations(),
        )

    def expire_unpaid_orders(self) -> int:
        return self._call(
            "expire_unpaid_orders",
            "POST",
            "/v1/admin/expire-unpaid-orders",
            None,
            lambda: self.inner.expire_unpaid_orders(),
        )
