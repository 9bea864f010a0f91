"""Recommendations: view events in, a model trained from orders and views, top-k served.

``POST /v1/recommendations/views`` records views; ``POST /v1/recommendations/train`` (staff)
trains the models of :mod:`api.services.recommend_model` on every paid (or later) order and
every view, and stores them as one row of ``recommendation_models``; ``GET
/v1/recommendations?customer=&sku=&k=`` serves the newest model (cached per process, reloaded
when a newer one is trained): with ``sku`` the co-purchase and also-viewed neighbours of it
(re-ranked by the customer's factors when ``customer`` is known), with only ``customer`` the
matrix-factorisation scores, leaving out what the customer bought; popularity fills the rest
and serves unknown customers and SKUs.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from sqlalchemy import Engine, func, insert, select

from api.errors import ForbiddenError, InvalidInputError, NotFoundError
from api.models import T
from api.schemas import CountResult, OrderStatus
from api.schemas_promo import RecommendationItem, Recommendations, TrainResult, ViewBatch
from api.services import recommend_model as rm
from api.services.context import Principal, ServiceContext, chunks, require_staff

_VIEW, _MODEL, _ORD, _OL = (
    T["product_views"],
    T["recommendation_models"],
    T["orders"],
    T["order_lines"],
)
_SKU = T["skus"]
BOUGHT = tuple(
    s.value
    for s in (
        OrderStatus.PAID,
        OrderStatus.ALLOCATED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.RETURNED,
        OrderStatus.REFUNDED,
    )
)
MAX_K = 100
_SOURCES = ("popular", "co_purchase", "also_viewed", "factors")
_cache: dict[int, tuple[int, rm.Model, dict[str, int], dict[int, int], dict[int, str]]] = {}
_lock = threading.Lock()


def record_views(ctx: ServiceContext, who: Principal, body: ViewBatch) -> CountResult:
    """Record views (a customer key records its own; staff and service keys name the
    customer). Raises InvalidInputError (no customer), NotFoundError (unknown SKUs)."""
    now = ctx.clock.now()
    rows = []
    with ctx.uow() as u:
        ids = ctx.sku_ids(u.conn, {v.sku for v in body.views})
        missing = sorted({v.sku for v in body.views} - ids.keys())
        if missing:
            raise NotFoundError(f"unknown skus {missing[:10]}", details={"skus": missing[:100]})
        for i, v in enumerate(body.views):
            cust = who.customer_id if who.role == "customer" else v.customer_id
            if not cust:
                raise InvalidInputError(
                    "staff and service keys must give customer_id",
                    details={"field": f"views[{i}].customer_id", "value": None},
                )
            rows.append({"customer_id": cust, "sku_id": ids[v.sku], "created_at": now})
        for chunk in chunks(rows, 5000):
            u.conn.execute(insert(_VIEW), list(chunk))
        u.commit()
    return CountResult(count=len(rows))


def train_recommendations(ctx: ServiceContext, who: Principal) -> TrainResult:
    """Train on all paid orders and all views; store the model (staff). Deterministic: the
    factor model starts from a fixed seed."""
    require_staff(who, "training recommendations")
    t0 = time.perf_counter()
    with ctx.engine.connect() as conn:
        skus = np.array(conn.execute(select(_SKU.c.id).order_by(_SKU.c.id)).scalars().all())
        olines = conn.execute(
            select(_OL.c.order_id, _ORD.c.customer_id, _OL.c.sku_id, _OL.c.quantity)
            .join(_ORD, _ORD.c.id == _OL.c.order_id)
            .where(_ORD.c.status.in_(BOUGHT))
            .order_by(_OL.c.order_id)
        ).all()
        views = conn.execute(
            select(_VIEW.c.customer_id, _VIEW.c.sku_id, _VIEW.c.created_at).order_by(_VIEW.c.id)
        ).all()
        conn.rollback()
    pos = {int(s): i for i, s in enumerate(skus.tolist())}
    users = sorted({r.customer_id for r in olines} | {r.customer_id for r in views})
    uix = {c: i for i, c in enumerate(users)}
    orders = rm.Interactions(
        group=np.array([r.order_id for r in olines], dtype=np.int64),
        user=np.array([uix[r.customer_id] for r in olines], dtype=np.int64),
        item=np.array([pos[r.sku_id] for r in olines], dtype=np.int64),
        qty=np.array([r.quantity for r in olines], dtype=np.float64),
    )
    vu = np.array([uix[r.customer_id] for r in views], dtype=np.int64)
    day = np.array([r.created_at.toordinal() for r in views], dtype=np.int64)
    views_i = rm.Interactions(
        group=vu * 1_000_000 + day,  # a view session: one customer's views on one day
        user=vu,
        item=np.array([pos[r.sku_id] for r in views], dtype=np.int64),
        qty=np.ones(len(views)),
    )
    factors = 16
    model = rm.train(skus, users, orders, views_i, np.random.default_rng(0), factors=factors)
    secs = time.perf_counter() - t0
    with ctx.uow() as u:
        mid = u.conn.execute(
            insert(_MODEL).returning(_MODEL.c.id),
            {
                "trained_at": ctx.clock.now(),
                "n_orders": len({r.order_id for r in olines}),
                "n_views": len(views),
                "factors": factors,
                "train_seconds": secs,
                "blob": model.to_bytes(),
            },
        ).scalar_one()
        u.commit()
    return TrainResult(
        model_id=mid,
        orders=len({r.order_id for r in olines}),
        views=len(views),
        skus=int(skus.size),
        customers=len(users),
        factors=factors,
        train_seconds=round(secs, 4),
    )


def _model(
    engine: Engine,
) -> tuple[int, rm.Model, dict[str, int], dict[int, int], dict[int, str]] | None:
    """The newest trained model (cached per engine; reloaded when a newer one exists)."""
    with engine.connect() as conn:
        newest = conn.scalar(select(func.max(_MODEL.c.id)))
        if newest is None:
            conn.rollback()
            return None
        got = _cache.get(id(engine))
        if got is not None and got[0] == newest:
            conn.rollback()
            return got
        blob = conn.scalar(select(_MODEL.c.blob).where(_MODEL.c.id == newest))
        codes = dict(conn.execute(select(_SKU.c.id, _SKU.c.code)).all())
        conn.rollback()
    assert blob is not None  # the row max(id) names exists
    model = rm.Model.from_bytes(bytes(blob))
    users = {str(c): i for i, c in enumerate(model.users.tolist())}
    items = {int(s): i for i, s in enumerate(model.items.tolist())}
    entry = (int(newest), model, users, items, {int(k): str(v) for k, v in codes.items()})
    with _lock:
        _cache[id(engine)] = entry
    return entry


def recommendations(
    ctx: ServiceContext,
    who: Principal,
    *,
    customer: str | None = None,
    sku: str | None = None,
    k: int = 10,
) -> Recommendations:
    """Top-``k`` SKUs for ``customer`` and/or the SKU ``sku`` being looked at, best first.

    A customer key may only ask for itself (its own id when ``customer`` is omitted).
    Raises InvalidInputError (``k`` outside 1..100), ForbiddenError (another customer),
    NotFoundError (unknown SKU).
    """
    if not 1 <= k <= MAX_K:
        raise InvalidInputError(
            f"k {k} must be within 1..{MAX_K}", details={"field": "k", "value": k}
        )
    if who.role == "customer":
        if customer is not None and customer != who.customer_id:
            raise ForbiddenError(
                "a customer key may only ask for its own recommendations",
                details={"field": "customer", "value": customer},
            )
        customer = who.customer_id
    sku_id: int | None = None
    if sku is not None:
        with ctx.engine.connect() as conn:
            sku_id = ctx.sku_id(conn, sku)
            conn.rollback()
    got = _model(ctx.engine)
    if got is None:
        return Recommendations(customer=customer, sku=sku, items=[], model_id=None)
    mid, model, users, items, codes = got
    u = users.get(customer) if customer is not None else None
    i = items.get(sku_id) if sku_id is not None else None
    score, source = rm.scores_for(model, user=u, item=i)
    best = rm.top_k(score, k)
    out = [
        RecommendationItem(
            sku=codes[int(model.items[j])],
            score=round(float(score[j]), 6),
            source=_SOURCES[int(source[j])],  # type: ignore[arg-type]
        )
        for j in best.tolist()
        if int(model.items[j]) in codes
    ]
    return Recommendations(customer=customer, sku=sku, items=out, model_id=mid)
