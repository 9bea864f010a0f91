"""Per-customer purchase limits on a SKU, enforced by the database.

``purchase_limits`` holds the most units of a SKU one customer may hold in live orders;
``customer_sku_purchases`` counts what each customer holds. Checkout raises the counter in the
order's own transaction with one conditional upsert per limited line::

    INSERT INTO customer_sku_purchases (customer_id, sku_id, quantity)
    SELECT :cust, :sku, :q FROM purchase_limits WHERE sku_id = :sku AND :q <= max_per_customer
    ON CONFLICT (customer_id, sku_id) DO UPDATE SET quantity = <held> + excluded.quantity
    WHERE <held> + excluded.quantity <= (SELECT max_per_customer FROM purchase_limits ...)
    RETURNING quantity

No row back means the limit would be exceeded: the checkout fails with ``409
PURCHASE_LIMIT_EXCEEDED`` (per line: ``sku``, ``limit``, ``requested``, ``already``) and rolls
back with its stock. The row lock the upsert takes serialises one customer's concurrent
checkouts of the SKU on PostgreSQL (the second re-checks the condition on the committed row);
SQLite serialises writers. A cancelled order (by the customer, staff, a declined or failed
payment, or expiry) gives its units back; returns do not (they were bought).

Routes (:mod:`api.routes.purchase_limits`, staff/service to change): ``PUT
/v1/purchase-limits/{sku}`` ``{"max_per_customer": n}``, ``GET`` and ``DELETE`` the same path.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field
from sqlalchemy import Connection, bindparam, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from api.errors import NotFoundError, ServiceError
from api.models import T
from api.schemas import Strict
from api.services.context import Principal, ServiceContext, require_staff

_LIM, _CSP = T["purchase_limits"], T["customer_sku_purchases"]


class PurchaseLimitExceededError(ServiceError):
    """A checkout would take a customer past a SKU's purchase limit (409)."""

    code_default = "PURCHASE_LIMIT_EXCEEDED"
    status_default = 409


class PurchaseLimitSet(Strict):
    max_per_customer: int = Field(ge=1, le=1_000_000)


class PurchaseLimitRead(BaseModel):
    sku: str
    max_per_customer: int


_LIMITS_OF = select(_LIM.c.sku_id, _LIM.c.max_per_customer).where(
    _LIM.c.sku_id.in_(bindparam("ids", expanding=True))
)
_TAKE = text(
    "INSERT INTO customer_sku_purchases (customer_id, sku_id, quantity) "
    "SELECT :cust, :sku, :q FROM purchase_limits WHERE sku_id = :sku AND :q <= max_per_customer "
    "ON CONFLICT (customer_id, sku_id) DO UPDATE "
    "SET quantity = customer_sku_purchases.quantity + excluded.quantity "
    "WHERE customer_sku_purchases.quantity + excluded.quantity <= "
    "(SELECT l.max_per_customer FROM purchase_limits l WHERE l.sku_id = excluded.sku_id) "
    "RETURNING quantity"
)
_GIVE_BACK = text(
    "UPDATE customer_sku_purchases SET quantity = CASE WHEN customer_sku_purchases.quantity "
    ">= g.q THEN customer_sku_purchases.quantity - g.q ELSE 0 END "
    "FROM (SELECT o.customer_id AS cust, ol.sku_id AS sku, SUM(ol.quantity) AS q "
    "FROM orders o JOIN order_lines ol ON ol.order_id = o.id "
    "WHERE o.id IN :ids GROUP BY o.customer_id, ol.sku_id) AS g "
    "WHERE customer_sku_purchases.customer_id = g.cust AND customer_sku_purchases.sku_id = g.sku"
).bindparams(bindparam("ids", expanding=True))


def consume(conn: Connection, customer_id: str, qty: dict[int, int], codes: dict[int, str]) -> None:
    """Raise ``customer_id``'s counters by ``qty`` (SKU id -> units) for the limited SKUs, in
    ``conn``'s transaction. One cheap lookup when none of the SKUs is limited.

    Raises:
        PurchaseLimitExceededError: details list each line over its limit (sku, limit,
            requested, already held).
    """
    limits = dict(conn.execute(_LIMITS_OF, {"ids": list(qty)}).tuples().all())
    if not limits:
        return
    over: list[int] = []
    for sku in sorted(limits):  # a fixed order: concurrent multi-line checkouts cannot deadlock
        got = conn.execute(_TAKE, {"cust": customer_id, "sku": sku, "q": qty[sku]}).first()
        if got is None:
            over.append(sku)
    if over:
        held = dict(
            conn.execute(
                select(_CSP.c.sku_id, _CSP.c.quantity).where(
                    _CSP.c.customer_id == customer_id, _CSP.c.sku_id.in_(over)
                )
            )
            .tuples()
            .all()
        )
        details: list[object] = [
            {
                "sku": codes.get(s, str(s)),
                "limit": int(limits[s]),
                "requested": qty[s],
                "already": int(held.get(s, 0)),
            }
            for s in over
        ]
        raise PurchaseLimitExceededError(
            f"{len(over)} line(s) exceed the purchase limit per customer", details=details
        )


def give_back(conn: Connection, order_ids: Sequence[int]) -> None:
    """Lower the counters by the units of cancelled orders ``order_ids`` (same transaction)."""
    if order_ids:
        conn.execute(_GIVE_BACK, {"ids": list(order_ids)})


def set_limit(
    ctx: ServiceContext, who: Principal, sku: str, body: PurchaseLimitSet
) -> PurchaseLimitRead:
    """Create or change a SKU's limit (staff). Customers already above it keep their orders and
    cannot buy more. Raises ForbiddenError, NotFoundError (unknown SKU)."""
    require_staff(who, "setting purchase limits")
    with ctx.uow() as u:
        sid = ctx.sku_id(u.conn, sku)
        ins = pg_insert(_LIM) if ctx.is_pg else sqlite_insert(_LIM)
        stmt = ins.values(sku_id=sid, max_per_customer=body.max_per_customer)
        u.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["sku_id"], set_={"max_per_customer": body.max_per_customer}
            )
        )
        u.commit()
    return PurchaseLimitRead(sku=sku, max_per_customer=body.max_per_customer)


def get_limit(ctx: ServiceContext, who: Principal, sku: str) -> PurchaseLimitRead:
    """A SKU's limit. Raises NotFoundError (unknown SKU or no limit)."""
    with ctx.engine.connect() as conn:
        sid = ctx.sku_id(conn, sku)
        m = conn.scalar(select(_LIM.c.max_per_customer).where(_LIM.c.sku_id == sid))
        conn.rollback()
    if m is None:
        raise NotFoundError(f"sku {sku!r} has no purchase limit", details={"sku": sku})
    return PurchaseLimitRead(sku=sku, max_per_customer=int(m))


def remove_limit(ctx: ServiceContext, who: Principal, sku: str) -> None:
    """Drop a SKU's limit (staff); counters stay, so a new limit counts past purchases."""
    require_staff(who, "removing purchase limits")
    with ctx.uow() as u:
        sid = ctx.sku_id(u.conn, sku)
        u.conn.execute(delete(_LIM).where(_LIM.c.sku_id == sid))
        u.commit()
