"""Batch schemas: many carts, cart lines, checkouts or order transitions in one call.

A batch answers ``200`` with one :class:`ItemResult` per item, in item order: ``ok`` with the
item's ``value``, or not ``ok`` with its typed ``error`` (the body and status the single call
would have answered). Items are independent: one item's failure changes no other item, and
each keeps the guarantees of its single call (an ``idempotency_key`` per item, a cart checked
out at most once, ``INSUFFICIENT_STOCK`` per item with a ``LineError`` per short line).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import (
    MAX_ID,
    CartCreate,
    CartLineSet,
    CheckoutRequest,
    OrderTransition,
    Strict,
)

if TYPE_CHECKING:
    from api.client.base import CommerceError

T = TypeVar("T")

MAX_BATCH_ITEMS = 1000
"""Items per batch call; larger batches are refused (422) so that one call stays short."""
MAX_CART_LINES = 200
IdemKey = Field(default=None, min_length=1, max_length=200)


class ItemError(Strict):
    """Why one item failed: the typed error body of the single call, and its HTTP status."""

    status: int
    code: str
    message: str
    details: dict[str, object] | list[object] | None = None


class ItemResult(BaseModel, Generic[T]):
    """The outcome of one item: ``value`` when ``ok``, else ``error``."""

    model_config = ConfigDict(frozen=True)
    ok: bool
    value: T | None = None
    error: ItemError | None = None

    def unwrap(self) -> T:
        """The value; raises the item's typed :class:`~api.client.base.CommerceError` if it
        failed (e.g. ``InsufficientStockError``)."""
        if self.ok and self.value is not None:
            return self.value
        raise self.exception()

    def exception(self) -> CommerceError:
        """The item's error as the matching typed CommerceError subclass."""
        from api.client.errors import typed_error

        e = self.error
        if e is None:
            raise ValueError("exception() of a successful item")
        return typed_error(e.status, e.code, e.message, e.details)


def item_error(exc: CommerceError) -> ItemError:
    """The :class:`ItemError` of a typed error (what the single call would have answered)."""
    return ItemError(status=exc.status, code=exc.code, message=exc.message, details=exc.details)


class BatchResult(BaseModel, Generic[T]):
    """One result per item, in the order of the request's items."""

    model_config = ConfigDict(frozen=True)
    items: list[ItemResult[T]]

    @property
    def ok_count(self) -> int:
        return sum(1 for r in self.items if r.ok)

    def values(self) -> list[T | None]:
        """Per item: its value, or None where it failed."""
        return [r.value if r.ok else None for r in self.items]


# ---- requests ---------------------------------------------------------------------------------
class CartOpen(CartCreate):
    """Open a cart (the fields of ``POST /v1/carts``) and set its lines, all or nothing: if any
    line is short, no cart is opened and the error lists a LineError per short line."""

    lines: list[CartLineSet] = Field(default_factory=list, max_length=MAX_CART_LINES)
    idempotency_key: str | None = IdemKey

    def cart(self) -> CartCreate:
        """The single call's body."""
        return CartCreate.model_construct(**{k: getattr(self, k) for k in CartCreate.model_fields})


class CartLineItem(CartLineSet):
    """Set one line of a cart (as ``PUT /v1/carts/{cart_id}/lines``)."""

    cart_id: int = Field(ge=1, le=MAX_ID)

    def line(self) -> CartLineSet:
        """The single call's body."""
        return CartLineSet.model_construct(sku=self.sku, quantity=self.quantity)


class CheckoutItem(CheckoutRequest):
    """Check out one cart, or lines inline (express), as ``POST /v1/checkout`` with
    ``idempotency_key`` as its ``Idempotency-Key`` (exactly once; a retry resumes)."""

    idempotency_key: str | None = IdemKey

    def request(self) -> CheckoutRequest:
        """The single call's body."""
        return CheckoutRequest.model_construct(
            **{k: getattr(self, k) for k in CheckoutRequest.model_fields}
        )


class TransitionItem(OrderTransition):
    """Move one order (as ``POST /v1/orders/{id}/transition``; ``cancelled`` cancels it)."""

    order_id: int = Field(ge=1, le=MAX_ID)


class CartBatch(Strict):
    items: list[CartOpen] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)


class CartLineBatch(Strict):
    items: list[CartLineItem] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)


class CheckoutBatch(Strict):
    items: list[CheckoutItem] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)


class TransitionBatch(Strict):
    items: list[TransitionItem] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)
