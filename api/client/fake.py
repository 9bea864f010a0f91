"""An in-memory :class:`~api.client.base.CommerceClient` with the semantics the twin relies on.

As in the service: cart lines reserve stock (never beyond what is available), an order holds
its reservation until it ships, shipping turns it into a SALE movement, cancelling releases it;
orders follow the service's state machine; unknown carts, orders, SKUs and locations raise the
same typed errors; an ``Idempotency-Key`` replays the first outcome; batches give one result
per item. Payment always succeeds (captured at checkout).

Used by unit tests that need no database (fast). ``tests/api/test_client_contract.py`` runs the
same scenario through this fake, the in-process client and the HTTP client and requires the
same results.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from api.client.base import CommerceError
from api.clock import Clock
from api.errors import (
    ConflictError,
    IdempotencyMismatchError,
    InsufficientStockError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
)
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
    StockLine,
    StockQuery,
    TransferCreate,
)
from api.schemas_batch import (
    MAX_BATCH_ITEMS,
    BatchResult,
    CartLineItem,
    CartOpen,
    CheckoutItem,
    ItemResult,
    TransitionItem,
    item_error,
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
    RecommendationItem,
    Recommendations,
    TrainResult,
    ViewBatch,
    VoucherSet,
)
from api.services.orders import ALLOWED

R = TypeVar("R")
S = OrderStatus


@dataclass(slots=True)
class _Cart:
    customer: str
    channel: Channel
    location: str
    status: str = "open"
    lines: dict[str, tuple[int, int]] = field(default_factory=dict)  # sku -> (qty, price)


class FakeCommerce:
    """Just enough commerce, in dictionaries: stock can never go below reserved."""

    def __init__(self, clock: Clock, reservation_ttl: timedelta = timedelta(seconds=900)) -> None:
        self.clock = clock
        self.reservation_ttl = reservation_ttl
        self.skus: dict[str, SkuRead] = {}
        self.locations: dict[str, LocationRead] = {}
        self.prices: dict[tuple[str, str], int] = {}
        self.on_hand: dict[tuple[str, str], int] = defaultdict(int)
        self.reserved: dict[tuple[str, str], int] = defaultdict(int)
        self.moves: list[MovementRead] = []
        self.carts: dict[int, _Cart] = {}
        self.orders: dict[int, OrderRead] = {}
        self.order_of_cart: dict[int, int] = {}
        self.keys: dict[tuple[str, str], tuple[str, object]] = {}
        self.promotions: dict[int, PromotionRead] = {}

    # ---- helpers -----------------------------------------------------------------------------
    def _idem(self, key: str | None, scope: str, body: object, fn: Callable[[], R]) -> R:
        if key is None:
            return fn()
        stored = self.keys.get((scope, key))
        if stored is not None:
            if stored[0] != repr(body):
                raise IdempotencyMismatchError(
                    f"Idempotency-Key {key!r} was already used with a different request",
                    details={"key": key},
                )
            if isinstance(stored[1], CommerceError):
                raise stored[1]
            return stored[1]  # type: ignore[return-value]
        try:
            out = fn()
        except CommerceError as exc:
            self.keys[(scope, key)] = (repr(body), exc)
            raise
        self.keys[(scope, key)] = (repr(body), out)
        return out

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
        return self.on_hand.get((sku, loc), 0) - self.reserved.get((sku, loc), 0)

    def _sku(self, sku: str) -> SkuRead:
        if sku not in self.skus:
            raise NotFoundError(f"unknown sku {sku!r}", details={"sku": sku})
        return self.skus[sku]

    def _loc(self, code: str) -> str:
        if code not in self.locations:
            raise NotFoundError(f"unknown location {code!r}", details={"location": code})
        return code

    def _price(self, sku: str, channel: str) -> int:
        return self.prices.get((sku, str(channel)), self._sku(sku).list_price_cents)

    def _short(self, sku: str, requested: int, available: int) -> InsufficientStockError:
        return InsufficientStockError(
            f"only {available} of {sku} available at this location",
            details=[
                LineError(
                    sku=sku, code="INSUFFICIENT_STOCK", requested=requested, available=available
                ).model_dump()
            ],
        )

    # ---- catalog -----------------------------------------------------------------------------
    def create_category(self, body: CategoryCreate) -> CategoryRead:
        return CategoryRead(code=body.code, name=body.name, parent_code=body.parent_code)

    def import_skus(self, rows: Sequence[SkuImportRow]) -> ImportResult:
        existing = sum(1 for r in {r.sku for r in rows} if r in self.skus)
        for r in rows:
            self.skus[r.sku] = SkuRead(
                sku=r.sku,
                product=r.product,
                name=r.name,
                category=r.category,
                cost_cents=r.cost_cents,
                list_price_cents=r.list_price_cents,
            )
        return ImportResult(created=len({r.sku for r in rows}) - existing, updated=existing)

    def get_sku(self, sku: str) -> SkuRead:
        return self._sku(sku)

    def search(self, query: SearchQuery) -> Page[SkuRead]:
        items = [s for s in self.skus.values() if query.category in (None, s.category)]
        return Page[SkuRead](items=items[: query.limit])

    # ---- locations ---------------------------------------------------------------------------
    def create_location(self, body: LocationCreate) -> LocationRead:
        loc = LocationRead(
            code=body.code, kind=body.kind, name=body.name, lat=body.lat, lon=body.lon
        )
        self.locations[body.code] = loc
        return loc

    def list_locations(self) -> list[LocationRead]:
        return sorted(self.locations.values(), key=lambda loc: loc.code)

    # ---- stock -------------------------------------------------------------------------------
    def stock_levels(self, query: StockQuery) -> list[StockLevel]:
        return [
            StockLevel(
                sku=s,
                location=loc,
                on_hand=q,
                reserved=self.reserved.get((s, loc), 0),
                available=q - self.reserved.get((s, loc), 0),
            )
            for (s, loc), q in sorted(self.on_hand.items())
            if (query.skus is None or s in query.skus)
            and (query.locations is None or loc in query.locations)
        ]

    def receive(
        self, body: ReceiptCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]:
        def run() -> list[MovementRead]:
            self._loc(body.location)
            for ln in body.lines:
                self._sku(ln.sku)
            return [
                self._move(ln.sku, body.location, MovementKind.RECEIPT, ln.quantity, body.reference)
                for ln in body.lines
            ]

        return self._idem(idempotency_key, "receive", body, run)

    def transfer(
        self, body: TransferCreate, *, idempotency_key: str | None = None
    ) -> list[MovementRead]:
        def run() -> list[MovementRead]:
            for ln in body.lines:
                if self._avail(ln.sku, body.from_location) < ln.quantity:
                    raise self._short(ln.sku, ln.quantity, self._avail(ln.sku, body.from_location))
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
                        ln.sku,
                        body.to_location,
                        MovementKind.TRANSFER_IN,
                        ln.quantity,
                        body.reference,
                    )
                )
            return out

        return self._idem(idempotency_key, "transfer", body, run)

    def adjust(self, body: AdjustmentCreate, *, idempotency_key: str | None = None) -> MovementRead:
        def run() -> MovementRead:
            if self._avail(body.sku, body.location) + body.delta < 0:
                raise self._short(body.sku, -body.delta, self._avail(body.sku, body.location))
            return self._move(
                body.sku, body.location, MovementKind.ADJUSTMENT, body.delta, body.reason
            )

        return self._idem(idempotency_key, "adjust", body, run)

    def pos_sales(self, body: PosSaleBatch, *, idempotency_key: str | None = None) -> PosSaleResult:
        def run() -> PosSaleResult:
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
                price = s.unit_price_cents
                if price is None:
                    price = self._price(s.sku, "store")
                rev += price * s.quantity
                acc.append(StockLine(sku=s.sku, quantity=s.quantity))
            return PosSaleResult(accepted=acc, rejected=rej, revenue_cents=rev)

        return self._idem(idempotency_key, "pos_sales", body, run)

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

    # ---- prices ------------------------------------------------------------------------------
    def set_prices(self, prices: Sequence[PriceSet]) -> PriceBulkResult:
        for p in prices:
            self._sku(p.sku)
            self.prices[(p.sku, str(p.channel))] = p.price_cents
        return PriceBulkResult(updated=len(prices))

    def get_prices(self, skus: Sequence[str], channel: str) -> list[PriceRead]:
        return [
            PriceRead(
                sku=s,
                channel=Channel(channel),
                price_cents=self._price(s, channel),
                valid_from=self.clock.now(),
                valid_to=None,
            )
            for s in skus
        ]

    # ---- carts -------------------------------------------------------------------------------
    def _cart_read(self, cid: int) -> CartRead:
        c = self.carts[cid]
        lines = [
            CartLineRead(sku=s, quantity=q, unit_price_cents=p)
            for s, (q, p) in sorted(c.lines.items())
        ]
        return CartRead(
            id=cid,
            customer_id=c.customer,
            channel=c.channel,
            location=c.location,
            status=c.status,  # type: ignore[arg-type]
            lines=lines,
            total_cents=sum(q * p for q, p in c.lines.values()),
            expires_at=self.clock.now() + self.reservation_ttl,
        )

    def _open_cart(self, cart_id: int) -> _Cart:
        c = self.carts.get(cart_id)
        if c is None:
            raise NotFoundError(f"cart {cart_id} not found", details={"cart_id": cart_id})
        if c.status != "open":
            raise ConflictError(
                f"cart {cart_id} is {c.status}", details={"cart_id": cart_id, "status": c.status}
            )
        return c

    def create_cart(self, body: CartCreate, *, idempotency_key: str | None = None) -> CartRead:
        def run() -> CartRead:
            self._loc(body.location)
            cid = len(self.carts) + 1
            self.carts[cid] = _Cart(body.customer_id or "anon", body.channel, body.location)
            return self._cart_read(cid)

        return self._idem(idempotency_key, "create_cart", body, run)

    def set_cart_line(self, cart_id: int, body: CartLineSet) -> CartRead:
        c = self._open_cart(cart_id)
        self._sku(body.sku)
        key = (body.sku, c.location)
        held = c.lines.get(body.sku, (0, 0))[0]
        delta = body.quantity - held
        if delta > 0 and self._avail(*key) < delta:
            raise self._short(body.sku, body.quantity, self._avail(*key) + held)
        self.reserved[key] = self.reserved.get(key, 0) + delta
        if body.quantity == 0:
            c.lines.pop(body.sku, None)
        else:
            c.lines[body.sku] = (body.quantity, self._price(body.sku, c.channel))
        return self._cart_read(cart_id)

    def get_cart(self, cart_id: int) -> CartRead:
        if cart_id not in self.carts:
            raise NotFoundError(f"cart {cart_id} not found", details={"cart_id": cart_id})
        return self._cart_read(cart_id)

    # ---- checkout and orders -----------------------------------------------------------------
    def checkout(self, body: CheckoutRequest, *, idempotency_key: str | None = None) -> OrderRead:
        return self._idem(idempotency_key, "checkout", body, lambda: self._checkout(body))

    def _checkout(self, body: CheckoutRequest) -> OrderRead:
        if body.cart_id is None:
            return self._express(body)
        c = self.carts.get(body.cart_id)
        if c is None:
            raise NotFoundError(f"cart {body.cart_id} not found", details={"cart_id": body.cart_id})
        if body.cart_id in self.order_of_cart:
            order = self.orders[self.order_of_cart[body.cart_id]]
            if order.status in (S.CANCELLED, S.PAYMENT_FAILED):
                raise ConflictError(
                    f"order {order.id} is {order.status.value} and can no longer be paid",
                    code="ORDER_NOT_PAID",
                    details={"order_id": order.id, "status": order.status.value},
                )
            return order
        if c.status not in ("open", "expired"):
            raise ConflictError(
                f"cart {body.cart_id} is {c.status}", details={"cart_id": body.cart_id}
            )
        if not c.lines:
            raise InvalidInputError(
                f"cart {body.cart_id} is empty", details={"field": "cart_id", "value": body.cart_id}
            )
        c.status = "checked_out"  # the reservation is held until the order ships
        order = self._order(c.customer, c.channel, c.location, c.lines)
        self.order_of_cart[body.cart_id] = order.id
        return order

    def _express(self, body: CheckoutRequest) -> OrderRead:
        assert body.lines is not None and body.location is not None and body.channel is not None
        self._loc(body.location)
        qty: dict[str, int] = defaultdict(int)
        for ln in body.lines:
            self._sku(ln.sku)
            qty[ln.sku] += ln.quantity
        short = [
            LineError(
                sku=s,
                code="INSUFFICIENT_STOCK",
                requested=q,
                available=self._avail(s, body.location),
            ).model_dump()
            for s, q in sorted(qty.items())
            if self._avail(s, body.location) < q
        ]
        if short:
            raise InsufficientStockError(
                f"{len(short)} line(s) are out of stock", details=list[object](short)
            )
        for s, q in qty.items():
            self.reserved[(s, body.location)] = self.reserved.get((s, body.location), 0) + q
        lines = {s: (q, self._price(s, body.channel)) for s, q in qty.items()}
        return self._order(body.customer_id or "anon", body.channel, body.location, lines)

    def _order(
        self, customer: str, channel: Channel, location: str, lines: dict[str, tuple[int, int]]
    ) -> OrderRead:
        rows = [
            OrderLineRead(sku=s, quantity=q, unit_price_cents=p)
            for s, (q, p) in sorted(lines.items())
        ]
        oid = len(self.orders) + 1
        total = sum(ln.quantity * ln.unit_price_cents for ln in rows)
        now = self.clock.now()
        order = OrderRead(
            id=oid,
            customer_id=customer,
            channel=channel,
            location=location,
            status=OrderStatus.PAID,
            lines=rows,
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
        if order_id not in self.orders:
            raise NotFoundError(f"order {order_id} not found", details={"order_id": order_id})
        return self.orders[order_id]

    def list_orders(
        self, *, status: OrderStatus | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page[OrderRead]:
        newest = sorted(self.orders.values(), key=lambda o: -o.id)
        return Page[OrderRead](items=[o for o in newest if status in (None, o.status)][:limit])

    def _set_status(self, o: OrderRead, to: OrderStatus, **extra: object) -> OrderRead:
        new = o.model_copy(update={"status": to, "updated_at": self.clock.now(), **extra})
        self.orders[o.id] = new
        return new

    def transition_order(self, order_id: int, to: OrderStatus) -> OrderRead:
        to = OrderStatus(to)
        if to == S.CANCELLED:
            return self.cancel_order(order_id)
        o = self.get_order(order_id)
        if to not in (S.ALLOCATED, S.SHIPPED, S.DELIVERED):
            raise InvalidTransitionError(
                f"{to.value} is reached through checkout, cancel or return",
                details={"order_id": order_id, "to": to.value},
            )
        if to not in ALLOWED[o.status]:
            raise InvalidTransitionError(
                f"order {order_id} cannot go from {o.status.value} to {to.value}",
                details={"order_id": order_id, "from": o.status.value, "to": to.value},
            )
        if to == S.SHIPPED:
            for ln in o.lines:
                self.reserved[(ln.sku, o.location)] = (
                    self.reserved.get((ln.sku, o.location), 0) - ln.quantity
                )
                self._move(ln.sku, o.location, MovementKind.SALE, -ln.quantity, f"order-{order_id}")
        return self._set_status(o, to)

    def cancel_order(self, order_id: int) -> OrderRead:
        o = self.get_order(order_id)
        if S.CANCELLED not in ALLOWED[o.status]:
            raise InvalidTransitionError(
                f"order {order_id} cannot go from {o.status.value} to cancelled",
                details={"order_id": order_id, "from": o.status.value, "to": "cancelled"},
            )
        for ln in o.lines:
            self.reserved[(ln.sku, o.location)] -= ln.quantity
        pay = o.payment
        if pay is not None and pay.captured_cents > pay.refunded_cents:
            pay = pay.model_copy(
                update={"refunded_cents": pay.captured_cents, "status": "refunded"}
            )
        return self._set_status(o, S.CANCELLED, payment=pay)

    def return_order(
        self, order_id: int, body: ReturnCreate, *, idempotency_key: str | None = None
    ) -> OrderRead:
        def run() -> OrderRead:
            o = self.get_order(order_id)
            for ln in body.lines:
                if body.restock:
                    self._move(
                        ln.sku, o.location, MovementKind.RETURN, ln.quantity, f"order-{order_id}"
                    )
            return self._set_status(o, S.RETURNED)

        return self._idem(idempotency_key, f"return_order:{order_id}", body, run)

    # ---- housekeeping and policies -----------------------------------------------------------
    def expire_reservations(self) -> int:
        return 0

    def expire_unpaid_orders(self) -> int:
        return 0

    # ---- fulfilment: not modelled by the fake (docs/fulfilment.md) ----------------------------
    def promise(self, body: PromiseRequest) -> PromiseRead:
        raise NotImplementedError("the fake serves no fulfilment")

    def cart_promise(self, cart_id: int, query: CartPromiseQuery) -> PromiseRead:
        raise NotImplementedError("the fake serves no fulfilment")

    def allocate_order(
        self, order_id: int, body: AllocationRequest, *, idempotency_key: str | None = None
    ) -> list[ShipmentRead]:
        raise NotImplementedError("the fake serves no fulfilment")

    def list_shipments(self, order_id: int) -> list[ShipmentRead]:
        raise NotImplementedError("the fake serves no fulfilment")

    def transition_shipment(
        self, shipment_id: int, body: ShipmentTransition, *, idempotency_key: str | None = None
    ) -> ShipmentRead:
        raise NotImplementedError("the fake serves no fulfilment")

    def create_rma(
        self, order_id: int, body: RmaCreate, *, idempotency_key: str | None = None
    ) -> RmaRead:
        raise NotImplementedError("the fake serves no fulfilment")

    def get_rma(self, rma_id: int) -> RmaRead:
        raise NotImplementedError("the fake serves no fulfilment")

    def transition_rma(
        self, rma_id: int, body: RmaTransition, *, idempotency_key: str | None = None
    ) -> RmaRead:
        raise NotImplementedError("the fake serves no fulfilment")

    def plan_replenishment(self, body: ReplenishmentPlanRequest) -> ReplenishmentPlan:
        raise NotImplementedError("the fake serves no policies")

    def quote_prices(
        self, body: PriceQuoteRequest, *, idempotency_key: str | None = None
    ) -> PriceQuote:
        raise NotImplementedError("the fake serves no policies")

    # ---- promotions and recommendations --------------------------------------------------------
    # The fake stores promotions but prices without them (orders carry no discounts), and
    # recommends by popularity: units sold per SKU, best first (ties: SKU code).
    def create_promotion(self, body: PromotionCreate) -> PromotionRead:
        pid = len(self.promotions) + 1
        read = PromotionRead(
            id=pid,
            name=body.name,
            kind=body.kind,
            code=body.code,
            percent_off=body.percent_off,
            amount_off_cents=body.amount_off_cents,
            bundle_qty=body.bundle_qty,
            bundle_price_cents=body.bundle_price_cents,
            skus=sorted(body.skus),
            channel=body.channel,
            min_subtotal_cents=body.min_subtotal_cents,
            valid_from=body.valid_from or self.clock.now(),
            valid_to=body.valid_to,
            max_uses=body.max_uses,
            max_uses_per_customer=body.max_uses_per_customer,
            uses=0,
            active=True,
        )
        self.promotions[pid] = read
        return read

    def set_cart_voucher(self, cart_id: int, body: VoucherSet) -> CartRead:
        self._open_cart(cart_id)
        return self._cart_read(cart_id).model_copy(update={"voucher": body.code})

    def recommendations(
        self, *, customer: str | None = None, sku: str | None = None, k: int = 10
    ) -> Recommendations:
        if sku is not None:
            self._sku(sku)
        sold: dict[str, int] = defaultdict(int)
        for o in self.orders.values():
            for ln in o.lines:
                sold[ln.sku] += ln.quantity
        best = sorted((s for s in sold if s != sku), key=lambda s: (-sold[s], s))[:k]
        return Recommendations(
            customer=customer,
            sku=sku,
            items=[RecommendationItem(sku=s, score=float(sold[s]), source="popular") for s in best],
            model_id=None,
        )

    def record_views(self, body: ViewBatch) -> int:
        for v in body.views:
            self._sku(v.sku)
        return len(body.views)

    def train_recommendations(self) -> TrainResult:
        return TrainResult(
            model_id=0, orders=len(self.orders), views=0, skus=len(self.skus), customers=0,
            factors=0, train_seconds=0.0,
        )  # fmt: skip

    # ---- batches -----------------------------------------------------------------------------
    def batch_create_carts(self, items: Sequence[CartOpen]) -> BatchResult[CartRead]:
        self._size(items)
        return BatchResult[CartRead](
            items=[self._each(lambda it=it: self._open(it)) for it in items]  # type: ignore[misc]
        )

    def _open(self, it: CartOpen) -> CartRead:
        body = it.model_copy(update={"idempotency_key": None})
        return self._idem(it.idempotency_key, "batch_create_cart", body, lambda: self._open_now(it))

    def _open_now(self, it: CartOpen) -> CartRead:
        self._loc(it.location)
        for ln in it.lines:
            self._sku(ln.sku)
        want: dict[str, int] = {}
        for ln in it.lines:
            want[ln.sku] = ln.quantity
        short = [
            LineError(
                sku=s, code="INSUFFICIENT_STOCK", requested=q, available=self._avail(s, it.location)
            ).model_dump()
            for s, q in want.items()
            if self._avail(s, it.location) < q
        ]
        if short:
            raise InsufficientStockError(
                f"{len(short)} line(s) of the cart are out of stock", details=list(short)
            )
        cart = self.create_cart(it.cart())
        for ln in it.lines:
            cart = self.set_cart_line(cart.id, ln)
        return cart

    def batch_set_cart_lines(self, items: Sequence[CartLineItem]) -> BatchResult[CartRead]:
        self._size(items)
        return BatchResult[CartRead](
            items=[
                self._each(
                    lambda it=it: self.set_cart_line(it.cart_id, it.line())  # type: ignore[misc]
                )
                for it in items
            ]
        )

    def batch_checkout(self, items: Sequence[CheckoutItem]) -> BatchResult[OrderRead]:
        self._size(items)
        return BatchResult[OrderRead](
            items=[
                self._each(
                    lambda it=it: self.checkout(  # type: ignore[misc]
                        it.request(), idempotency_key=it.idempotency_key
                    )
                )
                for it in items
            ]
        )

    def batch_transition_orders(self, items: Sequence[TransitionItem]) -> BatchResult[OrderRead]:
        self._size(items)
        return BatchResult[OrderRead](
            items=[
                self._each(lambda it=it: self.transition_order(it.order_id, it.to))  # type: ignore[misc]
                for it in items
            ]
        )

    @staticmethod
    def _size(items: Sequence[object]) -> None:
        if not 1 <= len(items) <= MAX_BATCH_ITEMS:
            raise InvalidInputError(
                f"a batch carries 1..{MAX_BATCH_ITEMS} items, not {len(items)}",
                details={"field": "items", "value": len(items)},
            )

    @staticmethod
    def _each(fn: Callable[[], R]) -> ItemResult[R]:
        try:
            return ItemResult[R](ok=True, value=fn())
        except CommerceError as exc:
            return ItemResult[R](ok=False, error=item_error(exc))
