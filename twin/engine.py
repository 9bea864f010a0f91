"""The twin: a SimPy environment and a Mesa model driving commerce through ``CommerceClient``.

Time: 1 SimPy time unit = 1 simulated day; day 0.0 is midnight at the start of the
scenario's ``start_date``. The commerce service's clock follows SimPy time: before every API
call the recording client sets the injected :class:`~api.clock.ManualClock` to
``start + env.now``.

A day, in order:

* 00:00 deliveries arrive (supplier purchase orders, warehouse -> store shipments);
* 00:15 (``DECIDE_AT``) prices are set, replenishment orders leave, and the day's demand is
  drawn from the demand kernel and formed into shopper sessions (SimPy processes of Mesa
  customer agents) at their arrival times;
* during the day customers shop: in store (stock taken from the twin's view of the shelf,
  the store's sales sent as one POS batch at closing time) or online (cart, checkout; the
  order waits for a van of the fleet);
* 23:59 (``DAY_END``) perishables age through the inventory kernel and expire (API
  adjustments), reservations are expired, and the day's KPIs are closed.

Streams: the world seed (``world_seed``, 0 when absent) draws the world: catalog, prices,
demand parameters and the customers' homes; replications with different ``seed`` therefore
share one world. The replication seed makes one ``numpy.random.Generator`` that spawns
independent child streams (demand, sessions, supply, substitution), and the demand stream one
child per day, so policies compared on the same seed see the same demand draws (common random
numbers) as far as their prices allow.

Structure: the state is a :class:`~twin.state.TwinState`; the collaborators (market,
replenisher, stock operations, perishables, fleet, sales channels, shopping) each get the few
things they use, never the ``Twin``. Time constants and conversions are in :mod:`twin.simtime`.
The engine mode (``scenario.engine``) picks per-session or sliced shopping
(:mod:`twin.shopping`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

import numpy as np
import orjson
import simpy

from api.client.base import CommerceClient
from api.client.recorder import RecordingClient
from api.clock import ManualClock
from scenarios.schema import Policies, Scenario
from twin.agents import ShopModel
from twin.channels import SalesChannel, ShelfPrices, build_channels
from twin.errors import TwinConfigError
from twin.events import EventLog
from twin.fleet import FLEET_STREAM, Fleet
from twin.gateway import OrderGateway
from twin.kpis import KpiBook
from twin.market import Market
from twin.operations import StockOps
from twin.perishables import Perishables
from twin.population import Population
from twin.ports import ShippableOrder
from twin.replenishment import Replenisher
from twin.shopping import Shopping
from twin.simtime import DAY_END, DECIDE_AT, hours, to_datetime
from twin.state import TwinState
from twin.steady import mser5
from twin.warmstart import warm_start
from twin.world import World, build_world, initial_stock, population_world, seed_commerce

__all__ = ["Twin", "TwinResult"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TwinResult:
    """What a run produced. ``kpis`` is JSON-ready; digests make determinism checkable."""

    kpis: dict[str, Any]
    daily: dict[str, np.ndarray]
    book: KpiBook
    events: EventLog
    events_digest: str
    kpis_digest: str
    wall_seconds: float
    final_on_hand: np.ndarray
    final_reserved: np.ndarray
    initial_on_hand: np.ndarray
    flows: dict[str, np.ndarray]
    world: World


class _FleetPort:
    """What :class:`twin.fleet.Fleet` sees of the twin (see :class:`twin.ports.FleetHost`)."""

    def __init__(
        self,
        env: simpy.Environment,
        days: int,
        world: World,
        client: CommerceClient,
        kpis: KpiBook,
        events: EventLog,
        state: TwinState,
        ops: StockOps,
    ) -> None:
        self.env = env
        self.days = days
        self.world = world
        self.client = client
        self.kpis = kpis
        self.events = events
        self._state = state
        self._ops = ops

    @property
    def delivery_failures(self) -> int:
        return self._state.counters.delivery_failures

    @delivery_failures.setter
    def delivery_failures(self, value: int) -> None:
        self._state.counters.delivery_failures = value

    def ship_order(self, row: int, o: ShippableOrder) -> None:
        self._ops.ship_order(row, o)

    def free(self, row: int) -> np.ndarray:
        """Units on hand and not reserved at ``row``, per SKU (a new array)."""
        st = self._state
        out: np.ndarray = st.on_hand[row] - st.reserved[row]
        return out

    def ship_from(self, row: int, origin: int, lines: dict[int, int]) -> None:
        """An order reserved at ``row`` left from ``origin`` (its API shipment's origin; most
        often ``row`` itself): the reservation goes, the units leave ``origin`` as a sale."""
        st = self._state
        for s, q in lines.items():
            st.reserved[row, s] -= q
            st.on_hand[origin, s] -= q
            st.flows["sale"][origin, s] += q

    def book_return(self, row: int, sku: int, restocked: int, written_off: int) -> None:
        """A return the API booked (twin.returns): every unit in as a return flow, the unfit
        ones out as a write-off; the fit ones are on hand (fresh, for the perishables)."""
        st = self._state
        st.flows["return"][row, sku] += restocked + written_off
        st.flows["write_off"][row, sku] += written_off
        st.on_hand[row, sku] += restocked
        st.inflow[row, sku] += restocked


class Twin:
    """One run of a scenario against a commerce client.

    Args:
        scenario: the validated scenario.
        client: the commerce client (in-process or HTTP); it is wrapped in a recorder.
        clock: the clock injected into the in-process service (moved with SimPy time); for an
            HTTP server, a local clock used only to time-stamp the traffic trace.
        seed: overrides ``scenario.seed`` (the replication seed).
        days: overrides ``scenario.duration_days``.
        traffic: binary file for ``traffic.jsonl`` lines, or None.
        policies: overrides ``scenario.policies`` (for comparisons).

    Raises:
        TwinConfigError: ``days`` below 1.
    """

    def __init__(
        self,
        scenario: Scenario,
        client: CommerceClient,
        clock: ManualClock,
        *,
        seed: int | None = None,
        days: int | None = None,
        traffic: IO[bytes] | None = None,
        policies: Policies | None = None,
    ) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else int(seed)
        self.days = int(days or scenario.duration_days)
        if self.days < 1:
            raise TwinConfigError(f"days {self.days} must be >= 1")
        self.policies = policies or scenario.policies
        world_seed = 0 if scenario.world_seed is None else scenario.world_seed
        rng_catalog, rng_customers = np.random.default_rng(world_seed).spawn(2)
        rng_demand, self.rng_sessions, self.rng_supply, self.rng_subst = np.random.default_rng(
            self.seed
        ).spawn(4)
        self.day_rngs = rng_demand.spawn(self.days)
        w = build_world(scenario, rng_catalog)
        self.env = simpy.Environment()
        self.clock = clock
        self.client = RecordingClient(client, clock, traffic, before_call=self._sync_clock)
        self.model = ShopModel(scenario, w.store_warehouse, rng_customers)
        self.population: Population | None = None
        if scenario.engine.customers == "agents":
            m = self.model
            self.population = Population(scenario, w.store_warehouse, m.lat, m.lon, m.segment)
            w = population_world(w, self.population)
        self.world = w
        self.events = EventLog()
        self.events.set_names(list(w.location_codes), list(w.skus.codes))
        is_store = np.zeros(w.n_sites, dtype=bool)
        is_store[: w.n_stores] = True
        self.kpis = KpiBook(
            self.days,
            list(w.location_codes[: w.n_sites]),
            is_store,
            scenario.catalog.holding_cost_rate_per_year,
            warmup=min(scenario.warmup_days, self.days - 1),
        )
        vehicles = scenario.world.fleet.vehicles
        count = sum(v.count for v in vehicles)
        self.kpis.cost_per_km_cents = (
            sum(v.count * v.cost_per_km_cents for v in vehicles) / count if count else 0.0
        )
        self.state = TwinState.start(initial_stock(w))
        self.sliced = scenario.engine.mode == "sliced"
        self.orders = OrderGateway(self.client)
        self.ops = StockOps(
            self.env,
            w,
            self.state,
            self.client,
            self.orders,
            self.events,
            self.kpis,
            self.rng_supply,
        )
        self.prices = ShelfPrices()
        self.market: Market
        self.replenisher: Replenisher
        self.fleet: Fleet
        self.perishables: Perishables
        self.channels: list[SalesChannel]
        self.shopping: Shopping

    # ---- clock ---------------------------------------------------------------------------
    def clock_now(self) -> datetime:
        """The current simulated instant as a datetime."""
        return to_datetime(self.world.start, self.env.now)

    def _sync_clock(self) -> None:
        now = self.clock_now()
        if now > self.clock.now():
            self.clock.set(now)

    # ---- run -----------------------------------------------------------------------------
    def setup(self) -> None:
        """Seed the commerce service with the catalog, locations, prices and initial stock,
        and build the collaborators."""
        self._sync_clock()
        w, st, env = self.world, self.state, self.env
        self.replenisher = Replenisher(w, st, self.policies, self.ops)
        ws = None
        if self.scenario.engine.warm_start:
            rep = self.replenisher
            ws = warm_start(w, *rep.levels(), rep.store_lead_mean, rep.wh_lead_mean, rep.capacity)
            st.restart(ws.on_hand)
        seed_commerce(w, self.client, st.on_hand)
        if ws is not None:
            for arrive, wh, store, lines in ws.shipments:
                self.ops.inbound_shipment(arrive, wh, store, lines)
            for due, wh, sup, lines in ws.purchase_orders:
                self.ops.inbound_purchase_order(due, wh, sup, lines)
        self.market = Market(
            env,
            w,
            st,
            self.policies.pricing,
            self.client,
            self.events,
            self.days,
            self.clock_now,
        )
        self.fleet = Fleet(
            _FleetPort(env, self.days, w, self.client, self.kpis, self.events, st, self.ops),
            rng=np.random.default_rng([self.seed, FLEET_STREAM]),
        )
        self.perishables = Perishables(w, st, self.ops.write_off)
        self.channels = build_channels(
            env,
            w,
            st,
            self.kpis,
            self.events,
            self.rng_subst,
            self.client,
            self.orders,
            self.fleet,
            self.prices,
            sliced=self.sliced,
            population=self.population,
            model=self.model,
            seed=self.seed,
        )
        self.shopping = Shopping(
            env,
            w,
            st,
            self.kpis,
            self.model,
            self.channels,
            self.rng_sessions,
            self.day_rngs,
            self.scenario.engine.slice_minutes if self.sliced else None,
            self.population,
        )

    def run(self, progress: Callable[[int, int], None] | None = None) -> TwinResult:
        """Run all days; ``progress(day_done, days)`` is called after each simulated day."""
        t0 = time.perf_counter()
        self.setup()
        env = self.env
        env.process(self._controller())
        env.process(self._day_end(progress))
        for ch in self.channels:
            for col in ch.columns():
                env.process(self._closing(ch, col))
        self.fleet.start()
        env.run(until=float(self.days))
        wall = time.perf_counter() - t0
        return self._result(wall)

    def _result(self, wall: float) -> TwinResult:
        st = self.state
        kpis: dict[str, Any] = dict(self.kpis.totals())
        kpis["api_calls"] = self.client.total_calls
        api = self.client.api_summary()
        lat = [s.get("mean_ms", 0.0) * s["calls"] for s in api.values() if s["calls"]]
        kpis["api_mean_latency_ms"] = float(sum(lat) / max(1, self.client.total_calls))
        on_hand = self.kpis.data["on_hand_units"].sum(axis=1)
        mser = mser5(on_hand)
        kpis["warmup_mser5_days"] = -1 if mser is None else mser
        kpis["warmup_sufficient"] = mser is not None and mser <= self.kpis.warmup
        kpis["pos_rejected_units"] = st.counters.pos_rejected
        kpis["checkout_failures"] = st.counters.checkout_failures
        kpis.update(self.fleet.kpis())  # delivery KPIs (routing: twin/fleet.py)
        # refunds of returned orders (twin/returns.py) come off the revenue
        kpis["net_revenue_cents"] = int(kpis["revenue_cents"]) - int(kpis["returns_refund_cents"])
        for ch in self.channels:  # voice / social channels count their own sessions
            kpis.update(ch.extra_kpis())
        # The routed fleet measures its own road km (planned routes); the per-km cost of the
        # fleet's vehicles applies to them.
        kpis["van_km"] = round(float(kpis["fleet_km"]), 3)
        kpis["delivery_cost_cents"] = round(self.kpis.cost_per_km_cents * kpis["van_km"])
        kpis["events_digest"] = self.events.digest()
        kpis["wall_seconds"] = wall
        kpis["sessions_per_wall_second"] = st.counters.sessions / wall if wall > 0 else 0.0
        det = {
            k: v
            for k, v in kpis.items()
            if k not in ("wall_seconds", "sessions_per_wall_second", "api_mean_latency_ms")
        }
        kpis_digest = hashlib.sha256(orjson.dumps(det, option=orjson.OPT_SORT_KEYS)).hexdigest()
        kpis["kpis_digest"] = kpis_digest
        kpis["api"] = api
        return TwinResult(
            kpis=kpis,
            daily=self.kpis.network_daily(),
            book=self.kpis,
            events=self.events,
            events_digest=kpis["events_digest"],
            kpis_digest=kpis_digest,
            wall_seconds=wall,
            final_on_hand=st.on_hand.copy(),
            final_reserved=st.reserved.copy(),
            initial_on_hand=st.initial.copy(),
            flows={k: v.copy() for k, v in st.flows.items()},
            world=self.world,
        )

    # ---- daily processes -----------------------------------------------------------------
    def _controller(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        st = self.state
        for day in range(self.days):
            yield env.timeout(day + DECIDE_AT - env.now)
            st.day = day
            st.forget_before(day)  # every delivery due before today has arrived or moved on
            rates = self.market.morning(day)
            self.prices.rows = self.market.effective.T.tolist()
            self.replenisher.run(day, rates)
            self.shopping.schedule(day, rates)

    def _closing(self, ch: SalesChannel, col: int) -> Generator[simpy.Event, Any, None]:
        """SimPy process of one channel location: at its closing hour, send what is buffered."""
        env = self.env
        close = hours(ch.hours(col)[1])
        for day in range(self.days):
            at = min(day + close, day + DAY_END - 1e-6)
            yield env.timeout(max(0.0, at - env.now))
            ch.close(col)

    def _day_end(
        self, progress: Callable[[int, int], None] | None
    ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        w = self.world
        st = self.state
        for day in range(self.days):
            yield env.timeout(day + DAY_END - env.now)
            for ch in self.channels:
                for col in ch.columns():
                    ch.close(col)
            self.perishables.age(day)
            self.client.expire_reservations()
            self.kpis.close_day(
                day,
                st.on_hand[: w.n_sites],
                w.skus.cost_cents,
                np.ones((w.n_sites, w.n_skus), dtype=bool),
            )
            if self.population is not None:
                self.population.end_of_day()
            self.market.evening(st.sold_today.astype(np.float64))
            st.sold_today[:] = 0
            if progress is not None:
                progress(day + 1, self.days)
