"""An in-memory CommerceClient fake with the ledger semantics the twin relies on.

As in the service: cart lines reserve stock, an order holds its reservation until it ships,
and shipping turns it into a SALE movement.

Used by the twin's unit tests (fast, no database). The contract tests of the real clients
live with the API; the twin's integration tests run against the real in-process client.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from api.client.base import CommerceError
from api.clock import Clock
from api.schemas import (
    AdjustmentCreate,
    CartCreate,
    CartLineRead,
    CartLineSet,
    CartRead,
    CategoryCreate,
    CategoryRead,
    Channel,
    CheckoutRequest,
    ImportResult,
    LineError,
    LocationCreate,
    LocationRead,
    MovementKind,
    MovementRead,
    OrderLineRead,
    OrderRead,
    OrderStatus,
    Page,
    PaymentRead,
    PosSaleBatch,
    PosSaleResult,
    PriceBulkResult,
    PriceRead,
    PriceSet,
    ReceiptCreate,
    ReturnCreate,
    SearchQuery,
    SkuImportRow,
    SkuRead,
    StockLevel,
    StockLine,
    StockQuery,
    TransferCreate,
)


class FakeCommerce:
    """Just enough commerce, in dictionaries: stock can never go below reserved."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.skus: dict[str, SkuRead] = {}
        self.locations: dict[str, LocationRead] = {}
        self.prices: dict[tuple[str, str], int] = {}
        self.on_hand: dict[tuple[str, str], int] = defaultdict(int)
        self.reserved: dict[tuple[str, str], int] = defaultdict(int)
        self.moves: list[MovementRead] = []
        self.carts: dict[int, dict] = {}
        self.orders: dict[int, OrderRead] = {}

    def _move(
        self, sku: str, loc: str, kind: MovementKind, q: int, ref: str | None
    ) -> MovementRead:
        m = MovementRead(
            id=len(self.moves) + 1,
            sku=sku,
            location=loc,
            kind=kind,
            quantity=q,
            reference=ref,
            created_at=self.clock.now(),
        )
        self.moves.append(m)
        self.on_hand[(sku, loc)] += q
        return m

    def _avail(self, sku: str, loc: str) -> int:
        return self.on_hand[(sku, loc)] - self.reserved[(sku, loc)]

    def create_category(self, body: CategoryCreate) -> CategoryRead:
        return CategoryRead(code=body.code, name=body.name, parent_code=body.parent_code)

    def import_skus(self, rows: Sequence[SkuImportRow]) -> ImportResult:
        for r in rows:
            self.skus[r.sku] = SkuRead(
                sku=r.sku,
                product=r.product,
                name=r.name,
                category=r.category,
                cost_cents=r.cost_cents,
                list_price_cents=r.list_price_cents,
            )
        return ImportResult(created=len(rows), updated=0)

    def get_sku(self, sku: str) -> SkuRead:
        return self.skus[sku]

    def search(self, query: SearchQuery) -> Page[SkuRead]:
        items = [s for s in self.skus.values() if query.category in (None, s.category)]
        return Page[SkuRead](items=items[: query.limit])

    def create_location(self, body: LocationCreate) -> LocationRead:
        loc = LocationRead(
            code=body.code, kind=body.kind, name=body.name, lat=body.lat, lon=body.lon
        )
        self.locations[body.code] = loc
        return loc

    def list_locations(self) -> list[LocationRead]:
        return list(self.locations.values())

    def stock_levels(self, query: StockQuery) -> list[StockLevel]:
        return [
            StockLevel(
                sku=s,
                location=loc,
                on_hand=q,
                reserved=self.reserved[(s, loc)],
                available=q - self.reserved[(s, loc)],
            )
            for (s, loc), q in sorted(self.on_hand.items())
            if (query.skus is None or s in query.skus)
            and (query.locations is None or loc in query.locations)
        ]

    def receive(
        self, body: ReceiptCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]:
        return [
            self._move(ln.sku, body.location, MovementKind.RECEIPT, ln.quantity, body.reference)
            for ln in body.lines
        ]

    def transfer(
        self, body: TransferCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]:
        for ln in body.lines:
            if self._avail(ln.sku, body.from_location) < ln.quantity:
                raise CommerceError("INSUFFICIENT_STOCK", f"{ln.sku} short", status=409)
        out = []
        for ln in body.lines:
            out.append(
                self._move(
                    ln.sku,
                    body.from_location,
                    MovementKind.TRANSFER_OUT,
                    -ln.quantity,
                    body.reference,
                )
            )
            out.append(
                self._move(
                    ln.sku, body.to_location, MovementKind.TRANSFER_IN, ln.quantity, body.reference
                )
            )
        return out

    def adjust(self, body: AdjustmentCreate, *, idempotency_key: str | None = None) -> MovementRead:
        if self._avail(body.sku, body.location) + body.delta < 0:
            raise CommerceError("INSUFFICIENT_STOCK", "short", status=409)
        return self._move(body.sku, body.location, MovementKind.ADJUSTMENT, body.delta, body.reason)

    def pos_sales(self, body: PosSaleBatch, *, idempotency_key: str | None = None) -> PosSaleResult:
        acc, rej, rev = [], [], 0
        for s in body.sales:
            a = self._avail(s.sku, body.location)
            if a < s.quantity:
                rej.append(
                    LineError(
                        sku=s.sku, code="INSUFFICIENT_STOCK", requested=s.quantity, available=a
                    )
                )
                continue
            self._move(s.sku, body.location, MovementKind.SALE, -s.quantity, body.reference)
            price = (
                s.unit_price_cents
                if s.unit_price_cents is not None
                else self.prices[(s.sku, "store")]
            )
            rev += price * s.quantity
            acc.append(StockLine(sku=s.sku, quantity=s.quantity))
        return PosSaleResult(accepted=acc, rejected=rej, revenue_cents=rev)

    def movements(
        self,
        *,
        sku: str | None = None,
        location: str | None = None,
        cursor: str | None = None,
        limit: int = 500,
    ) -> Page[MovementRead]:
        start = int(cursor or 0)
        sel = [m for m in self.moves if sku in (None, m.sku) and location in (None, m.location)]
        nxt = str(start + limit) if start + limit < len(sel) else None
        return Page[MovementRead](items=sel[start : start + limit], next_cursor=nxt)

    def set_prices(self, prices: Sequence[PriceSet]) -> PriceBulkResult:
        for p in prices:
            self.prices[(p.sku, str(p.channel))] = p.price_cents
        return PriceBulkResult(updated=len(prices))

    def get_prices(self, skus: Sequence[str], channel: str) -> list[PriceRead]:
        return [
            PriceRead(
                sku=s,
                channel=Channel(channel),
                price_cents=self.prices[(s, str(channel))],
                valid_from=self.clock.now(),
                valid_to=None,
            )
            for s in skus
        ]

    def _cart(self, cid: int) -> CartRead:
        c = self.carts[cid]
        lines = [
            CartLineRead(sku=s, quantity=q, unit_price_cents=p) for s, (q, p) in c["lines"].items()
        ]
        return CartRead(
            id=cid,
            customer_id=c["customer"],
            channel=c["channel"],
            location=c["location"],
            status=c["status"],
            lines=lines,
            total_cents=sum(q * p for q, p in c["lines"].values()),
            expires_at=self.clock.now(),
        )

    def create_cart(self, body: CartCreate, *, idempotency_key: str | None = None) -> CartRead:
        cid = len(self.carts) + 1
        self.carts[cid] = {
            "customer": body.customer_id or "anon",
            "channel": body.channel,
            "location": body.location,
            "status": "open",
            "lines": {},
        }
        return self._cart(cid)

    def set_cart_line(self, cart_id: int, body: CartLineSet) -> CartRead:
        c = self.carts[cart_id]
        key = (body.sku, c["location"])
        old = c["lines"].get(body.sku, (0, 0))[0]
        delta = body.quantity - old
        if delta > 0 and self._avail(*key) < delta:
            raise CommerceError("INSUFFICIENT_STOCK", f"{body.sku} short", status=409)
        self.reserved[key] += delta
        c["lines"][body.sku] = (body.quantity, self.prices[(body.sku, str(c["channel"]))])
        return self._cart(cart_id)

    def get_cart(self, cart_id: int) -> CartRead:
        return self._cart(cart_id)

    def checkout(self, body: CheckoutRequest, *, idempotency_key: str | None = None) -> OrderRead:
        c = self.carts[body.cart_id]
        lines = []
        for s, (q, p) in c["lines"].items():  # the reservation is held until the order ships
            lines.append(OrderLineRead(sku=s, quantity=q, unit_price_cents=p))
        c["status"] = "checked_out"
        oid = len(self.orders) + 1
        total = sum(ln.quantity * ln.unit_price_cents for ln in lines)
        now: datetime = self.clock.now()
        order = OrderRead(
            id=oid,
            customer_id=c["customer"],
            channel=c["channel"],
            location=c["location"],
            status=OrderStatus.PAID,
            lines=lines,
            total_cents=total,
            payment=PaymentRead(
                authorized_cents=total, captured_cents=total, refunded_cents=0, status="captured"
            ),
            created_at=now,
            updated_at=now,
        )
        self.orders[oid] = order
        return order

    def get_order(self, order_id: int) -> OrderRead:
        return self.orders[order_id]

    def list_orders(
        self, *, status: OrderStatus | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page[OrderRead]:
        return Page[OrderRead](
            items=[o for o in self.orders.values() if status in (None, o.status)][:limit]
        )

    def transition_order(self, order_id: int, to: OrderStatus) -> OrderRead:
        if to == OrderStatus.SHIPPED:
            o = self.orders[order_id]
            for ln in o.lines:
                self.reserved[(ln.sku, o.location)] -= ln.quantity
                self._move(ln.sku, o.location, MovementKind.SALE, -ln.quantity, f"order-{order_id}")
        o = self.orders[order_id].model_copy(update={"status": to, "updated_at": self.clock.now()})
        self.orders[order_id] = o
        return o

    def cancel_order(self, order_id: int) -> OrderRead:
        return self.transition_order(order_id, OrderStatus.CANCELLED)

    def return_order(
        self, order_id: int, body: ReturnCreate, *, idempotency_key: str | None = None
    ) -> OrderRead:
        o = self.orders[order_id]
        for ln in body.lines:
            self._move(ln.sku, o.location, MovementKind.RETURN, ln.quantity, f"return-{order_id}")
        return self.transition_order(order_id, OrderStatus.RETURNED)

    def expire_reservations(self) -> int:
        return 0

    def expire_unpaid_orders(self) -> int:
        return 0
