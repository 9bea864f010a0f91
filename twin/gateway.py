"""The twin's door for online orders: the one place that turns the twin's order intents into
commerce API calls.

Every call still goes through :class:`~api.client.base.CommerceClient`. Today an intent costs
a cart, one call per line and a checkout, and a transition costs one call per order; when the
API's batch doors (many carts/checkouts or order transitions per call) are available, only the
bodies of :meth:`OrderGateway.place` and :meth:`OrderGateway.transition` change: callers already
hand over whole slices of orders and get one result per item back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from api.client.base import CommerceClient, CommerceError
from api.schemas import CartCreate, CartLineSet, Channel, CheckoutRequest, OrderStatus

__all__ = ["OrderGateway", "OrderIntent", "OrderOutcome"]

logger = logging.getLogger(__name__)


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

    def place(self, intents: Sequence[OrderIntent]) -> list[OrderOutcome]:
        """Place each intent as an order; one outcome per intent, in order."""
        return [self._place_one(it) for it in intents]

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
