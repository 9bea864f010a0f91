"""An in-memory :class:`~api.client.base.CommerceClient` with the semantics the twin relies on.

As in the service: cart lines reserve stock (never beyond what is available), an order holds
its reservation until it ships, shipping turns it into a SALE movement, cancelling releases it;
orders follow the service's state machine; unknown carts, orders, SKUs and locations raise the
same typed errors; an ``Idempotency-Key`` replays the first outcome; batches give one result
per item. Payment always succeeds (captured at checkout). Fulfilment: allocation (the
service's own pure planner and carrier book), the shipment and RMA state machines with their
ledger movements and refunds; no delivery promise.

Used by unit tests that need no database (fast). ``tests/api/test_client_contract.py`` runs the
same scenario through this fake, the in-process client and the HTTP client and requires the
same results.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
    RmaLineRead,
    RmaRead,
    RmaStatus,
    RmaTransition,
    ShipmentKind,
    ShipmentLineRead,
    ShipmentRead,
    ShipmentStatus,
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
from api.services.allocation import Node, plan_allocation
from api.services.carriers import NODE_KINDS, active_carriers
from api.services.fulfilment import options_with_capacity
from api.services.orders import ALLOWED
from api.services.returns import ALLOWED as RMA_ALLOWED
from api.services.shipments import ALLOWED as SHIP_ALLOWED
from policies.routing.carriers import Origin, PromiseOption

R = TypeVar("R")
S = OrderStatus


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _cheapest(opts: Sequence[PromiseOption]) -> PromiseOption | None:
    """The option :func:`api.services.allocation._best_option` picks."""
    return min(opts, key=lambda o: (o.cost_cents, o.deliver_from, o.carrier), default=None)


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
        self.shipments: dict[int, ShipmentRead] = {}
        self.rmas: dict[int, RmaRead] = {}
        self.returned: dict[tuple[int, str], int] = defaultdict(int)  # (order, sku) -> units
        # live shipments per (carrier, promised day) and per (origin, day created), as counted
        # by the allocation queries
        self._booked: dict[tuple[str, str], int] = defaultdict(int)
        self._made: dict[tuple[str, str], int] = defaultdict(int)
        self._of_order: dict[int, list[int]] = defaultdict(list)

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
        if not self._cancel_shipments(order_id):
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

    # ---- fulfilment: allocation, shipments and returns (RMA), as in the services --------------
    def promise(self, body: PromiseRequest) -> PromiseRead:
        raise NotImplementedError("the fake serves no delivery promise")

    def cart_promise(self, cart_id: int, query: CartPromiseQuery) -> PromiseRead:
        raise NotImplementedError("the fake serves no delivery promise")

    def _order_ships(self, order_id: int) -> list[ShipmentRead]:
        return [self.shipments[i] for i in self._of_order.get(order_id, ())]

    def allocate_order(
        self, order_id: int, body: AllocationRequest, *, idempotency_key: str | None = None
    ) -> list[ShipmentRead]:
        """As :func:`api.services.allocation.allocate_order`, with the same pure planner."""
        return self._idem(
            idempotency_key,
            f"allocate_order:{order_id}",
            body,
            lambda: self._allocate(order_id, body),
        )

    def _allocate(self, order_id: int, body: AllocationRequest) -> list[ShipmentRead]:
        o = self.get_order(order_id)
        if o.status != S.PAID:
            existing = self._order_ships(order_id)
            if existing:
                return existing
            raise InvalidTransitionError(
                f"order {order_id} is {o.status.value}; only paid orders are allocated",
                details={"order_id": order_id, "from": o.status.value, "to": "allocated"},
            )
        if body.consolidate_at is not None and body.consolidate_at not in self.locations:
            raise NotFoundError(
                f"unknown location {body.consolidate_at!r}",
                details={"field": "consolidate_at", "value": body.consolidate_at},
            )
        book = active_carriers()
        w = book.allocation.weights
        if body.weights is not None:
            over = {k: v for k, v in body.weights.model_dump().items() if v is not None}
            w = w.model_copy(update=over)
        kinds = {k.value for k in body.kinds} if body.kinds else set(NODE_KINDS)
        # ids as the database hands them out: 1, 2, ... in creation order
        sku_id = {c: i + 1 for i, c in enumerate(self.skus)}
        code_of = {i: c for c, i in sku_id.items()}
        loc_id = {c: i + 1 for i, c in enumerate(self.locations)}
        want = {sku_id[ln.sku]: ln.quantity for ln in o.lines}
        nodes: dict[int, Node] = {}
        avail: dict[int, dict[int, int]] = defaultdict(dict)
        for code, loc in self.locations.items():
            if str(loc.kind) not in kinds:
                continue
            lid = loc_id[code]
            for sid in want:
                key = (code_of[sid], code)
                if key not in self.on_hand:
                    continue
                a = self._avail(*key) + (want[sid] if code == o.location else 0)
                if a > 0:
                    nodes[lid] = Node(lid, Origin(code, str(loc.kind), loc.lat, loc.lon))
                    avail[lid][sid] = a
        now = self.clock.now()
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        today = now.date().isoformat()
        capped = {c.name for c in book.carriers if c.capacity_per_day is not None}
        booked = {
            (c, d): n for (c, d), n in self._booked.items() if c in capped and d >= today and n
        }
        made_today = {o: n for (o, d), n in self._made.items() if d == today}
        caps = book.allocation.node_capacity_per_day
        util: dict[int, float] = {}
        for lid, n in nodes.items():
            cap = caps.get(n.origin.kind)  # type: ignore[call-overload]
            util[lid] = made_today.get(n.origin.code, 0) / cap if cap else 0.0
        picks = plan_allocation(book, w, body, want, nodes, avail, util, booked, now)
        for sid, q in want.items():
            self.reserved[(code_of[sid], o.location)] -= q
        for p in picks:
            for sid, q in p.take.items():
                self.reserved[(code_of[sid], p.node.origin.code)] += q
        self._set_status(o, S.ALLOCATED)

        def lines_of(take: dict[int, int]) -> dict[str, int]:
            return {code_of[s]: q for s, q in take.items()}

        hub = None if body.consolidate_at is None else self.locations[body.consolidate_at]
        if hub is not None and len(picks) > 1:
            hub_origin = Origin(hub.code, str(hub.kind), hub.lat, hub.lon)
            legs = []
            for p in picks:
                units = sum(p.take.values())
                opts = options_with_capacity(
                    book, booked, [p.node.origin], hub.lat, hub.lon, units, now
                )
                legs.append(_cheapest(opts) or p.option)
            last = max(leg.deliver_to for leg in legs)
            finals = options_with_capacity(
                book, booked, [hub_origin], body.lat, body.lon, sum(want.values()),
                max(now, last + timedelta(hours=1)),
            )  # fmt: skip
            final = _cheapest(finals)
            if final is None:
                raise InvalidInputError(
                    f"no carrier reaches the customer from {hub.code}",
                    details={"field": "consolidate_at", "value": hub.code},
                )
            merged = self._new_shipment(
                order_id, hub.code, ShipmentKind.MERGED, final, lines_of(want), None
            )
            for p, leg in zip(picks, legs, strict=True):
                self._new_shipment(
                    order_id, p.node.origin.code, ShipmentKind.LEG, leg, lines_of(p.take), merged
                )
        else:
            for p in picks:
                self._new_shipment(
                    order_id, p.node.origin.code, ShipmentKind.DIRECT, p.option,
                    lines_of(p.take), None,
                )  # fmt: skip
        return self._order_ships(order_id)

    def _new_shipment(
        self,
        order_id: int,
        origin: str,
        kind: ShipmentKind,
        opt: PromiseOption,
        lines: dict[str, int],
        merge_into: int | None,
    ) -> int:
        sid = len(self.shipments) + 1
        now = self.clock.now()
        self._count(opt.carrier, opt.deliver_from, origin, now, kind, +1)
        self._of_order[order_id].append(sid)
        self.shipments[sid] = ShipmentRead(
            id=sid,
            order_id=order_id,
            kind=kind,
            origin=origin,
            merge_into=merge_into,
            carrier=opt.carrier,
            mode=opt.mode.value,
            status=ShipmentStatus.ALLOCATED,
            attempts=0,
            lines=[ShipmentLineRead(sku=s, quantity=q) for s, q in sorted(lines.items())],
            distance_km=opt.distance_km,
            cost_cents=opt.cost_cents,
            co2_g=opt.co2_g,
            deliver_from=opt.deliver_from,
            deliver_to=opt.deliver_to,
            created_at=now,
            updated_at=now,
        )
        return sid

    def _count(
        self,
        carrier: str,
        deliver_from: datetime,
        origin: str,
        created: datetime,
        kind: ShipmentKind,
        n: int,
    ) -> None:
        if kind != ShipmentKind.LEG:
            self._booked[(carrier, _aware(deliver_from).date().isoformat())] += n
        self._made[(origin, _aware(created).date().isoformat())] += n

    def list_shipments(self, order_id: int) -> list[ShipmentRead]:
        self.get_order(order_id)
        return self._order_ships(order_id)

    def transition_shipment(
        self, shipment_id: int, body: ShipmentTransition, *, idempotency_key: str | None = None
    ) -> ShipmentRead:
        """As :func:`api.services.shipments.transition_shipment`, stock effects included."""
        return self._idem(
            idempotency_key,
            f"transition_shipment:{shipment_id}",
            body,
            lambda: self._ship_to(shipment_id, ShipmentStatus(body.to)),
        )

    def _ship_to(self, shipment_id: int, to: ShipmentStatus) -> ShipmentRead:
        cur = self.shipments.get(shipment_id)
        if cur is None:
            raise NotFoundError(
                f"shipment {shipment_id} not found", details={"shipment_id": shipment_id}
            )
        if cur.status == to:
            return cur
        if to == ShipmentStatus.PICKED and cur.kind == ShipmentKind.MERGED:
            waiting = [
                s.id
                for s in self._order_ships(cur.order_id)
                if s.merge_into == shipment_id and s.status != ShipmentStatus.DELIVERED
            ]
            if waiting:
                raise InvalidTransitionError(
                    f"shipment {shipment_id} merges leg {waiting[0]}, not yet at the "
                    "consolidation point",
                    details={"shipment_id": shipment_id, "waiting_for": waiting[0], "to": to.value},
                )
        if to not in SHIP_ALLOWED[cur.status]:
            raise InvalidTransitionError(
                f"shipment {shipment_id} cannot go from {cur.status.value} to {to.value}",
                details={"shipment_id": shipment_id, "from": cur.status.value, "to": to.value},
            )
        new = cur.model_copy(
            update={
                "status": to,
                "attempts": cur.attempts + (1 if to == ShipmentStatus.FAILED else 0),
                "updated_at": self.clock.now(),
            }
        )
        self.shipments[shipment_id] = new
        ref = f"shipment-{shipment_id}"
        leaves = to == ShipmentStatus.SHIPPED and cur.status == ShipmentStatus.PACKED
        if leaves and cur.kind != ShipmentKind.MERGED:
            for ln in cur.lines:
                self.reserved[(ln.sku, cur.origin)] -= ln.quantity
                self._move(ln.sku, cur.origin, MovementKind.SALE, -ln.quantity, ref)
        if to == ShipmentStatus.RETURNED and cur.status == ShipmentStatus.FAILED:
            for ln in cur.lines:
                self._move(ln.sku, cur.origin, MovementKind.RETURN, ln.quantity, ref)
        self._sync_order(cur.order_id)
        return new

    def _sync_order(self, order_id: int) -> None:
        live = [s for s in self._order_ships(order_id) if s.status != ShipmentStatus.CANCELLED]
        if not live:
            return
        unshipped = (ShipmentStatus.ALLOCATED, ShipmentStatus.PICKED, ShipmentStatus.PACKED)
        o = self.orders[order_id]
        if o.status == S.ALLOCATED and all(
            s.status not in unshipped for s in live if s.kind != ShipmentKind.MERGED
        ):
            o = self._set_status(o, S.SHIPPED)
        if o.status == S.SHIPPED and all(
            s.status in (ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED)
            for s in live
            if s.kind != ShipmentKind.LEG
        ):
            self._set_status(o, S.DELIVERED)

    def _cancel_shipments(self, order_id: int) -> bool:
        """Cancel an order's unshipped shipments, releasing their reservations at the origins;
        False when the order has none. Raises InvalidTransitionError when one has left."""
        ships = self._order_ships(order_id)
        if not ships:
            return False
        unshipped = (ShipmentStatus.ALLOCATED, ShipmentStatus.PICKED, ShipmentStatus.PACKED)
        gone = [s.id for s in ships if s.status not in (*unshipped, ShipmentStatus.CANCELLED)]
        if gone:
            raise InvalidTransitionError(
                f"order {order_id} has shipments on their way ({gone[:5]}); it cannot be cancelled",
                details={"order_id": order_id, "shipments": gone[:20], "to": "cancelled"},
            )
        now = self.clock.now()
        for s in ships:
            if s.status in unshipped:
                if s.kind != ShipmentKind.MERGED:
                    for ln in s.lines:
                        self.reserved[(ln.sku, s.origin)] -= ln.quantity
                self.shipments[s.id] = s.model_copy(
                    update={"status": ShipmentStatus.CANCELLED, "updated_at": now}
                )
                self._count(s.carrier, s.deliver_from, s.origin, s.created_at, s.kind, -1)
        return True

    def create_rma(
        self, order_id: int, body: RmaCreate, *, idempotency_key: str | None = None
    ) -> RmaRead:
        """As :func:`api.services.returns.create_rma`."""
        return self._idem(
            idempotency_key, f"create_rma:{order_id}", body, lambda: self._rma(order_id, body)
        )

    def _rma(self, order_id: int, body: RmaCreate) -> RmaRead:
        o = self.get_order(order_id)
        if o.status not in (S.DELIVERED, S.RETURNED):
            raise InvalidTransitionError(
                f"order {order_id} is {o.status.value}; only delivered orders take returns",
                details={"order_id": order_id, "from": o.status.value, "to": "returned"},
            )
        bought = {ln.sku: ln for ln in o.lines}
        want: dict[str, int] = defaultdict(int)
        for i, ln in enumerate(body.lines):
            if ln.sku not in bought:
                raise InvalidInputError(
                    f"lines[{i}].sku {ln.sku!r} is not on order {order_id}",
                    details={"field": f"lines[{i}].sku", "value": ln.sku},
                )
            want[ln.sku] += ln.quantity
        for sku, q in sorted(want.items()):
            if self.returned[(order_id, sku)] + q > bought[sku].quantity:
                raise InvalidInputError(
                    f"returning {q} exceeds the units left to return of {bought[sku].quantity}",
                    details={"field": "lines.quantity", "value": q},
                )
        for sku, q in want.items():
            self.returned[(order_id, sku)] += q
        now = self.clock.now()
        rid = len(self.rmas) + 1
        self.rmas[rid] = RmaRead(
            id=rid,
            order_id=order_id,
            status=RmaStatus.REQUESTED,
            reason=body.reason,
            location=None,
            lines=[
                RmaLineRead(
                    sku=s, quantity=q, unit_price_cents=bought[s].unit_price_cents, restock_qty=0
                )
                for s, q in sorted(want.items())
            ],
            refund_cents=0,
            created_at=now,
            updated_at=now,
        )
        return self.rmas[rid]

    def get_rma(self, rma_id: int) -> RmaRead:
        if rma_id not in self.rmas:
            raise NotFoundError(f"rma {rma_id} not found", details={"rma_id": rma_id})
        return self.rmas[rma_id]

    def transition_rma(
        self, rma_id: int, body: RmaTransition, *, idempotency_key: str | None = None
    ) -> RmaRead:
        """As :func:`api.services.returns.transition_rma`: ledger movements and the refund."""
        return self._idem(
            idempotency_key, f"transition_rma:{rma_id}", body, lambda: self._rma_to(rma_id, body)
        )

    def _rma_to(self, rma_id: int, body: RmaTransition) -> RmaRead:
        to = RmaStatus(body.to)
        cur = self.get_rma(rma_id)
        if cur.status == to:
            return cur
        if to not in RMA_ALLOWED[cur.status]:
            raise InvalidTransitionError(
                f"rma {rma_id} cannot go from {cur.status.value} to {to.value}",
                details={"rma_id": rma_id, "from": cur.status.value, "to": to.value},
            )
        upd: dict[str, object] = {"status": to, "updated_at": self.clock.now()}
        lines = list(cur.lines)
        if to == RmaStatus.RECEIVED:
            if body.location is None:
                raise InvalidInputError(
                    "receiving a return needs the location it arrived at",
                    details={"field": "location", "value": None},
                )
            upd["location"] = self._loc(body.location)
        if to == RmaStatus.INSPECTED:
            fit = {ln.sku: ln.quantity for ln in lines}
            if body.restock is not None:
                fit = dict.fromkeys(fit, 0)
                qty = {ln.sku: ln.quantity for ln in lines}
                for i, r in enumerate(body.restock):
                    if r.sku not in qty or fit[r.sku] + r.quantity > qty[r.sku]:
                        raise InvalidInputError(
                            f"restock[{i}]: {r.quantity} of {r.sku!r} is not on rma {rma_id}",
                            details={"field": f"restock[{i}]", "value": r.sku},
                        )
                    fit[r.sku] += r.quantity
            lines = [ln.model_copy(update={"restock_qty": fit[ln.sku]}) for ln in lines]
        if to in (RmaStatus.RESTOCKED, RmaStatus.WRITTEN_OFF):
            loc, ref = cur.location or "", f"rma-{rma_id}"
            every = to == RmaStatus.WRITTEN_OFF
            for ln in lines:
                self._move(ln.sku, loc, MovementKind.RETURN, ln.quantity, ref)
            for ln in lines:
                off = ln.quantity - (0 if every else ln.restock_qty)
                if off > 0:
                    self._move(ln.sku, loc, MovementKind.ADJUSTMENT, -off, ref + ":write-off")
            if every:
                lines = [ln.model_copy(update={"restock_qty": 0}) for ln in lines]
        refund = 0
        if to == RmaStatus.REFUNDED:
            refund = sum(ln.quantity * ln.unit_price_cents for ln in lines)
            o = self.orders[cur.order_id]
            sub = sum(ln.quantity * ln.unit_price_cents for ln in o.lines)
            if sub and o.total_cents < sub:  # the order's discounts shared over its lines
                refund = refund * o.total_cents // sub
            upd["refund_cents"] = refund
        upd["lines"] = lines
        new = cur.model_copy(update=upd)
        self.rmas[rma_id] = new
        if to == RmaStatus.REFUNDED:
            o = self.orders[cur.order_id]
            pay = o.payment
            if pay is not None and refund > 0:
                done = pay.refunded_cents + refund
                pay = pay.model_copy(
                    update={
                        "refunded_cents": done,
                        "status": "refunded" if done >= pay.captured_cents else "part_refunded",
                    }
                )
            o = self._set_status(
                o, S.RETURNED if o.status == S.DELIVERED else o.status, payment=pay
            )
            left = any(self.returned[(o.id, ln.sku)] < ln.quantity for ln in o.lines)
            open_rma = any(
                r.order_id == o.id and r.status != RmaStatus.REFUNDED for r in self.rmas.values()
            )
            if not left and not open_rma and o.status == S.RETURNED:
                self._set_status(o, S.REFUNDED)
        return new

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
