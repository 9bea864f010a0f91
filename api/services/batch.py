"""Batch use cases: many carts, cart lines, checkouts or order transitions in one call.

Each item runs the same service function as its single call and keeps that call's guarantees;
the batch answers one :class:`~api.schemas_batch.ItemResult` per item, in order (a typed error
for an item that failed, never a failed batch).

Cheaper per item than separate calls, where the guarantees allow:

* carts, cart lines and transitions (allocate, ship, deliver) run in **one transaction** with a
  SAVEPOINT per item (:class:`_Shared`), so an item that fails rolls back alone and the batch
  pays one ``BEGIN``/``COMMIT`` (one WAL flush on PostgreSQL) instead of one per item. Each item
  is still atomic; the batch's items become visible together at its commit. Cancellations
  (which call the payment gateway) end the shared transaction and run on their own, in order;
* checkouts run one after the other through the normal exactly-once path
  (:func:`~api.services.idempotency.run_idempotent_tx` around
  :func:`~api.services.checkout.checkout`), since no transaction may stay open across the
  gateway call; over HTTP the batch still saves a request per item.

``idempotency_key`` on an item behaves as the ``Idempotency-Key`` header of the single call: a
checkout item shares the scope of ``POST /v1/checkout``; a cart item has its own scope. A key
another request still holds answers that item ``IDEMPOTENCY_IN_PROGRESS`` (retry it) instead
of waiting.

Services run inside the shared transaction must do all their database work through
``ctx.uow()`` (they do: reads of the answer use the same connection).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from pydantic import TypeAdapter
from sqlalchemy import Connection, select
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from api.client.base import CommerceError
from api.db import UnitOfWork
from api.errors import (
    IdempotencyInProgressError,
    IdempotencyMismatchError,
    InsufficientStockError,
    ServiceUnavailableError,
    error_from_stored,
)
from api.models import T
from api.schemas import CartCreate, CartLineSet, CartRead, CheckoutRequest, OrderRead, OrderStatus
from api.schemas_batch import (
    BatchResult,
    CartLineItem,
    CartOpen,
    CheckoutItem,
    ItemResult,
    TransitionItem,
    item_error,
)
from api.services import carts, orders
from api.services import checkout as checkout_svc
from api.services.adapters import A_CART, A_ORDER
from api.services.context import Principal, ServiceContext
from api.services.idempotency import Claim, KeyTakenError, request_hash, run_idempotent_tx

R = TypeVar("R")
_IK = T["idempotency_keys"]
_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
CART_SCOPE = "batch_create_cart"


class _Savepoint(UnitOfWork):
    """A unit of work that is a SAVEPOINT on the batch's connection (commit = RELEASE)."""

    __slots__ = ("_nested",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._committed = False

    def __enter__(self) -> _Savepoint:
        self._nested = self.conn.begin_nested()
        return self

    def commit(self) -> None:
        self._nested.commit()
        self._committed = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed and self._nested.is_active:
            self._nested.rollback()


@dataclasses.dataclass(slots=True)
class _Shared(ServiceContext):
    """The caller's context whose units of work are savepoints of one open transaction."""

    conn: Connection | None = None

    def uow(self) -> UnitOfWork:
        assert self.conn is not None
        return _Savepoint(self.conn)


class _Batch:
    """Runs items in a shared transaction, opened lazily and committed by :meth:`flush`."""

    def __init__(self, ctx: ServiceContext, who: Principal) -> None:
        self.ctx, self.who = ctx, who
        self._shared: _Shared | None = None
        self._conn: Connection | None = None

    def shared(self) -> _Shared:
        if self._shared is None:
            conn = self.ctx.engine.connect()
            conn.begin()
            self._conn = conn
            init = {
                f.name: getattr(self.ctx, f.name) for f in dataclasses.fields(self.ctx) if f.init
            }
            self._shared = _Shared(**init, conn=conn)
        return self._shared

    def flush(self) -> None:
        """Commit the shared transaction (if one is open)."""
        if self._conn is not None:
            try:
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = self._shared = None

    def close(self) -> None:
        """Roll back whatever was not flushed (an unexpected failure)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = self._shared = None

    def run(self, fn: Callable[[ServiceContext], R]) -> ItemResult[R]:
        """One item in the shared transaction (its own savepoint)."""
        shared = self.shared()
        assert shared.conn is not None
        sp = shared.conn.begin_nested()
        try:
            value = fn(shared)
        except CommerceError as exc:
            sp.rollback()
            return ItemResult[R](ok=False, error=item_error(exc))
        except _UNAVAILABLE as exc:
            if sp.is_active:
                sp.rollback()
            return ItemResult[R](ok=False, error=item_error(_unavailable(exc)))
        sp.commit()
        return ItemResult[R](ok=True, value=value)

    def run_keyed(
        self,
        key: str,
        scope: str,
        body: Any,
        adapter: TypeAdapter[R],
        fn: Callable[[ServiceContext], R],
    ) -> ItemResult[R]:
        """One item under an Idempotency-Key: the key row commits with the item's effect."""
        shared = self.shared()
        conn = shared.conn
        assert conn is not None
        claim = Claim(self.who.ident, key, request_hash(scope, body), shared.clock.now())
        sp = conn.begin_nested()
        try:
            claim.insert(conn)
        except KeyTakenError:
            sp.rollback()
            return _replay(conn, self.who, key, claim.digest, adapter)
        try:
            value = fn(shared)
        except CommerceError as exc:
            sp.rollback()
            stored = json.dumps(
                {"code": exc.code, "message": exc.message, "details": exc.details}, default=str
            )
            with conn.begin_nested():
                claim.insert(conn)
                claim.complete(conn, stored, exc.status)
            return ItemResult[R](ok=False, error=item_error(exc))
        except _UNAVAILABLE as exc:
            if sp.is_active:
                sp.rollback()
            return ItemResult[R](ok=False, error=item_error(_unavailable(exc)))
        claim.complete(conn, adapter.dump_json(value).decode())
        sp.commit()
        return ItemResult[R](ok=True, value=value)


def _unavailable(exc: BaseException) -> ServiceUnavailableError:
    return ServiceUnavailableError(
        "the database is unavailable or overloaded; retry shortly",
        details={"retry_after_s": 1, "cause": type(exc).__name__},
    )


def _replay(
    conn: Connection, who: Principal, key: str, digest: str, adapter: TypeAdapter[R]
) -> ItemResult[R]:
    row = conn.execute(
        select(_IK.c.request_hash, _IK.c.completed, _IK.c.status_code, _IK.c.response).where(
            _IK.c.principal == who.ident, _IK.c.key == key
        )
    ).first()
    err: CommerceError
    if row is None or not row.completed:
        err = IdempotencyInProgressError(
            f"request with Idempotency-Key {key!r} is still in progress", details={"key": key}
        )
    elif row.request_hash != digest:
        err = IdempotencyMismatchError(
            f"Idempotency-Key {key!r} was already used with a different request",
            details={"key": key},
        )
    elif row.status_code >= 400:
        data = json.loads(row.response)
        err = error_from_stored(data["code"], data["message"], row.status_code, data.get("details"))
    else:
        return ItemResult[R](ok=True, value=adapter.validate_json(row.response))
    return ItemResult[R](ok=False, error=item_error(err))


def _each(ctx: ServiceContext, who: Principal, items: Sequence[Any], step: Any) -> list[Any]:
    batch = _Batch(ctx, who)
    try:
        out = [step(batch, it) for it in items]
        batch.flush()
    except _UNAVAILABLE as exc:  # the commit itself failed: nothing of the batch was stored
        batch.close()
        raise _unavailable(exc) from exc
    finally:
        batch.close()
    return out


# ---- carts ------------------------------------------------------------------------------------
def _open_cart(ctx: ServiceContext, who: Principal, it: CartOpen) -> CartRead:
    """Create the cart and set its lines; all or nothing (every short line is reported)."""
    body = CartCreate(channel=it.channel, location=it.location, customer_id=it.customer_id)
    cart = carts.create_cart(ctx, who, body)
    short: list[object] = []
    for ln in it.lines:
        try:  # its unit of work is a savepoint: a short line leaves the others in place
            cart = carts.set_cart_line(ctx, who, cart.id, ln)
        except InsufficientStockError as exc:
            short.extend(exc.details if isinstance(exc.details, list) else [exc.details])
    if short:
        raise InsufficientStockError(
            f"{len(short)} line(s) of the cart are out of stock", details=short
        )
    return cart


def create_carts(
    ctx: ServiceContext, who: Principal, items: Sequence[CartOpen]
) -> BatchResult[CartRead]:
    """Open carts (each with its lines, all or nothing), one transaction for the batch.

    Per item: the errors of ``create_cart`` / ``set_cart_line`` (NotFoundError for an unknown
    location or SKU, InvalidInputError, InsufficientStockError listing every short line).
    """

    def step(batch: _Batch, it: CartOpen) -> ItemResult[CartRead]:
        if it.idempotency_key is None:
            return batch.run(lambda c: _open_cart(c, who, it))
        body = it.model_copy(update={"idempotency_key": None})
        return batch.run_keyed(
            it.idempotency_key, CART_SCOPE, body, A_CART, lambda c: _open_cart(c, who, it)
        )

    return BatchResult[CartRead](items=_each(ctx, who, items, step))


def set_cart_lines(
    ctx: ServiceContext, who: Principal, items: Sequence[CartLineItem]
) -> BatchResult[CartRead]:
    """Set cart lines in order, one transaction for the batch; each result is the cart after
    its line (errors as ``set_cart_line``: NotFound, Conflict, InsufficientStock per item)."""

    def step(batch: _Batch, it: CartLineItem) -> ItemResult[CartRead]:
        line = CartLineSet.model_construct(sku=it.sku, quantity=it.quantity)
        return batch.run(lambda c: carts.set_cart_line(c, who, it.cart_id, line))

    return BatchResult[CartRead](items=_each(ctx, who, items, step))


# ---- checkouts --------------------------------------------------------------------------------
def checkout(
    ctx: ServiceContext, who: Principal, items: Sequence[CheckoutItem]
) -> BatchResult[OrderRead]:
    """Check out carts one after the other, each exactly once (as ``POST /v1/checkout`` with
    the item's key as ``Idempotency-Key``)."""
    out: list[ItemResult[OrderRead]] = []
    for it in items:
        body = CheckoutRequest(cart_id=it.cart_id, payment_token=it.payment_token)
        try:
            order = run_idempotent_tx(
                ctx,
                who,
                it.idempotency_key,
                "checkout",
                body,
                A_ORDER,
                lambda claim, body=body: checkout_svc.checkout(ctx, who, body, claim),  # type: ignore[misc]
            )
        except CommerceError as exc:
            out.append(ItemResult[OrderRead](ok=False, error=item_error(exc)))
        except _UNAVAILABLE as exc:
            out.append(ItemResult[OrderRead](ok=False, error=item_error(_unavailable(exc))))
        else:
            out.append(ItemResult[OrderRead](ok=True, value=order))
    return BatchResult[OrderRead](items=out)


# ---- order transitions ------------------------------------------------------------------------
def transition_orders(
    ctx: ServiceContext, who: Principal, items: Sequence[TransitionItem]
) -> BatchResult[OrderRead]:
    """Move orders in item order (staff): allocate, ship and deliver share one transaction;
    a cancellation commits what came before and runs on its own (it calls the gateway)."""

    def step(batch: _Batch, it: TransitionItem) -> ItemResult[OrderRead]:
        if OrderStatus(it.to) != OrderStatus.CANCELLED:
            return batch.run(lambda c: orders.transition_order(c, who, it.order_id, it.to))
        batch.flush()
        try:
            return ItemResult[OrderRead](ok=True, value=orders.cancel_order(ctx, who, it.order_id))
        except CommerceError as exc:
            return ItemResult[OrderRead](ok=False, error=item_error(exc))
        except _UNAVAILABLE as exc:
            return ItemResult[OrderRead](ok=False, error=item_error(_unavailable(exc)))

    return BatchResult[OrderRead](items=_each(ctx, who, items, step))
