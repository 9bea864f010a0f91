"""Fulfilment use cases: the delivery promise (earliest delivery per carrier and mode), for
lines (``POST /v1/promise``) or a cart (``GET /v1/carts/{id}/promise``).

The stock comes from the ledger (available = on_hand - reserved at each node, i.e. warehouse,
store, micro-fulfilment centre or drop-ship vendor, that holds every line); carriers, cut-offs,
reach, payload and daily capacity from the carriers configuration
(:mod:`api.services.carriers`); the per-carrier earliest option from
:func:`policies.routing.carriers.promise_options`. A carrier whose day is full (its
``capacity_per_day`` shipments already promised for that day) is offered on the next day with
room, up to :data:`MAX_DAYS_AHEAD` days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, func, select

from api.errors import NotFoundError
from api.models import T
from api.schemas_fulfilment import (
    CartPromiseQuery,
    PromiseOptionRead,
    PromiseRead,
    PromiseRequest,
)
from api.services.carriers import NODE_KINDS, CarrierBook, active_carriers
from api.services.carts import get_cart
from api.services.context import Principal, ServiceContext
from policies.routing.carriers import Origin, PromiseOption, promise_options

_LOC = T["locations"]
_STOCK = T["stock"]
_SHIP = T["shipments"]
_CART, _CL = T["carts"], T["cart_lines"]
MAX_DAYS_AHEAD = 7


def aware(at: datetime | None, ctx: ServiceContext) -> datetime:
    """``at`` (default: the context's clock) as an aware UTC datetime."""
    now = at or ctx.clock.now()
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def booked_per_day(
    conn: Connection, book: CarrierBook, now: datetime
) -> dict[tuple[str, str], int]:
    """Live shipments per (carrier, ISO day) from today on, for carriers with a capacity."""
    capped = [c.name for c in book.carriers if c.capacity_per_day is not None]
    if not capped:
        return {}
    rows = conn.execute(
        select(_SHIP.c.carrier, _SHIP.c.promised_day, func.count())
        .where(
            _SHIP.c.carrier.in_(bindparam("names", expanding=True)),
            _SHIP.c.promised_day >= now.date().isoformat(),
            _SHIP.c.status != "cancelled",
            _SHIP.c.kind != "leg",
        )
        .group_by(_SHIP.c.carrier, _SHIP.c.promised_day),
        {"names": capped},
    ).all()
    return {(c, d): int(n) for c, d, n in rows}


def options_with_capacity(
    book: CarrierBook,
    booked: dict[tuple[str, str], int],
    origins: Sequence[Origin],
    lat: float,
    lon: float,
    units: int,
    now: datetime,
) -> list[PromiseOption]:
    """The best option per carrier, each moved to the first day its carrier has room.

    Raises:
        InvalidProblemError: ``units`` < 1 or coordinates out of range.
    """
    out: list[PromiseOption] = []
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for spec in book.carriers:
        carrier = (spec.carrier(),)
        at = now
        for ahead in range(MAX_DAYS_AHEAD + 1):
            if ahead:
                at = midnight + timedelta(days=ahead)
            opts = promise_options(origins, lat, lon, units, at, carrier)
            if not opts:
                break
            day = opts[0].deliver_from.date().isoformat()
            cap = spec.capacity_per_day
            if cap is None or booked.get((spec.name, day), 0) < cap:
                out.append(opts[0])
                break
    return sorted(out, key=lambda p: (p.deliver_from, p.cost_cents, p.carrier))


def holding_origins(
    conn: Connection,
    want: dict[int, int],
    kinds: Sequence[str] = NODE_KINDS,
    own: dict[tuple[str, int], int] | None = None,
) -> list[Origin]:
    """Nodes of ``kinds`` whose available stock covers every line of ``want`` (sku id ->
    units), by code; ``own[(location code, sku id)]``: units the caller holds reserved there
    already (a cart's), counted as available to it."""
    own = own or {}
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
            _LOC.c.kind.in_(bindparam("kinds", expanding=True)),
        ),
        {"ids": list(want), "kinds": list(kinds)},
    ).all()
    held: dict[str, set[int]] = defaultdict(set)
    where: dict[str, Origin] = {}
    for code, kind, lat, lon, sku_id, avail in rows:
        if avail + own.get((code, sku_id), 0) >= want[sku_id]:
            held[code].add(sku_id)
            where[code] = Origin(code, kind, float(lat), float(lon))
    return [where[c] for c in sorted(held) if len(held[c]) == len(want)]


def _read(now: datetime, options: Sequence[PromiseOption]) -> PromiseRead:
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


def _promise_lines(
    ctx: ServiceContext,
    need: dict[str, int],
    lat: float,
    lon: float,
    now: datetime,
    cart_id: int | None = None,
) -> PromiseRead:
    book = active_carriers()
    with ctx.engine.connect() as conn:
        ids = ctx.sku_ids(conn, list(need))
        missing = sorted(need.keys() - ids.keys())
        if missing:
            raise NotFoundError(f"unknown skus {missing[:10]}", details={"skus": missing[:100]})
        want = {ids[s]: q for s, q in need.items()}
        own: dict[tuple[str, int], int] = {}
        if cart_id is not None:  # the cart's own reservation is available to it
            cart = conn.execute(
                select(_CART.c.location_id).where(_CART.c.id == cart_id)
            ).scalar_one()
            code = ctx.location_code(conn, cart)
            for sku_id, q in conn.execute(
                select(_CL.c.sku_id, _CL.c.reserved_qty).where(_CL.c.cart_id == cart_id)
            ):
                own[(code, sku_id)] = int(q)
        origins = holding_origins(conn, want, own=own)
        booked = booked_per_day(conn, book, now)
        conn.rollback()
    if not origins:
        return PromiseRead(placed_at=now, options=[])
    units = sum(need.values())
    return _read(now, options_with_capacity(book, booked, origins, lat, lon, units, now))


def promise(ctx: ServiceContext, who: Principal, body: PromiseRequest) -> PromiseRead:
    """Earliest delivery options for ``body`` (the request guard admits staff and service keys).

    Raises:
        NotFoundError: an unknown SKU (named).
    """
    need: dict[str, int] = defaultdict(int)
    for ln in body.lines:
        need[ln.sku] += ln.quantity
    return _promise_lines(ctx, dict(need), body.lat, body.lon, aware(body.at, ctx))


def cart_promise(
    ctx: ServiceContext, who: Principal, cart_id: int, query: CartPromiseQuery
) -> PromiseRead:
    """Earliest delivery per carrier and mode for an open cart's lines (its customer or staff);
    an empty cart has no options.

    Raises:
        NotFoundError: unknown cart, or another customer's.
    """
    cart = get_cart(ctx, who, cart_id)
    now = aware(query.at, ctx)
    need: dict[str, int] = defaultdict(int)
    for ln in cart.lines:
        need[ln.sku] += ln.quantity
    if not need:
        return PromiseRead(placed_at=now, options=[])
    return _promise_lines(ctx, dict(need), query.lat, query.lon, now, cart_id)
