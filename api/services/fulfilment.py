"""Fulfilment use cases: the delivery promise (earliest delivery per carrier and mode).

The stock comes from the ledger (available = on_hand - reserved at each store and warehouse
that holds every line); carriers, cut-offs, reach and payload from
:mod:`policies.routing.carriers`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC

from sqlalchemy import bindparam, select

from api.errors import NotFoundError
from api.models import T
from api.schemas_fulfilment import PromiseOptionRead, PromiseRead, PromiseRequest
from api.services.context import Principal, ServiceContext
from policies.routing.carriers import Origin, promise_options

_LOC = T["locations"]
_STOCK = T["stock"]


def promise(ctx: ServiceContext, who: Principal, body: PromiseRequest) -> PromiseRead:
    """Earliest delivery options for ``body`` (the request guard admits staff and service keys).

    Raises:
        NotFoundError: an unknown SKU (named).
    """
    now = body.at or ctx.clock.now()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    need: dict[str, int] = defaultdict(int)
    for ln in body.lines:
        need[ln.sku] += ln.quantity
    with ctx.engine.connect() as conn:
        ids = ctx.sku_ids(conn, list(need))
        missing = sorted(need.keys() - ids.keys())
        if missing:
            raise NotFoundError(f"unknown skus {missing[:10]}", details={"skus": missing[:100]})
        rows = conn.execute(
            select(
                _LOC.c.code,
                _LOC.c.kind,
                _LOC.c.lat,
                _LOC.c.lon,
                _STOCK.c.sku_id,
                _STOCK.c.on_hand - _STOCK.c.reserved,
            )
            .select_from(_STOCK.join(_LOC, _LOC.c.id == _STOCK.c.location_id))
            .where(
                _STOCK.c.sku_id.in_(bindparam("ids", expanding=True)),
                _LOC.c.kind.in_(("store", "warehouse")),
            ),
            {"ids": list(ids.values())},
        ).all()
        conn.rollback()
    want = {ids[s]: q for s, q in need.items()}
    held: dict[str, set[int]] = defaultdict(set)
    where: dict[str, Origin] = {}
    for code, kind, lat, lon, sku_id, avail in rows:
        if avail >= want[sku_id]:
            held[code].add(sku_id)
            where[code] = Origin(code, kind, float(lat), float(lon))
    origins = [where[c] for c in sorted(held) if len(held[c]) == len(want)]
    options = promise_options(origins, body.lat, body.lon, sum(need.values()), now)
    return PromiseRead(
        placed_at=now,
        options=[
            PromiseOptionRead(
                carrier=o.carrier,
                mode=o.mode.value,
                origin=o.origin,
                deliver_from=o.deliver_from,
                deliver_to=o.deliver_to,
                cost_cents=o.cost_cents,
                co2_g=o.co2_g,
                distance_km=o.distance_km,
            )
            for o in options
        ],
    )
