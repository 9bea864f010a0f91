"""Home delivery: each warehouse's vans as a SimPy store of vehicles, leaving in daily waves.

Online orders wait at their warehouse. At every ``fleet.dispatch_hours`` hour each free
vehicle takes waiting orders in arrival order up to its capacity (at least one order), visits
them in a sweep around the depot (straight-line km x ``road_factor`` at the vehicle's speed,
plus ``service_minutes_per_stop``), and returns. Loading an order allocates and ships it
through the API (its reservation becomes a sale); reaching the customer delivers it. Cycle
time = delivered - placed, in hours.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from api.client.base import CommerceError
from api.schemas import OrderStatus
from twin.events import EventKind
from twin.simtime import days_to_hours, hours, minutes

if TYPE_CHECKING:
    from twin.ports import FleetHost


@dataclass(frozen=True, slots=True)
class Vehicle:
    name: str
    capacity_units: int
    speed_kmh: float


@dataclass(slots=True)
class PendingOrder:
    """An online order waiting for (or on) a vehicle."""

    order_id: int
    customer_lat: float
    customer_lon: float
    lines: dict[int, int]  # sku index -> units
    placed_at: float  # days
    units: int


class Fleet:
    """Vehicles per warehouse, the dispatch waves and the trips."""

    def __init__(self, twin: FleetHost) -> None:
        self.twin = twin
        sc = twin.world.scenario
        fl = sc.world.fleet
        self.hours = sorted(fl.dispatch_hours)
        self.service_days = minutes(fl.service_minutes_per_stop)
        self.queues: list[list[PendingOrder]] = []
        self.garages: list[simpy.Store] = []
        for wh in sc.world.warehouses:
            garage = simpy.Store(twin.env)
            for vt in fl.vehicles:
                if vt.depot is None or vt.depot == wh.code:
                    for _ in range(vt.count):
                        garage.items.append(Vehicle(vt.name, vt.capacity_units, vt.speed_kmh))
            self.garages.append(garage)
            self.queues.append([])
        self.depots = [(wh.lat, wh.lon) for wh in sc.world.warehouses]

    def start(self) -> None:
        for w in range(len(self.queues)):
            self.twin.env.process(self.dispatcher(w))

    def enqueue(self, wh: int, order: PendingOrder) -> None:
        self.queues[wh].append(order)

    def dispatcher(self, wh: int) -> Generator[simpy.Event, Any, None]:
        """SimPy process: at each dispatch hour, send every free vehicle out with orders."""
        env = self.twin.env
        for day in range(self.twin.days):
            for h in self.hours:
                at = day + hours(h)
                if at < env.now:
                    continue
                yield env.timeout(at - env.now)
                garage, queue = self.garages[wh], self.queues[wh]
                while queue and garage.items:
                    vehicle = yield garage.get()
                    load: list[PendingOrder] = []
                    units = 0
                    while queue and (not load or units + queue[0].units <= vehicle.capacity_units):
                        o = queue.pop(0)
                        load.append(o)
                        units += o.units
                    env.process(self.trip(wh, vehicle, load))

    def trip(
        self, wh: int, vehicle: Vehicle, load: list[PendingOrder]
    ) -> Generator[simpy.Event, Any, None]:
        """SimPy process: ship the load, deliver stop by stop, return the vehicle."""
        tw = self.twin
        env = tw.env
        lat0, lon0 = self.depots[wh]
        load.sort(key=lambda o: math.atan2(o.customer_lat - lat0, o.customer_lon - lon0))
        row = tw.world.warehouse_row(wh)
        for o in load:
            tw.ship_order(row, o)
        here = (lat0, lon0)
        for o in load:
            km = tw.world.distance_km(here[0], here[1], o.customer_lat, o.customer_lon)
            yield env.timeout(hours(km / vehicle.speed_kmh) + self.service_days)
            here = (o.customer_lat, o.customer_lon)
            try:
                tw.client.transition_order(o.order_id, OrderStatus.DELIVERED)
            except CommerceError:
                tw.delivery_failures += 1
                continue
            hours_taken = days_to_hours(env.now - o.placed_at)
            tw.kpis.cycle_times_hours.append((int(o.placed_at), hours_taken))
            tw.events.add(
                env.now, EventKind.DELIVERY, row, -1, o.units, round(hours_taken * 60), o.order_id
            )
        km = tw.world.distance_km(here[0], here[1], lat0, lon0)
        yield env.timeout(hours(km / vehicle.speed_kmh))
        yield self.garages[wh].put(vehicle)


def order_units(lines: dict[int, int]) -> int:
    return int(np.sum(list(lines.values()))) if lines else 0
