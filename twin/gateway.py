"""The twin's door for online orders: the one place that turns the twin's order intents into
commerce API calls.

Every call still goes through :class:`~api.client.base.CommerceClient`. Callers hand over
whole slices of orders and get one result per item back; how they reach the API is decided
here only:

* a single intent (per-session mode) costs a cart, one call per line and a checkout, as a
  shopper's browser would make them;
* several intents (sliced mode) use the client's batch doors when it has them
  (``batch_create_carts`` with the lines inline, then ``batch_checkout``: two calls per slice
  of up to :data:`BATCH_ITEMS` orders), and fall back to the single calls otherwise;
* transitions of several orders use ``batch_transition_orders`` likewise.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from api.client.base import CommerceClient, CommerceError
from api.schemas import CartCreate, CartLineSet, Channel, CheckoutRequest, OrderStatus

__all__ = ["OrderGateway", "OrderIntent", "OrderOutcome"]

logger = logging.getLogger(__name__)

BATCH_ITEMS = 1000
"""Items per batch call (the API's limit)."""


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """One shopper's online order: where it is fulfilled from and what it holds.

    Attributes:
        location: code of the fulfilling warehouse (stock is reserved there).
        channel: web or app.
        customer_id: the customer's API id.
        lines: ``(sku code, units)`` pairs, SKUs distinct.
    """

    location: str
    channel: Channel
    customer_id: str
    lines: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What the API did with one intent.

    Attributes:
        order_id: the placed order's id, or None when checkout was refused.
        total_cents: the order total (0 when refused).
        accepted: for each line of the intent, whether it is in the order.
        failures: refused calls (lines or the checkout) for the ``checkout_failures`` count.
    """

    order_id: int | None
    total_cents: int
    accepted: tuple[bool, ...]
    failures: int


class OrderGateway:
    """Places online orders and moves them through their states, many at a time.

    Args:
        client: the commerce client (normally the twin's recording client).
    """

    def __init__(self, client: CommerceClient) -> None:
        self.client = client

    def _batch(self, name: str) -> Callable[[list[Any]], Any] | None:
        fn = getattr(self.client, name, None)
        return fn if callable(fn) else None

    def place(self, intents: Sequence[OrderIntent]) -> list[OrderOutcome]:
        """Place each intent as an order; one outcome per intent, in order."""
        carts, checkout = self._batch("batch_create_carts"), self._batch("batch_checkout")
        if len(intents) <= 1 or carts is None or checkout is None:
            return [self._place_one(it) for it in intents]
        out: list[OrderOutcome] = []
        for k in range(0, len(intents), BATCH_ITEMS):
            out.extend(self._place_batch(intents[k : k + BATCH_ITEMS], carts, checkout))
        return out

    def _place_batch(
        self,
        intents: Sequence[OrderIntent],
        carts: Callable[[list[Any]], Any],
        checkout: Callable[[list[Any]], Any],
    ) -> list[OrderOutcome]:
        """Open every cart with its lines in one call, then check them all out in one call."""
        sb = importlib.import_module("api.schemas_batch")
        opened = carts(
            [
                sb.CartOpen(
                    channel=it.channel,
                    location=it.location,
                    customer_id=it.customer_id,
                    lines=[CartLineSet(sku=sku, quantity=q) for sku, q in it.lines],
                )
                for it in intents
            ]
        ).items
        ok = [i for i, r in enumerate(opened) if r.ok]
        paid = (
            checkout(
                [
                    sb.CheckoutItem(
                        cart_id=opened[i].value.id,
                        idempotency_key=f"checkout-{opened[i].value.id}",
                    )
                    for i in ok
                ]
            ).items
            if ok
            else []
        )
        result = dict(zip(ok, paid, strict=True))
        out: list[OrderOutcome] = []
        for i, it in enumerate(intents):
            none = tuple(False for _ in it.lines)
            r = result.get(i)
            if r is None:  # the cart was refused (all or nothing)
                out.append(OrderOutcome(None, 0, none, len(it.lines)))
            elif not r.ok:
                out.append(OrderOutcome(None, 0, none, 1))
            else:
                order = r.value
                out.append(
                    OrderOutcome(order.id, order.total_cents, tuple(True for _ in it.lines), 0)
                )
        return out

    def _place_one(self, it: OrderIntent) -> OrderOutcome:
        c = self.client
        cart = c.create_cart(
            CartCreate(channel=it.channel, location=it.location, customer_id=it.customer_id)
        )
        accepted: list[bool] = []
        failures = 0
        for sku, q in it.lines:
            try:
                c.set_cart_line(cart.id, CartLineSet(sku=sku, quantity=q))
                accepted.append(True)
            except CommerceError:
                accepted.append(False)
                failures += 1
        if not any(accepted):
            return OrderOutcome(None, 0, tuple(accepted), failures)
        try:
            order = c.checkout(
                CheckoutRequest(cart_id=cart.id), idempotency_key=f"checkout-{cart.id}"
            )
        except CommerceError:
            return OrderOutcome(None, 0, tuple(False for _ in accepted), failures + 1)
        return OrderOutcome(order.id, order.total_cents, tuple(accepted), failures)

    def transition(self, order_ids: Sequence[int], to: OrderStatus) -> list[bool]:
        """Move each order to ``to``; True where the API accepted it."""
        batch = self._batch("batch_transition_orders")
        if len(order_ids) > 1 and batch is not None:
            sb = importlib.import_module("api.schemas_batch")
            done: list[bool] = []
            for k in range(0, len(order_ids), BATCH_ITEMS):
                items = [
                    sb.TransitionItem(order_id=o, to=to) for o in order_ids[k : k + BATCH_ITEMS]
                ]
                done.extend(bool(r.ok) for r in batch(items).items)
            return done
        ok: list[bool] = []
        for oid in order_ids:
            try:
                self.client.transition_order(oid, to)
                ok.append(True)
            except CommerceError:
                logger.warning("order %s refused the transition to %s", oid, to)
                ok.append(False)
        return ok

    def ship(self, order_ids: Sequence[int]) -> list[bool]:
        """Allocate then ship each order; True where both transitions were accepted."""
        allocated = self.transition(order_ids, OrderStatus.ALLOCATED)
        ids = [o for o, a in zip(order_ids, allocated, strict=True) if a]
        shipped = iter(self.transition(ids, OrderStatus.SHIPPED))
        return [next(shipped) if a else False for a in allocated]
