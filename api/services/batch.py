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
* checkouts (of carts, or express with lines inline) run one after the other through the
  single call's exactly-once path (:func:`~api.services.checkout.checkout_idempotent`), since
  no transaction may stay open across the gateway call; over HTTP the batch still saves a
  request per item.

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
from datetime import timedelta
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
    InvalidInputError,
    ServiceUnavailableError,
    error_from_stored,
)
from api.models import T
from api.schemas import CartRead, OrderRead, OrderStatus
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
from api.services import carts, orders
from api.services import checkout as checkout_svc
from api.services.adapters import A_CART
from api.services.context import Principal, ServiceContext
from api.services.idempotency import Claim, KeyTakenError, request_hash

R = TypeVar("R")
_IK = T["idempotency_keys"]
_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
CART_SCOPE = "batch_create_cart"


class _Savepoint(UnitOfWork):
    """A unit of work that is a SAVEPOINT on the batch's connection (commit = RELEASE).

    Emitted straight to the driver (as ``api.db`` emits ``BEGIN``): SQLAlchemy's
    ``begin_nested`` bookkeeping costs more than the statement itself."""

    __slots__ = ("_name", "_shared")

    def __init__(self, shared: _Shared) -> None:
        assert shared.conn is not None
        self.conn = shared.conn
        self._shared = shared
        self._committed = False

    def __enter__(self) -> _Savepoint:
        self._shared.depth += 1
        self._name = f"b{self._shared.depth}"
        _driver(self.conn, f"SAVEPOINT {self._name}")
        return self

    def commit(self) -> None:
        _driver(self.conn, f"RELEASE SAVEPOINT {self._name}")
        self._committed = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._shared.depth -= 1
        if not self._committed:
            _driver(self.conn, f"ROLLBACK TO SAVEPOINT {self._name}")
            _driver(self.conn, f"RELEASE SAVEPOINT {self._name}")


def _driver(conn: Connection, sql: str) -> None:
    conn.connection.driver_connection.execute(sql)  # type: ignore[union-attr]


@dataclasses.dataclass(slots=True)
class _Shared(ServiceContext):
    """The caller's context whose units of work are savepoints of one open transaction."""

    conn: Connection | None = None
    depth: int = 0

    def uow(self) -> UnitOfWork:
        return _Savepoint(self)


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

    def run(self, fn: Callable[[ServiceContext], R], *, atomic: bool = False) -> ItemResult[R]:
        """One item in the shared transaction. ``fn`` is one service call (its unit of work is
        a savepoint already), or several under ``atomic`` (one more savepoint around them)."""
        shared = self.shared()
        try:
            if atomic:
                with shared.uow() as u:
                    value = fn(shared)
                    u.commit()
            else:
                value = fn(shared)
        except CommerceError as exc:
            return _failed(exc)
        except _UNAVAILABLE as exc:
            return _failed(_unavailable(exc))
        return _ok(value)

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
        lease = timedelta(seconds=shared.idempotency_lease_s)
        claim = Claim(self.who.ident, key, request_hash(scope, body), shared.clock.now(), lease)
        sp = shared.uow()
        taken, failed, down = False, None, None
        with sp:  # leaving it without commit rolls the item back (key row included)
            try:
                claim.insert(conn)
            except KeyTakenError:
                taken = True
            else:
                try:
                    value = fn(shared)
                except CommerceError as exc:
                    failed = exc
                except _UNAVAILABLE as exc:
                    down = exc
                else:
                    claim.complete(conn, adapter.dump_json(value).decode())
                    sp.commit()
                    return _ok(value)
        if taken:
            return _replay(conn, self.who, key, claim.digest, adapter)
        if failed is None:
            return _failed(_unavailable(down or RuntimeError("unavailable")))
        stored = json.dumps(
            {"code": failed.code, "message": failed.message, "details": failed.details},
            default=str,
        )
        with shared.uow() as u:  # the error outcome is stored under the key, as run_idempotent
            claim.insert(conn)
            claim.complete(conn, stored, failed.status)
            u.commit()
        return _failed(failed)


def _ok(value: R) -> ItemResult[R]:
    return ItemResult.model_construct(ok=True, value=value, error=None)


def _failed(exc: CommerceError) -> ItemResult[Any]:
    return ItemResult.model_construct(ok=False, value=None, error=item_error(exc))


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
        return _ok(adapter.validate_json(row.response))
    return _failed(err)


def check_size(items: Sequence[object]) -> None:
    """Raises InvalidInputError (422) for an empty batch or one beyond MAX_BATCH_ITEMS."""
    if not 1 <= len(items) <= MAX_BATCH_ITEMS:
        raise InvalidInputError(
            f"a batch carries 1..{MAX_BATCH_ITEMS} items, not {len(items)}",
            details={"field": "items", "value": len(items)},
        )


def _each(ctx: ServiceContext, who: Principal, items: Sequence[Any], step: Any) -> list[Any]:
    check_size(items)
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
    cart = carts.create_cart(ctx, who, it.cart())
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
            return batch.run(lambda c: _open_cart(c, who, it), atomic=True)
        body = it.model_copy(update={"idempotency_key": None})
        return batch.run_keyed(
            it.idempotency_key, CART_SCOPE, body, A_CART, lambda c: _open_cart(c, who, it)
        )

    return BatchResult.model_construct(items=_each(ctx, who, items, step))


def set_cart_lines(
    ctx: ServiceContext, who: Principal, items: Sequence[CartLineItem]
) -> BatchResult[CartRead]:
    """Set cart lines in order, one transaction for the batch; each result is the cart after
    its line (errors as ``set_cart_line``: NotFound, Conflict, InsufficientStock per item)."""

    def step(batch: _Batch, it: CartLineItem) -> ItemResult[CartRead]:
        return batch.run(lambda c: carts.set_cart_line(c, who, it.cart_id, it.line()))

    return BatchResult.model_construct(items=_each(ctx, who, items, step))


# ---- checkouts --------------------------------------------------------------------------------
def checkout(
    ctx: ServiceContext, who: Principal, items: Sequence[CheckoutItem]
) -> BatchResult[OrderRead]:
    """Check out carts one after the other, each exactly once (as ``POST /v1/checkout`` with
    the item's key as ``Idempotency-Key``)."""
    check_size(items)
    out: list[ItemResult[OrderRead]] = []
    for it in items:
        try:
            order = checkout_svc.checkout_idempotent(ctx, who, it.request(), it.idempotency_key)
        except CommerceError as exc:
            out.append(_failed(exc))
        except _UNAVAILABLE as exc:
            out.append(_failed(_unavailable(exc)))
        else:
            out.append(_ok(order))
    return BatchResult.model_construct(items=out)


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
            return _ok(orders.cancel_order(ctx, who, it.order_id))
        except CommerceError as exc:
            return _failed(exc)
        except _UNAVAILABLE as exc:
            return _failed(_unavailable(exc))

    return BatchResult.model_construct(items=_each(ctx, who, items, step))
