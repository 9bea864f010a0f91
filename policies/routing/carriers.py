"""Carriers and the promise: the earliest delivery of an order by each carrier and mode.

A pure function over origins that hold the stock, the destination and the clock; the API's
``POST /v1/promise`` feeds it from the stock ledger. Times are UTC; a carrier's ``cut_off_hour``
and operating hours are in that clock. Money in cents, CO2 in grams, distances in km (straight
line x ``road_factor`` for road carriers, straight for drones).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from policies.routing.errors import InvalidProblemError

__all__ = [
    "DEFAULT_CARRIERS",
    "Carrier",
    "Mode",
    "Origin",
    "PromiseOption",
    "haversine_km",
    "promise_options",
]


class Mode(StrEnum):
    OWN_FLEET = "own_fleet"  # our vans from a warehouse, in a 2-hour slot
    PARCEL = "parcel"  # third-party parcel carrier (3PL), next day
    LOCKER = "locker"  # parcel locker near the customer, next day
    CLICK_AND_COLLECT = "click_and_collect"  # picked up in a store that holds the stock
    DRONE = "drone"  # from a store or warehouse in range, small payloads


@dataclass(frozen=True, slots=True)
class Carrier:
    """A way to deliver: where it ships from, when, how far, what it costs and emits."""

    name: str
    mode: Mode
    ships_from: tuple[str, ...]  # location kinds: "warehouse", "store"
    cut_off_hour: float  # orders before it go today (lead_days after today otherwise + 1)
    lead_days: int  # days after the dispatch day
    first_hour: float  # earliest delivery hour of a day
    last_hour: float  # latest delivery hour of a day
    handling_hours: float  # from the order to ready at the origin (same-day modes)
    speed_kmh: float
    max_km: float | None  # one-way reach from the origin
    max_units: int | None  # payload
    cost_per_parcel_cents: int
    cost_per_km_cents: int
    co2_g_per_parcel: float
    co2_g_per_km: float
    window_hours: float  # the width of the promised window


# fmt: off
DEFAULT_CARRIERS: tuple[Carrier, ...] = (
    Carrier("own-van", Mode.OWN_FLEET, ("warehouse",), 9.0, 0, 10.0, 19.0, 0.5, 35.0, 130.0,
            None, 450, 2, 0.0, 25.0, 2.0),
    Carrier("parcel-3pl", Mode.PARCEL, ("warehouse",), 16.0, 1, 8.0, 20.0, 0.0, 60.0, None,
            None, 690, 0, 450.0, 0.0, 12.0),
    Carrier("locker", Mode.LOCKER, ("warehouse",), 16.0, 1, 8.0, 20.0, 0.0, 60.0, None,
            None, 390, 0, 200.0, 0.0, 12.0),
    Carrier("click-and-collect", Mode.CLICK_AND_COLLECT, ("store",), 18.0, 0, 8.0, 20.0, 2.0,
            1.0, 30.0, None, 100, 0, 0.0, 0.0, 4.0),
    Carrier("drone", Mode.DRONE, ("store", "warehouse"), 19.0, 0, 8.0, 20.0, 0.5, 60.0, 10.0,
            2, 300, 5, 0.0, 5.0, 0.5),
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Origin:
    """A location holding every line of the order (its stock checked by the caller)."""

    code: str
    kind: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class PromiseOption:
    carrier: str
    mode: Mode
    origin: str
    deliver_from: datetime
    deliver_to: datetime
    cost_cents: int
    co2_g: float
    distance_km: float


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, a)))


def _at(day: datetime, hours: float) -> datetime:
    return day + timedelta(hours=hours)


def _option(
    c: Carrier, o: Origin, lat: float, lon: float, units: int, now: datetime, road: float
) -> PromiseOption | None:
    km = haversine_km(o.lat, o.lon, lat, lon) * (1.0 if c.mode is Mode.DRONE else road)
    if c.max_km is not None and km > c.max_km:
        return None
    if c.max_units is not None and units > c.max_units:
        return None
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    hour = (now - midnight).total_seconds() / 3600.0
    day = midnight if hour < c.cut_off_hour else midnight + timedelta(days=1)
    day += timedelta(days=c.lead_days)
    if c.lead_days == 0:
        # same day: ready after handling (own fleet: after the van leaves at the cut-off),
        # then travel (collect: none); past the last window, the next day's first one
        travel = 0.0 if c.mode is Mode.CLICK_AND_COLLECT else km / c.speed_kmh
        ready = c.cut_off_hour if c.mode is Mode.OWN_FLEET else hour
        if day > midnight:
            ready = c.cut_off_hour if c.mode is Mode.OWN_FLEET else c.first_hour
        start_h = max(c.first_hour, ready + c.handling_hours + travel)
        if c.mode is Mode.OWN_FLEET:  # slots on the even hour
            start_h = math.ceil(start_h / 2.0) * 2.0
        if start_h + c.window_hours > c.last_hour:
            return (
                None
                if day > midnight
                else _option(
                    c, o, lat, lon, units, _at(midnight + timedelta(days=1), c.first_hour), road
                )
            )
    else:
        start_h = c.first_hour
    start = _at(day, start_h)
    end = min(start + timedelta(hours=c.window_hours), _at(day, max(c.last_hour, start_h)))
    # own-fleet cost: the per-km share of the stem (out and back over ~30 stops) plus the stop
    per_km = c.cost_per_km_cents * km * (2.0 / 30.0 if c.mode is Mode.OWN_FLEET else 1.0)
    co2_km = c.co2_g_per_km * km * (2.0 / 30.0 if c.mode is Mode.OWN_FLEET else 2.0)
    return PromiseOption(
        carrier=c.name,
        mode=c.mode,
        origin=o.code,
        deliver_from=start,
        deliver_to=max(end, start),
        cost_cents=round(c.cost_per_parcel_cents + per_km),
        co2_g=round(c.co2_g_per_parcel + co2_km, 1),
        distance_km=round(km, 2),
    )


def promise_options(
    origins: Sequence[Origin],
    lat: float,
    lon: float,
    units: int,
    now: datetime,
    carriers: Sequence[Carrier] = DEFAULT_CARRIERS,
    *,
    road_factor: float = 1.3,
) -> list[PromiseOption]:
    """The best option per carrier (earliest, then cheapest, then nearest origin), sorted by
    earliest delivery then cost. Carriers with no origin in reach or over payload are absent.

    Raises:
        InvalidProblemError: ``units`` < 1 or coordinates out of range.
    """
    if units < 1:
        raise InvalidProblemError(f"units: {units} < 1")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise InvalidProblemError(f"lat/lon: ({lat}, {lon}) out of range")
    best: dict[str, PromiseOption] = {}
    for c in carriers:
        for o in origins:
            if o.kind not in c.ships_from:
                continue
            opt = _option(c, o, lat, lon, units, now, road_factor)
            if opt is None:
                continue
            key = (opt.deliver_from, opt.cost_cents, opt.distance_km)
            cur = best.get(c.name)
            if cur is None or key < (cur.deliver_from, cur.cost_cents, cur.distance_km):
                best[c.name] = opt
    return sorted(best.values(), key=lambda p: (p.deliver_from, p.cost_cents, p.carrier))
