"""Allocation: a paid order's lines to fulfilment nodes, as one or more shipments.

Nodes are locations of kind ``warehouse``, ``store`` (ship from store), ``mfc``
(micro-fulfilment centre) and ``supplier`` (vendor drop-ship) holding available stock. Each
candidate shipment (a node and the units it can serve of what is still unallocated) is priced

    cost = w.distance * km + w.carrier * carrier cents + w.co2 * grams
         + w.capacity * utilisation + w.stock * share of the node's stock taken
         + w.split * (another shipment already exists) + w.split * (units left after it)

with km, cents and grams of the cheapest carrier option from that node to the customer (with
the carriers' reach, payload and daily capacity), utilisation = the node's shipments created
today / its kind's ``node_capacity_per_day``; the weights come from ``configs/carriers.yaml``
(``allocation.weights``), each overridable per request. Greedily, the candidate with the least
cost per unit becomes a shipment until every unit is placed (at most ``max_shipments``; one
node holding everything when splitting is off).

Split shipments merge in transit when ``consolidate_at`` names a location: each becomes a
``leg`` to that point and one ``merged`` shipment carries every line to the customer, promised
after the last leg arrives.

Stock: in one transaction the order's reservation at its checkout location is released and the
units are reserved at each origin by conditional UPDATEs (``on_hand - reserved >= q``); a node
drained meanwhile by a concurrent order fails the whole allocation with 409
``INSUFFICIENT_STOCK`` (retry), so stock is never oversold. The order moves ``paid ->
allocated`` first (a concurrent allocation of the same order waits for it, then answers its
shipments); allocating an order that has shipments answers them unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from api.errors import (
    InsufficientStockError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
)
from api.models import T
from api.schemas_fulfilment import AllocationRequest, ShipmentKind, ShipmentRead, ShipmentStatus
from api.services.carriers import NODE_KINDS, AllocationWeights, CarrierBook, active_carriers
from api.services.carts import release_reserved
from api.services.context import Principal, ServiceContext, require_staff
from api.services.fulfilment import aware, booked_per_day, options_with_capacity
from api.services.shipments import load_shipments
from api.services.stock import decrement_available
from policies.routing.carriers import Origin, PromiseOption, haversine_km

_ORD, _OL, _LOC, _STOCK = T["orders"], T["order_lines"], T["locations"], T["stock"]
_SHIP, _SL = T["shipments"], T["shipment_lines"]


@dataclass(frozen=True, slots=True)
class Node:
    id: int
    origin: Origin


@dataclass(frozen=True, slots=True)
class Pick:
    """A chosen shipment: its node, units per sku id, carrier option and cost."""

    node: Node
    take: dict[int, int]
    option: PromiseOption
    cost: float


def _weights(book: CarrierBook, body: AllocationRequest) -> AllocationWeights:
    w = book.allocation.weights
    if body.weights is None:
        return w
    over = {k: v for k, v in body.weights.model_dump().items() if v is not None}
    return w.model_copy(update=over)


def _nodes(
    conn: Connection, want: dict[int, int], kinds: list[str], order_loc: int, order_id: int
) -> tuple[dict[int, Node], dict[int, dict[int, int]]]:
    """Candidate nodes and their available units per sku (the order's own reservation counts
    as available at its checkout location)."""
    rows = conn.execute(
        select(
            _LOC.c.id,
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
        {"ids": list(want), "kinds": kinds},
    ).all()
    nodes: dict[int, Node] = {}
    avail: dict[int, dict[int, int]] = defaultdict(dict)
    for lid, code, kind, lat, lon, sku, a in rows:
        extra = want[sku] if lid == order_loc else 0
        if a + extra > 0:
            nodes[lid] = Node(lid, Origin(code, kind, float(lat), float(lon)))
            avail[lid][sku] = int(a) + extra
    return nodes, avail


def _utilisation(
    conn: Connection, book: CarrierBook, nodes: dict[int, Node], now: datetime
) -> dict[int, float]:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    counts: dict[int, int] = dict(
        conn.execute(
            select(_SHIP.c.origin_id, func.count())
            .where(
                _SHIP.c.origin_id.in_(bindparam("ids", expanding=True)),
                _SHIP.c.created_at >= midnight,
                _SHIP.c.status != ShipmentStatus.CANCELLED.value,
            )
            .group_by(_SHIP.c.origin_id),
            {"ids": list(nodes) or [-1]},
        )
        .tuples()
        .all()
    )
    caps = book.allocation.node_capacity_per_day
    out: dict[int, float] = {}
    for lid, n in nodes.items():
        cap = caps.get(n.origin.kind)  # type: ignore[call-overload]
        out[lid] = int(counts.get(lid, 0)) / cap if cap else 0.0
    return out


def _best_option(
    book: CarrierBook,
    booked: dict[tuple[str, str], int],
    origin: Origin,
    lat: float,
    lon: float,
    units: int,
    now: datetime,
) -> PromiseOption | None:
    opts = options_with_capacity(book, booked, [origin], lat, lon, units, now)
    return min(opts, key=lambda o: (o.cost_cents, o.deliver_from, o.carrier), default=None)


def plan_allocation(
    book: CarrierBook,
    w: AllocationWeights,
    body: AllocationRequest,
    want: dict[int, int],
    nodes: dict[int, Node],
    avail: dict[int, dict[int, int]],
    util: dict[int, float],
    booked: dict[tuple[str, str], int],
    now: datetime,
) -> list[Pick]:
    """The greedy choice of shipments (see the module docstring); pure.

    Raises:
        InsufficientStockError: the units cannot be placed (within ``max_shipments``, or in one
            shipment when splitting is off); ``details`` lists the short sku ids.
    """
    left = dict(want)
    picks: list[Pick] = []
    free = {lid: dict(a) for lid, a in avail.items()}
    while left:
        if len(picks) >= (body.max_shipments if body.allow_split else 1):
            break
        best: Pick | None = None
        best_key: tuple[float, str] | None = None
        for lid in sorted(nodes, key=lambda i: nodes[i].origin.code):
            n = nodes[lid]
            take = {s: min(q, free[lid].get(s, 0)) for s, q in left.items()}
            take = {s: q for s, q in take.items() if q > 0}
            if not take or (not body.allow_split and take != left):
                continue
            units = sum(take.values())
            opt = _best_option(book, booked, n.origin, body.lat, body.lon, units, now)
            if opt is None:
                continue
            km = haversine_km(n.origin.lat, n.origin.lon, body.lat, body.lon)
            total = sum(free[lid].values()) or 1
            rest = sum(left.values()) - units
            cost = (
                w.distance * km
                + w.carrier * opt.cost_cents
                + w.co2 * opt.co2_g
                + w.capacity * util.get(lid, 0.0)
                + w.stock * units / total
                + w.split * (1 if picks else 0)
                + w.split * (1 if rest > 0 else 0)
            )
            key = (cost / units, n.origin.code)
            if best_key is None or key < best_key:
                best, best_key = Pick(n, take, opt, cost), key
        if best is None:
            break
        picks.append(best)
        for s, q in best.take.items():
            left[s] -= q
            free[best.node.id][s] -= q
            if left[s] == 0:
                del left[s]
    if left:
        raise InsufficientStockError(
            f"{sum(left.values())} unit(s) cannot be allocated"
            + ("" if body.allow_split else " from one node (splitting is off)"),
            details={"sku_ids": sorted(left), "max_shipments": body.max_shipments},
        )
    return picks


def _insert_shipment(
    conn: Connection,
    order_id: int,
    origin_id: int,
    kind: ShipmentKind,
    opt: PromiseOption,
    lat: float,
    lon: float,
    lines: dict[int, int],
    now: datetime,
    merge_into: int | None = None,
) -> int:
    sid = conn.execute(
        insert(_SHIP)
        .values(
            order_id=order_id,
            origin_id=origin_id,
            kind=kind.value,
            merge_into=merge_into,
            carrier=opt.carrier,
            mode=opt.mode.value,
            status=ShipmentStatus.ALLOCATED.value,
            attempts=0,
            dest_lat=lat,
            dest_lon=lon,
            distance_km=opt.distance_km,
            cost_cents=opt.cost_cents,
            co2_g=opt.co2_g,
            promised_day=opt.deliver_from.date().isoformat(),
            deliver_from=opt.deliver_from,
            deliver_to=opt.deliver_to,
            created_at=now,
            updated_at=now,
        )
        .returning(_SHIP.c.id)
    ).scalar_one()
    conn.execute(
        insert(_SL),
        [{"shipment_id": sid, "sku_id": s, "quantity": q} for s, q in sorted(lines.items())],
    )
    return int(sid)


def allocate_order(
    ctx: ServiceContext, who: Principal, order_id: int, body: AllocationRequest
) -> list[ShipmentRead]:
    """``POST /v1/orders/{id}/shipments``: allocate a paid order (staff or service).

    Raises:
        ForbiddenError: a customer key.
        NotFoundError: unknown order or consolidation point.
        InvalidTransitionError: the order is not paid (409, ``from``/``to``).
        InsufficientStockError: the units cannot be placed, or a node was drained concurrently.
        InvalidInputError: no carrier reaches the customer from the consolidation point.
    """
    require_staff(who, "allocating orders")
    book = active_carriers()
    w = _weights(book, body)
    kinds = [k.value for k in body.kinds] if body.kinds else list(NODE_KINDS)
    with ctx.uow() as u:
        c = u.conn
        order = c.execute(select(_ORD).where(_ORD.c.id == order_id)).first()
        if order is None:
            raise NotFoundError(f"order {order_id} not found", details={"order_id": order_id})
        now = aware(None, ctx)
        claimed = c.execute(  # claim first: a concurrent allocation of this order waits here
            update(_ORD)
            .where(_ORD.c.id == order_id, _ORD.c.status == "paid")
            .values(status="allocated", updated_at=now)
        ).rowcount
        if claimed != 1:
            existing = c.execute(
                select(_SHIP).where(_SHIP.c.order_id == order_id).order_by(_SHIP.c.id)
            ).all()
            if existing:
                out = load_shipments(ctx, c, existing)
                u.commit()
                return out
            status = c.scalar(select(_ORD.c.status).where(_ORD.c.id == order_id))
            raise InvalidTransitionError(
                f"order {order_id} is {status}; only paid orders are allocated",
                details={"order_id": order_id, "from": status, "to": "allocated"},
            )
        hub: Any = None
        if body.consolidate_at is not None:
            hub = c.execute(select(_LOC).where(_LOC.c.code == body.consolidate_at)).first()
            if hub is None:
                raise NotFoundError(
                    f"unknown location {body.consolidate_at!r}",
                    details={"field": "consolidate_at", "value": body.consolidate_at},
                )
        want: dict[int, int] = {
            int(s): int(q)
            for s, q in c.execute(
                select(_OL.c.sku_id, _OL.c.quantity).where(_OL.c.order_id == order_id)
            )
        }
        nodes, avail = _nodes(c, want, kinds, order.location_id, order_id)
        booked = booked_per_day(c, book, now)
        util = _utilisation(c, book, nodes, now)
        picks = plan_allocation(book, w, body, want, nodes, avail, util, booked, now)
        # move the reservation: release it at checkout, take it at each origin (conditional)
        release_reserved(c, {(order.location_id, s): q for s, q in want.items()})
        for p in sorted(picks, key=lambda p: p.node.id):
            ok = decrement_available(ctx, c, p.node.id, p.take, column="reserved")
            if len(ok) != len(p.take):
                raise InsufficientStockError(
                    f"stock at {p.node.origin.code} was taken meanwhile; retry the allocation",
                    details={"location": p.node.origin.code, "sku_ids": sorted(p.take.keys() - ok)},
                )
        if hub is not None and len(picks) > 1:
            hub_origin = Origin(hub.code, hub.kind, float(hub.lat), float(hub.lon))
            legs = []
            for p in picks:
                leg = _best_option(
                    book, booked, p.node.origin, hub_origin.lat, hub_origin.lon,
                    sum(p.take.values()), now,
                )  # fmt: skip
                if leg is None:
                    leg = p.option  # no carrier to the hub: the leg keeps the customer option
                legs.append(leg)
            last = max(leg.deliver_to for leg in legs)
            final = _best_option(
                book, booked, hub_origin, body.lat, body.lon, sum(want.values()),
                max(now, last + timedelta(hours=1)),
            )  # fmt: skip
            if final is None:
                raise InvalidInputError(
                    f"no carrier reaches the customer from {hub.code}",
                    details={"field": "consolidate_at", "value": hub.code},
                )
            merged = _insert_shipment(
                c, order_id, hub.id, ShipmentKind.MERGED, final, body.lat, body.lon, want, now
            )
            for p, leg in zip(picks, legs, strict=True):
                _insert_shipment(
                    c, order_id, p.node.id, ShipmentKind.LEG, leg, float(hub.lat),
                    float(hub.lon), p.take, now, merge_into=merged,
                )  # fmt: skip
        else:
            for p in picks:
                _insert_shipment(
                    c, order_id, p.node.id, ShipmentKind.DIRECT, p.option, body.lat, body.lon,
                    p.take, now,
                )  # fmt: skip
        rows = c.execute(
            select(_SHIP).where(_SHIP.c.order_id == order_id).order_by(_SHIP.c.id)
        ).all()
        out = load_shipments(ctx, c, rows)
        u.commit()
    return out
