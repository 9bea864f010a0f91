"""In-process :class:`~api.client.base.CommerceClient`: calls the service layer directly.

No HTTP, no serialisation: the twin uses this at tens of thousands of calls per simulated day.
It runs on the injected clock (usually a :class:`~api.clock.ManualClock`) and as one principal;
:meth:`InProcessClient.as_principal` gives a client for another caller on the same database.

Example::

    clock = ManualClock()
    client = InProcessClient.for_sqlite(":memory:", clock)   # service role, schema migrated
    shopper = client.as_principal("customer", customer_id="c-1")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from pydantic import TypeAdapter

from api.clock import Clock, SystemClock
from api.db import make_engine, upgrade_schema
from api.payments import PaymentGateway, SimulatedGateway
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
from api.services import carts, catalog, checkout, locations, orders, stock
from api.services import prices as price_svc
from api.services.adapters import A_CART, A_MOVE, A_MOVES, A_ORDER, A_POS
from api.services.context import Principal, ServiceContext
from api.services.idempotency import run_idempotent, run_idempotent_tx

R = TypeVar("R")


def make_context(
    url: str,
    clock: Clock | None = None,
    *,
    gateway: PaymentGateway | None = None,
    reservation_ttl_seconds: float = 900,
    unpaid_order_ttl_seconds: float = 1800,
    migrate: bool = True,
    pool_size: int = 20,
    pg_schema: str | None = None,
) -> ServiceContext:
    """Engine + clock + gateway for ``url``; runs the migrations first when ``migrate``."""
    engine = make_engine(url, pool_size=pool_size, pg_schema=pg_schema)
    if migrate:
        upgrade_schema(engine)
    return ServiceContext(
        engine=engine,
        clock=clock or SystemClock(),
        gateway=gateway or SimulatedGateway(),
        reservation_ttl=timedelta(seconds=reservation_ttl_seconds),
        unpaid_order_ttl=timedelta(seconds=unpaid_order_ttl_seconds),
    )


class InProcessClient:
    """CommerceClient over the service layer for one principal."""

    def __init__(self, ctx: ServiceContext, principal: Principal) -> None:
        self.ctx = ctx
        self.principal = principal

    # ---- construction ----------------------------------------------------------------
    @classmethod
    def for_sqlite(
        cls,
        path: str | Path = ":memory:",
        clock: Clock | None = None,
        *,
        role: str = "service",
        customer_id: str | None = None,
        gateway: PaymentGateway | None = None,
        reservation_ttl_seconds: float = 900,
        unpaid_order_ttl_seconds: float = 1800,
    ) -> InProcessClient:
        """A client on an embedded SQLite database (``":memory:"`` or a file path), migrated."""
        url = "sqlite://" if str(path) == ":memory:" else f"sqlite:///{Path(path)}"
        return cls.for_url(
            url,
            clock,
            role=role,
            customer_id=customer_id,
            gateway=gateway,
            reservation_ttl_seconds=reservation_ttl_seconds,
            unpaid_order_ttl_seconds=unpaid_order_ttl_seconds,
        )

    @classmethod
    def for_url(
        cls,
        url: str,
        clock: Clock | None = None,
        *,
        role: str = "service",
        customer_id: str | None = None,
        gateway: PaymentGateway | None = None,
        reservation_ttl_seconds: float = 900,
        unpaid_order_ttl_seconds: float = 1800,
        migrate: bool = True,
    ) -> InProcessClient:
        """A client on any supported database URL (SQLite or ``postgresql+psycopg://``)."""
        ctx = make_context(
            url,
            clock,
            gateway=gateway,
            reservation_ttl_seconds=reservation_ttl_seconds,
            unpaid_order_ttl_seconds=unpaid_order_ttl_seconds,
            migrate=migrate,
        )
        return cls(ctx, Principal(role=role, customer_id=customer_id))

    def as_principal(self, role: str, customer_id: str | None = None) -> InProcessClient:
        """Same database and clock, another caller (e.g. a customer)."""
        return InProcessClient(self.ctx, Principal(role=role, customer_id=customer_id))

    def close(self) -> None:
        self.ctx.engine.dispose()

    def _idem(
        self,
        key: str | None,
        scope: str,
        body: object,
        adapter: TypeAdapter[R],
        fn: Callable[[], R],
    ) -> R:
        return run_idempotent(self.ctx, self.principal, key, scope, body, adapter, fn)

    # ---- catalog ---------------------------------------------------------------------
    def create_category(self, body: CategoryCreate) -> CategoryRead:
        return catalog.create_category(self.ctx, self.principal, body)

    def import_skus(self, rows: Sequence[SkuImportRow]) -> ImportResult:
        return catalog.import_skus(self.ctx, self.principal, rows)

    def get_sku(self, sku: str) -> SkuRead:
        return catalog.get_sku(self.ctx, self.principal, sku)

    def search(self, query: SearchQuery) -> Page[SkuRead]:
        return catalog.search(self.ctx, self.principal, query)

    # ---- locations -------------------------------------------------------------------
    def create_location(self, body: LocationCreate) -> LocationRead:
        return locations.create_location(self.ctx, self.principal, body)

    def list_locations(self) -> list[LocationRead]:
        return locations.list_locations(self.ctx, self.principal)

    # ---- stock -----------------------------------------------------------------------
    def stock_levels(self, query: StockQuery) -> list[StockLevel]:
        return stock.stock_levels(self.ctx, self.principal, query)

    def receive(
        self, body: ReceiptCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]:
        return self._idem(
            idempotency_key,
            "receive",
            body,
            A_MOVES,
            lambda: stock.receive(self.ctx, self.principal, body),
        )

    def transfer(
        self, body: TransferCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]:
        return self._idem(
            idempotency_key,
            "transfer",
            body,
            A_MOVES,
            lambda: stock.transfer(self.ctx, self.principal, body),
        )

    def adjust(self, body: AdjustmentCreate, *, idempotency_key: str | None = None) -> MovementRead:
        return self._idem(
            idempotency_key,
            "adjust",
            body,
            A_MOVE,
            lambda: stock.adjust(self.ctx, self.principal, body),
        )

    def pos_sales(self, body: PosSaleBatch, *, idempotency_key: str | None = None) -> PosSaleResult:
        return self._idem(
            idempotency_key,
            "pos_sales",
            body,
            A_POS,
            lambda: stock.pos_sales(self.ctx, self.principal, body),
        )

    def movements(
        self,
        *,
        sku: str | None = None,
        location: str | None = None,
        cursor: str | None = None,
        limit: int = 500,
    ) -> Page[MovementRead]:
        return stock.movements(
            self.ctx, self.principal, sku=sku, location=location, cursor=cursor, limit=limit
        )

    # ---- prices ----------------------------------------------------------------------
    def set_prices(self, prices: Sequence[PriceSet]) -> PriceBulkResult:
        return price_svc.set_prices(self.ctx, self.principal, prices)

    def get_prices(self, skus: Sequence[str], channel: str) -> list[PriceRead]:
        return price_svc.get_prices(self.ctx, self.principal, skus, channel)

    # ---- carts -----------------------------------------------------------------------
    def create_cart(self, body: CartCreate, *, idempotency_key: str | None = None) -> CartRead:
        return self._idem(
            idempotency_key,
            "create_cart",
            body,
            A_CART,
            lambda: carts.create_cart(self.ctx, self.principal, body),
        )

    def set_cart_line(self, cart_id: int, body: CartLineSet) -> CartRead:
        return carts.set_cart_line(self.ctx, self.principal, cart_id, body)

    def get_cart(self, cart_id: int) -> CartRead:
        return carts.get_cart(self.ctx, self.principal, cart_id)

    # ---- checkout and orders ---------------------------------------------------------
    def checkout(self, body: CheckoutRequest, *, idempotency_key: str | None = None) -> OrderRead:
        return run_idempotent_tx(
            self.ctx,
            self.principal,
            idempotency_key,
            "checkout",
            body,
            A_ORDER,
            lambda claim: checkout.checkout(self.ctx, self.principal, body, claim),
        )

    def get_order(self, order_id: int) -> OrderRead:
        return orders.get_order(self.ctx, self.principal, order_id)

    def list_orders(
        self, *, status: OrderStatus | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page[OrderRead]:
        return orders.list_orders(
            self.ctx, self.principal, status=status, cursor=cursor, limit=limit
        )

    def transition_order(self, order_id: int, to: OrderStatus) -> OrderRead:
        return orders.transition_order(self.ctx, self.principal, order_id, to)

    def cancel_order(self, order_id: int) -> OrderRead:
        return orders.cancel_order(self.ctx, self.principal, order_id)

    def return_order(
        self, order_id: int, body: ReturnCreate, *, idempotency_key: str | None = None
    ) -> OrderRead:
        return self._idem(
            idempotency_key,
            f"return_order:{order_id}",
            body,
            A_ORDER,
            lambda: orders.return_order(self.ctx, self.principal, order_id, body),
        )

    # ---- housekeeping ----------------------------------------------------------------
    def expire_reservations(self) -> int:
        return carts.expire_reservations(self.ctx, self.principal)

    def expire_unpaid_orders(self) -> int:
        return orders.expire_unpaid_orders(self.ctx, self.principal)

    # ---- policies (defaults from SHOPSPHERE_* settings; a request may name its policy) -----
    def plan_replenishment(self, body: ReplenishmentPlanRequest) -> ReplenishmentPlan:
        from api.services import policy_serving

        return policy_serving.plan_replenishment(self.ctx, self.principal, body)

    def quote_prices(
        self, body: PriceQuoteRequest, *, idempotency_key: str | None = None
    ) -> PriceQuote:
        from api.services import policy_serving

        return self._idem(
            idempotency_key,
            "pricing_quote",
            body,
            policy_serving.A_QUOTE,
            lambda: policy_serving.quote_prices(self.ctx, self.principal, body),
        )
