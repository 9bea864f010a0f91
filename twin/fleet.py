"""Home delivery: each day's routes planned by a real solver, then driven in simulated time.

Online orders wait at their warehouse. An order placed before the day's planning time (the
first of ``fleet.dispatch_hours``; the *cut-off*) is promised for that day, a later one for the
next day, in a customer time slot (``slot_hours`` long, between the shift start + 1 h and the
shift end; the customer picks among the slots a van can still reach). At the planning time
the fleet plans every waiting order with :func:`policies.routing.daily.plan_deliveries` (the
:class:`~policies.routing.Router`; PyVRP by default): each warehouse's vans, their capacity,
the slots, shift lengths, per-km and per-hour costs. An order the plan leaves out (out of
reach, or dearer to route than to hand over) goes to a parcel carrier (3PL) and arrives the
next day. Vans leave at their planned departure; loading an order allocates and ships it
through the API (``fleet.shipments: true``, default off: ``allocate_order`` then the shipment's
``picked``/``packed``/``shipped``, ``failed`` at a failed stop and ``shipped`` again at the
re-delivery, ``delivered``; off, or when another node would win the allocation: the older
order transitions); at each stop the delivery fails with probability ``failure_rate`` and the
order waits for the next day's plan (after ``max_attempts`` failures it goes to the parcel
carrier). Distances: straight line on a local projection x ``road_factor``.

Costs, CO2 and the slot length default to the carriers configuration (``configs/carriers.yaml``:
its ``own_fleet`` and ``parcel`` carriers; a scenario field of the same name still wins). A
share of delivered orders comes back through the API's RMA flow (:mod:`twin.returns`).

KPIs (:meth:`Fleet.kpis`): on-time rate (delivered on the promised day, in the slot), cost
per order (vans' km and hours plus parcel fees), km, CO2 per order, van utilisation (units
loaded / capacity of the vans that left) and van-time utilisation (route hours / shift hours
of the whole fleet). Knobs the scenario schema does not carry yet take the defaults of
:class:`FleetSettings` (a scenario's ``fleet`` or vehicle entry with a field of the same name
overrides them; a vehicle's cost or CO2 field of 0 means "not set").
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Generator
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from api.client.base import CommerceError
from api.schemas import LocationKind, OrderStatus
from api.schemas_fulfilment import (
    AllocationRequest,
    ShipmentStatus,
    ShipmentTransition,
    WeightsIn,
)
from api.services.carriers import CarrierBook, active_carriers
from policies.routing import Depot, VehicleType
from policies.routing.carriers import Mode, haversine_km
from policies.routing.daily import DailyPlanConfig, DayRoute, DeliveryOrder, plan_deliveries
from twin.events import EventKind
from twin.returns import Returns, ReturnsSettings

if TYPE_CHECKING:
    from scenarios.schema import Scenario
    from twin.ports import FleetHost

logger = logging.getLogger(__name__)

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320
FLEET_STREAM = 0xF1EE7  # the fleet's random stream, derived from the run seed


@dataclass(frozen=True, slots=True)
class FleetSettings:
    """Fleet knobs with their defaults (money in cents, CO2 in grams)."""

    shift_hours: float = 10.0
    slot_hours: float = 2.0
    failure_rate: float = 0.03
    max_attempts: int = 2
    cost_per_km_cents: int = 35
    cost_per_hour_cents: int = 2500
    co2_g_per_km: float = 250.0
    parcel_cost_cents: int = 690
    parcel_co2_g: float = 450.0
    late_fee_cents: int = 1000
    router: str = "auto"
    max_iterations: int = 50
    time_limit_s: float = 120.0
    max_cluster: int = 200
    shipments: bool = False

    @classmethod
    def from_carriers(cls, book: CarrierBook) -> FleetSettings:
        """Defaults with the costs, CO2 and slot length of the carriers configuration: its
        first ``own_fleet`` carrier (the vans) and first ``parcel`` carrier (the 3PL)."""
        over: dict[str, Any] = {}
        van = book.by_mode(Mode.OWN_FLEET)
        if van is not None:
            over.update(
                cost_per_km_cents=van.cost_per_km_cents,
                co2_g_per_km=van.co2_g_per_km,
                slot_hours=van.window_hours,
            )
            if van.cost_per_hour_cents:
                over["cost_per_hour_cents"] = van.cost_per_hour_cents
        parcel = book.by_mode(Mode.PARCEL)
        if parcel is not None:
            over.update(
                parcel_cost_cents=parcel.cost_per_parcel_cents,
                parcel_co2_g=parcel.co2_g_per_parcel,
            )
        return cls(**over)

    @classmethod
    def from_scenario(cls, fleet: object, book: CarrierBook | None = None) -> FleetSettings:
        """Defaults (from ``book`` when given, see :meth:`from_carriers`), overridden by
        same-named fields of the scenario's ``fleet`` section."""
        base = cls.from_carriers(book) if book is not None else cls()
        return replace(
            base,
            **{f.name: getattr(fleet, f.name) for f in fields(cls) if hasattr(fleet, f.name)},
        )


@dataclass(slots=True)
class PendingOrder:
    """An online order waiting for (or on) a vehicle. Times in days unless named."""

    order_id: int
    customer_lat: float
    customer_lon: float
    lines: dict[int, int]  # sku index -> units
    placed_at: float  # days
    units: int
    promised_day: int = -1
    slot_start_min: float = 0.0  # minutes after the promised day's midnight
    slot_end_min: float = 1440.0
    attempts: int = 0
    shipped: bool = False
    shipment_id: int | None = None  # the API shipment (``fleet.shipments``), once allocated
    failed: bool = False  # its shipment is ``failed``, waiting for re-delivery


@dataclass(slots=True)
class FleetStats:
    """Running totals behind :meth:`Fleet.kpis` (from the warm-up day on)."""

    delivered: int = 0
    on_time: int = 0
    by_parcel: int = 0
    failed_attempts: int = 0
    van_km: float = 0.0
    van_cost_cents: int = 0
    parcel_cost_cents: int = 0
    co2_g: float = 0.0
    routes: int = 0
    load_units: int = 0
    capacity_units: int = 0
    route_minutes: float = 0.0
    shift_minutes: float = 0.0
    unreachable: int = 0
    plan_wall_s: list[float] = field(default_factory=list)


class FleetModel:
    """A scenario's fleet as routing data: depots, vehicle types, slots, promises, orders.

    No SimPy here: :class:`Fleet` drives it in the twin, ``benchmarks/routing.py --twin-day``
    plans a day with it directly.
    """

    def __init__(
        self, scenario: Scenario, rng: np.random.Generator, carriers: CarrierBook | None = None
    ) -> None:
        sc = scenario
        fl = sc.world.fleet
        self.carriers = carriers if carriers is not None else active_carriers()
        self.settings = st = FleetSettings.from_scenario(fl, self.carriers)
        self.rng = rng
        self.plan_min = 60.0 * min(fl.dispatch_hours)
        self.service_min = float(fl.service_minutes_per_stop)
        self.road_factor = float(fl.road_factor)
        lats = [wh.lat for wh in sc.world.warehouses]
        self.lat0 = float(np.mean(lats))
        self.lon0 = float(np.mean([wh.lon for wh in sc.world.warehouses]))
        self.kx = KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(self.lat0))
        self.depots = tuple(
            Depot(wh.code, *self.project(wh.lat, wh.lon)) for wh in sc.world.warehouses
        )
        shift_end = self.plan_min + 60.0 * st.shift_hours
        vehicles: list[VehicleType] = []
        for w, wh in enumerate(sc.world.warehouses):
            for vt in fl.vehicles:
                if vt.depot is None or vt.depot == wh.code:
                    vehicles.append(
                        VehicleType(
                            name=f"{vt.name}@{wh.code}",
                            depot=w,
                            count=int(vt.count),
                            capacity=int(vt.capacity_units),
                            speed_kmh=float(vt.speed_kmh),
                            cost_per_km_cents=int(
                                getattr(vt, "cost_per_km_cents", 0) or st.cost_per_km_cents
                            ),
                            cost_per_hour_cents=int(
                                getattr(vt, "cost_per_hour_cents", 0) or st.cost_per_hour_cents
                            ),
                            co2_g_per_km=float(getattr(vt, "co2_g_per_km", 0) or st.co2_g_per_km),
                            shift_start_min=self.plan_min,
                            shift_end_min=shift_end,
                            max_shift_min=60.0 * st.shift_hours,
                            distance_factor=self.road_factor,
                        )
                    )
        self.vehicles = tuple(vehicles)
        self.slots = self._slots(shift_end)

    # ---- geometry and promises -------------------------------------------------------------
    def project(self, lat: float, lon: float) -> tuple[float, float]:
        """Local planar km (equirectangular about the warehouses' centre)."""
        return ((lon - self.lon0) * self.kx, (lat - self.lat0) * KM_PER_DEG_LAT)

    def _slots(self, shift_end: float) -> list[tuple[float, float]]:
        length = 60.0 * self.settings.slot_hours
        out: list[tuple[float, float]] = []
        t = self.plan_min + 60.0
        while t + length <= shift_end - 30.0 + 1e-9:
            out.append((t, t + length))
            t += length
        return out or [(self.plan_min, shift_end)]

    def promise(self, wh: int, order: PendingOrder, now_days: float) -> None:
        """Set the promised day (cut-off at the planning time) and draw the customer's slot
        among those the fastest van of ``wh`` can reach."""
        day = math.floor(now_days)
        order.promised_day = day if (now_days - day) * 1440.0 < self.plan_min else day + 1
        x, y = self.project(order.customer_lat, order.customer_lon)
        d = self.depots[wh]
        speeds = [v.speed_kmh for v in self.vehicles if v.depot == wh] or [1.0]
        leg = math.hypot(x - d.x_km, y - d.y_km) * self.road_factor / max(speeds) * 60.0
        earliest = self.plan_min + leg
        ok = [s for s in self.slots if s[1] >= earliest + self.service_min]
        order.slot_start_min, order.slot_end_min = (
            ok[int(self.rng.integers(len(ok)))] if ok else self.slots[-1]
        )

    def delivery_orders(self, due: list[tuple[int, PendingOrder]]) -> list[DeliveryOrder]:
        """The routing view of ``(warehouse, order)`` pairs due today."""
        st = self.settings
        out: list[DeliveryOrder] = []
        for w, o in due:
            x, y = self.project(o.customer_lat, o.customer_lon)
            out.append(
                DeliveryOrder(
                    ref=o.order_id,
                    depot=w,
                    x_km=x,
                    y_km=y,
                    units=o.units,
                    slot_start_min=o.slot_start_min,
                    slot_end_min=o.slot_end_min,
                    service_min=self.service_min,
                    penalty_cents=st.parcel_cost_cents + st.late_fee_cents,
                )
            )
        return out

    def plan_config(self) -> DailyPlanConfig:
        """The planner's settings, with a fresh seed from the fleet's stream."""
        st = self.settings
        return DailyPlanConfig(
            router=st.router,
            max_iterations=st.max_iterations,
            time_limit_s=st.time_limit_s,
            max_cluster=st.max_cluster,
            seed=int(self.rng.integers(2**31)),
        )


class Fleet(FleetModel):
    """Vehicles per warehouse, the daily plan and the trips (see the module docstring)."""

    def __init__(
        self,
        twin: FleetHost,
        rng: np.random.Generator,
        carriers: CarrierBook | None = None,
        returns: ReturnsSettings | None = None,
    ) -> None:
        super().__init__(twin.world.scenario, rng, carriers)
        self.twin = twin
        self.queues: list[list[PendingOrder]] = [[] for _ in self.depots]
        self.stats = FleetStats()
        self.plans = 0
        self.use_shipments = self.settings.shipments
        self.off_node = 0  # orders another node would have won: order transitions instead
        self._rows = {c: i for i, c in enumerate(twin.world.location_codes)}
        # every API warehouse node (depots and their transit stock): (code, row, lat, lon)
        self._nodes = [
            (code, self._rows[code], wh.lat, wh.lon)
            for wh in twin.world.scenario.world.warehouses
            for code in (wh.code, f"{wh.code}-TRANSIT")
            if code in self._rows
        ]
        if returns is None:
            section = getattr(twin.world.scenario, "returns", None)
            returns = None if section is None else ReturnsSettings.from_scenario(section)
        # its own stream: spawning draws nothing from the fleet's, so its plans are unchanged
        self.returns = Returns(twin, rng.spawn(1)[0], returns)

    # ---- SimPy processes ------------------------------------------------------------------
    def start(self) -> None:
        self.twin.env.process(self.planner())

    def enqueue(self, wh: int, order: PendingOrder) -> None:
        self.promise(wh, order, self.twin.env.now)
        self.queues[wh].append(order)

    def planner(self) -> Generator[simpy.Event, Any, None]:
        """SimPy process: every day at the planning time, plan and dispatch the due orders."""
        env = self.twin.env
        for day in range(self.twin.days):
            at = day + self.plan_min / 1440.0
            if at < env.now:
                continue
            yield env.timeout(at - env.now)
            self.plan_day(day)

    def plan_day(self, day: int) -> None:
        """Plan every order due by ``day`` and start its trip or its parcel."""
        st = self.settings
        due: list[tuple[int, PendingOrder]] = []
        for w, q in enumerate(self.queues):
            due += [(w, o) for o in q if o.promised_day <= day]
            self.queues[w] = [o for o in q if o.promised_day > day]
        if day >= self.twin.kpis.warmup:
            self.stats.shift_minutes += 60.0 * st.shift_hours * sum(v.count for v in self.vehicles)
        if not due:
            return
        t0 = time.perf_counter()
        plan = plan_deliveries(
            self.delivery_orders(due), self.depots, self.vehicles, self.plan_config()
        )
        self.stats.plan_wall_s.append(time.perf_counter() - t0)
        self.plans += 1
        if not plan.feasible:
            logger.warning("day %d plan broke constraints: %s", day, plan.violations[:3])
        counted = day >= self.twin.kpis.warmup
        for r in plan.routes:
            if counted:
                self.stats.routes += 1
                self.stats.load_units += r.load
                self.stats.capacity_units += r.capacity
                self.stats.route_minutes += r.end_min - r.start_min
                self.stats.van_km += r.distance_km
                self.stats.van_cost_cents += r.cost_cents
                self.stats.co2_g += r.co2_g
            self.twin.env.process(self.trip(day, r, [due[i] for i in r.orders]))
        for i in plan.unrouted:
            self.stats.unreachable += int(counted and i in plan.unreachable)
            self.twin.env.process(self.parcel(day, *due[i]))

    def _counted(self) -> bool:
        return self.twin.env.now >= self.twin.kpis.warmup

    def trip(
        self, day: int, route: DayRoute, load: list[tuple[int, PendingOrder]]
    ) -> Generator[simpy.Event, Any, None]:
        """SimPy process: leave at the planned time, deliver stop by stop (some fail)."""
        env = self.twin.env
        yield env.timeout(max(0.0, day + route.start_min / 1440.0 - env.now))
        for w, o in load:
            self._ship(w, o)
        for (w, o), arrive in zip(load, route.arrival_min, strict=True):
            yield env.timeout(max(0.0, day + arrive / 1440.0 - env.now))
            if self.rng.random() < self.settings.failure_rate:
                o.attempts += 1
                self._fail(o)
                self.stats.failed_attempts += int(self._counted())
                if o.attempts < self.settings.max_attempts:
                    self.queues[w].append(o)  # promised_day stays: re-planned tomorrow
                else:
                    env.process(self.parcel(day, w, o))
                continue
            self._deliver(w, o, on_time=day == o.promised_day and arrive <= o.slot_end_min + 1)

    def parcel(self, day: int, w: int, o: PendingOrder) -> Generator[simpy.Event, Any, None]:
        """SimPy process: the parcel carrier delivers next day in the slot (late if promised
        for today)."""
        st = self.settings
        self._ship(w, o)
        if self._counted():
            self.stats.by_parcel += 1
            self.stats.parcel_cost_cents += st.parcel_cost_cents
            self.stats.co2_g += st.parcel_co2_g
        env = self.twin.env
        yield env.timeout(max(0.0, day + 1 + o.slot_start_min / 1440.0 - env.now))
        self._deliver(w, o, on_time=day + 1 == o.promised_day)

    def _ship(self, w: int, o: PendingOrder) -> None:
        """Hand ``o`` to its van or parcel carrier: allocated and shipped through the API the
        first time, back to ``shipped`` after a failed attempt (re-delivery)."""
        if o.shipped:
            if o.failed and o.shipment_id is not None:
                o.failed = not self._step(o.shipment_id, ShipmentStatus.SHIPPED, o.attempts)
            return
        if not (self.use_shipments and self._ship_allocated(w, o)):
            self.twin.ship_order(self.twin.world.warehouse_row(w), o)
        o.shipped = True

    def _step(self, sid: int, to: ShipmentStatus, attempt: int = 0) -> bool:
        """One shipment transition (deterministic key); False when the API refused it."""
        try:
            self.twin.client.transition_shipment(
                sid,
                ShipmentTransition(to=to),
                idempotency_key=f"twin-ship-{sid}-{to.value}-{attempt}",
            )
        except CommerceError as exc:
            self.twin.delivery_failures += 1
            logger.warning("shipment %s refused %s: %s", sid, to.value, exc)
            return False
        return True

    def _own_node_wins(self, row: int, o: PendingOrder) -> bool:
        """Whether the allocation (distance weight only, one shipment, warehouse nodes) picks
        the order's own warehouse: no other node holding every line is nearer the customer (the
        API breaks ties by code, and the order's own reservation counts there). The twin's
        stock mirrors the ledger's, so this is the API's choice, seen ahead."""
        own = self.twin.world.location_codes[row]
        km = {
            code: haversine_km(lat, lon, o.customer_lat, o.customer_lon)
            for code, _, lat, lon in self._nodes
        }
        mine = (km.get(own, 0.0), own)
        for code, r, _, _ in self._nodes:
            if code == own or (km[code], code) >= mine:
                continue
            free = self.twin.free(r)
            if all(free[s] >= q for s, q in o.lines.items()):
                return False
        return True

    def _ship_allocated(self, w: int, o: PendingOrder) -> bool:
        """Allocate ``o`` (one shipment from its own warehouse) and move it picked, packed,
        shipped; the twin's stock follows the ledger. False when the door serves no allocation
        or another node would win it (a transit stock must stay where it is): the order then
        takes the older order transitions."""
        tw = self.twin
        row = tw.world.warehouse_row(w)
        if not self._own_node_wins(row, o):
            self.off_node += 1
            return False
        try:
            ships = tw.client.allocate_order(
                o.order_id,
                AllocationRequest(
                    lat=o.customer_lat,
                    lon=o.customer_lon,
                    allow_split=False,
                    kinds=[LocationKind.WAREHOUSE],
                    weights=WeightsIn(distance=1, carrier=0, co2=0, capacity=0, stock=0, split=0),
                ),
                idempotency_key=f"twin-alloc-{o.order_id}",
            )
        except NotImplementedError:
            self.use_shipments = False
            logger.info("the commerce client serves no allocation; order transitions instead")
            return False
        except CommerceError as exc:
            logger.warning(
                "order %s not allocated (%s); order transitions instead", o.order_id, exc
            )
            return False
        (ship,) = ships
        o.shipment_id = ship.id
        for to in (ShipmentStatus.PICKED, ShipmentStatus.PACKED, ShipmentStatus.SHIPPED):
            if not self._step(ship.id, to):
                return True  # counted as a delivery failure; the ledger keeps its reservation
        tw.ship_from(row, self._rows.get(ship.origin, row), o.lines)
        return True

    def _fail(self, o: PendingOrder) -> None:
        if o.shipment_id is not None and not o.failed:
            o.failed = self._step(o.shipment_id, ShipmentStatus.FAILED, o.attempts)

    def _deliver(self, w: int, o: PendingOrder, *, on_time: bool) -> None:
        tw = self.twin
        env = tw.env
        if o.shipment_id is not None:
            if not self._step(o.shipment_id, ShipmentStatus.DELIVERED):
                return
        else:
            try:
                tw.client.transition_order(o.order_id, OrderStatus.DELIVERED)
            except CommerceError:
                tw.delivery_failures += 1
                return
        hours = (env.now - o.placed_at) * 24.0
        tw.kpis.cycle_times_hours.append((int(o.placed_at), hours))
        row = tw.world.warehouse_row(w)
        tw.events.add(env.now, EventKind.DELIVERY, row, -1, o.units, round(hours * 60), o.order_id)
        counted = self._counted()
        if counted:
            self.stats.delivered += 1
            self.stats.on_time += int(on_time)
        self.returns.delivered(row, o.order_id, o.lines, counted)

    # ---- KPIs -----------------------------------------------------------------------------
    def kpis(self) -> dict[str, float]:
        """Delivery KPIs from the warm-up day on (deliveries, routes and parcels of those days;
        deterministic given the
        seed; the planner's wall time is in ``stats.plan_wall_s``, not here)."""
        s = self.stats
        n = max(1, s.delivered)
        return {
            "fleet_orders_delivered": float(s.delivered),
            "fleet_on_time_rate": s.on_time / n,
            "fleet_cost_per_order_cents": (s.van_cost_cents + s.parcel_cost_cents) / n,
            "fleet_km": s.van_km,
            "fleet_co2_g_per_order": s.co2_g / n,
            "fleet_van_utilisation": s.load_units / max(1, s.capacity_units),
            "fleet_van_time_utilisation": s.route_minutes / max(1.0, s.shift_minutes),
            "fleet_routes": float(s.routes),
            "fleet_failed_deliveries": float(s.failed_attempts),
            "fleet_parcel_orders": float(s.by_parcel),
            "fleet_unreachable_orders": float(s.unreachable),
            "fleet_orders_without_shipment": float(self.off_node),
            **self.returns.kpis(s.delivered),
        }


def order_units(lines: dict[int, int]) -> int:
    return int(np.sum(list(lines.values()))) if lines else 0
