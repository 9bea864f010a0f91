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

Streams: the seed makes one ``numpy.random.Generator``; the twin spawns independent child
streams from it (catalog, demand, sessions, supply, substitution, customers), and the demand
stream one child per day, so policies compared on the same seed see the same demand draws
(common random numbers) as far as their prices allow.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

import numpy as np
import orjson
import simpy

from api.client.base import CommerceClient, CommerceError
from api.clock import ManualClock
from api.schemas import (
    AdjustmentCreate,
    OrderStatus,
    PosSale,
    PosSaleBatch,
)
from scenarios.schema import Policies, Scenario
from twin.agents import ShopModel
from twin.events import EventKind, EventLog
from twin.fleet import Fleet, PendingOrder
from twin.kpis import KpiBook
from twin.market import Market
from twin.perishables import Perishables
from twin.processes import Replenisher, send_receipt, send_transfer, shipment, supplier_delivery
from twin.recorder import RecordingClient
from twin.shopping import Shopping
from twin.world import World, build_world, initial_stock, round_days, seed_commerce

logger = logging.getLogger(__name__)

DECIDE_AT = 1.0 / 96.0  # 00:15
DAY_END = 1.0 - 1.0 / 1440.0  # 23:59


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


class Twin:
    """One run of a scenario against a commerce client.

    Args:
        scenario: the validated scenario.
        client: the commerce client (in-process or HTTP); it is wrapped in a recorder.
        clock: the clock injected into the in-process service (moved with SimPy time); for an
            HTTP server, a local clock used only to time-stamp the traffic trace.
        seed: overrides ``scenario.seed``.
        days: overrides ``scenario.duration_days``.
        traffic: binary file for ``traffic.jsonl`` lines, or None.
        policies: overrides ``scenario.policies`` (for comparisons).
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
            raise ValueError(f"days {self.days} must be >= 1")
        self.policies = policies or scenario.policies
        root = np.random.default_rng(self.seed)
        (
            rng_catalog,
            rng_demand,
            self.rng_sessions,
            self.rng_supply,
            self.rng_subst,
            rng_customers,
        ) = root.spawn(6)
        self.day_rngs = rng_demand.spawn(self.days)
        self.world = w = build_world(scenario, rng_catalog)
        self.env = simpy.Environment()
        self.clock = clock
        self.client = RecordingClient(client, clock, traffic, before_call=self._sync_clock)
        self.model = ShopModel(scenario, w.store_warehouse, rng_customers)
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
        # the twin's view of the ledger, (n_locations, n_skus) units
        self.on_hand = initial_stock(w)
        self.initial = self.on_hand.copy()
        self.reserved = np.zeros_like(self.on_hand)
        # cumulative flows per (location, SKU) since the initial stock, for reconciliation
        self.flows = {
            k: np.zeros_like(self.on_hand)
            for k in ("receipt", "sale", "transfer_in", "transfer_out", "write_off", "return")
        }
        self.incoming: dict[int, np.ndarray] = {}
        self.pos_qty = np.zeros((w.n_stores, w.n_skus), dtype=np.int64)
        self.pos_value = np.zeros(w.n_stores, dtype=np.int64)
        self.inflow = np.zeros_like(self.on_hand)
        self.sold_today = np.zeros(w.n_skus, dtype=np.int64)
        self.cost_list: list[int] = w.skus.cost_cents.tolist()
        self.day = 0
        self.sessions = 0
        self.pos_rejected = 0
        self.checkout_failures = 0
        self.delivery_failures = 0
        self._ref = 0
        self.market: Market
        self.replenisher: Replenisher
        self.fleet: Fleet
        self.perishables: Perishables
        self.shopping = Shopping(self)
        self.price_rows: list[list[int]] = []

    # ---- clock ---------------------------------------------------------------------------
    def clock_now(self) -> datetime:
        return self.world.start + timedelta(days=self.env.now)

    def _sync_clock(self) -> None:
        now = self.clock_now()
        if now > self.clock.now():
            self.clock.set(now)

    def next_ref(self) -> int:
        self._ref += 1
        return self._ref

    # ---- run -----------------------------------------------------------------------------
    def setup(self) -> None:
        """Seed the commerce service with the catalog, locations, prices and initial stock."""
        self._sync_clock()
        seed_commerce(self.world, self.client, self.on_hand)
        self.market = Market(self)
        self.replenisher = Replenisher(self)
        self.fleet = Fleet(self)
        self.perishables = Perishables(self)

    def run(self, progress: Callable[[int, int], None] | None = None) -> TwinResult:
        """Run all days; ``progress(day_done, days)`` is called after each simulated day."""
        t0 = time.perf_counter()
        self.setup()
        env = self.env
        env.process(self._controller())
        env.process(self._day_end(progress))
        for s in range(self.world.n_stores):
            env.process(self._store_pos(s))
        self.fleet.start()
        env.run(until=float(self.days))
        wall = time.perf_counter() - t0
        return self._result(wall)

    def _result(self, wall: float) -> TwinResult:
        kpis: dict[str, Any] = dict(self.kpis.totals())
        kpis["api_calls"] = self.client.total_calls
        api = self.client.api_summary()
        lat = [s.get("mean_ms", 0.0) * s["calls"] for s in api.values() if s["calls"]]
        kpis["api_mean_latency_ms"] = float(sum(lat) / max(1, self.client.total_calls))
        kpis["pos_rejected_units"] = self.pos_rejected
        kpis["checkout_failures"] = self.checkout_failures
        kpis.update(self.fleet.kpis())  # delivery KPIs (routing: twin/fleet.py)
        kpis["events_digest"] = self.events.digest()
        kpis["wall_seconds"] = wall
        kpis["sessions_per_wall_second"] = self.sessions / wall if wall > 0 else 0.0
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
            final_on_hand=self.on_hand.copy(),
            final_reserved=self.reserved.copy(),
            initial_on_hand=self.initial.copy(),
            flows={k: v.copy() for k, v in self.flows.items()},
            world=self.world,
        )

    # ---- daily processes -----------------------------------------------------------------
    def _controller(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        for day in range(self.days):
            yield env.timeout(day + DECIDE_AT - env.now)
            self.day = day
            for k in [k for k in self.incoming if k < day]:
                del self.incoming[k]  # every delivery due before today has arrived or moved on
            rates = self.market.morning(day)
            self.price_rows = self.market.effective.T.tolist()
            self.replenisher.run(day, rates)
            self.shopping.schedule(day, rates)

    def _store_pos(self, s: int) -> Generator[simpy.Event, Any, None]:
        """SimPy process of store ``s``: send the day's sales as one POS batch at closing."""
        env = self.env
        close = self.scenario.world.stores[s].opening_hours.close / 24.0
        for day in range(self.days):
            at = min(day + close, day + DAY_END - 1e-6)
            yield env.timeout(max(0.0, at - env.now))
            self.flush_pos(s)

    def flush_pos(self, s: int) -> None:
        qty = self.pos_qty[s]
        nz = np.flatnonzero(qty)
        if nz.size == 0:
            return
        codes = self.world.skus.codes
        prices = self.price_rows[s]
        ref = f"POS-{self.world.location_codes[s]}-{self.next_ref()}"
        body = PosSaleBatch(
            location=self.world.location_codes[s],
            reference=ref,
            # the twin builds valid lines itself: skip per-line validation
            sales=[
                PosSale.model_construct(sku=codes[i], quantity=q, unit_price_cents=prices[i])
                for i, q in zip(nz.tolist(), qty[nz].tolist(), strict=True)
            ],
        )
        res = self.client.pos_sales(body, idempotency_key=ref)
        self.flows["sale"][s] += qty
        for rej in res.rejected:
            i = self.world.skus.index_of(rej.sku)
            self.flows["sale"][s, i] -= rej.requested
            self.pos_rejected += rej.requested
            self.on_hand[s, i] += rej.requested  # the shelf never had it: restore the view
            self.events.add(self.env.now, EventKind.POS_REJECTED, s, i, rej.requested)
        qty[:] = 0

    def _day_end(
        self, progress: Callable[[int, int], None] | None
    ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        w = self.world
        for day in range(self.days):
            yield env.timeout(day + DAY_END - env.now)
            for s in range(w.n_stores):
                self.flush_pos(s)
            self.perishables.age(day)
            self.client.expire_reservations()
            self.kpis.close_day(
                day,
                self.on_hand[: w.n_sites],
                w.skus.cost_cents,
                np.ones((w.n_sites, w.n_skus), dtype=bool),
            )
            self.market.evening(self.sold_today.astype(np.float64))
            self.sold_today[:] = 0
            if progress is not None:
                progress(day + 1, self.days)

    # ---- operations called by the processes ------------------------------------------------
    def api_transfer(self, src: int, dst: int, lines: np.ndarray, ref: str) -> None:
        send_transfer(self, src, dst, lines, ref)
        self.flows["transfer_out"][src] += lines
        self.flows["transfer_in"][dst] += lines
        self.on_hand[src] -= lines
        self.on_hand[dst] += lines
        self.inflow[dst] += lines

    def api_receive(self, row: int, lines: np.ndarray, ref: str) -> None:
        send_receipt(self, row, lines, ref)
        self.flows["receipt"][row] += lines
        self.on_hand[row] += lines
        self.inflow[row] += lines
        self.kpis.add("received_units", int(self.env.now + 1e-9), row, int(lines.sum()))

    def dispatch_to_store(self, day: int, wh: int, store: int, lines: np.ndarray) -> None:
        """Send ``lines`` from warehouse ``wh`` to ``store`` with a sampled lead time."""
        w = self.world
        ref = self.next_ref()
        lead = round_days(
            float(
                w.scenario.world.warehouses[wh].store_lead_time_days.sample(self.rng_supply, 1)[0]
            )
        )
        src = w.warehouse_row(wh)
        if lead == 0:
            self.api_transfer(src, store, lines, f"SHIP-{ref}")
            self.events.add(
                self.env.now, EventKind.TRANSFER_ARRIVAL, store, -1, int(lines.sum()), 0, ref
            )
            return
        self.api_transfer(src, w.transit_row(wh), lines, f"SHIP-{ref}-OUT")
        arrive = day + lead
        self.incoming.setdefault(arrive, np.zeros_like(self.on_hand))[store] += lines
        self.events.add(self.env.now, EventKind.DISPATCH, src, -1, int(lines.sum()), 0, ref)
        self.env.process(shipment(self, ref, wh, store, arrive, lines.copy()))

    def place_purchase_order(self, day: int, wh: int, supplier: int, lines: np.ndarray) -> None:
        """Order ``lines`` from ``supplier`` for warehouse ``wh`` (sampled lead time, reliability)."""
        w = self.world
        sup = w.scenario.world.suppliers[supplier]
        rng = self.rng_supply
        mult, _ = w.supplier_lead_factor(supplier, float(day))
        lead = round_days(float(sup.lead_time_days.sample(rng, 1)[0]) * mult)
        late, fill = 0, 1.0
        if rng.random() >= sup.reliability:
            late = round_days(float(sup.unreliable.delay_days.sample(rng, 1)[0]))
            fill = sup.unreliable.fill_fraction
        ref = self.next_ref()
        due = day + lead
        self.incoming.setdefault(due, np.zeros_like(self.on_hand))[w.warehouse_row(wh)] += lines
        self.events.add(
            self.env.now,
            EventKind.PURCHASE_ORDER,
            w.warehouse_row(wh),
            -1,
            int(lines.sum()),
            int(lines @ w.skus.cost_cents),
            ref,
        )
        self.env.process(supplier_delivery(self, ref, wh, supplier, due, lines.copy(), late, fill))

    def ship_order(self, row: int, o: PendingOrder) -> None:
        """Allocate and ship an online order: its reservation becomes a sale in the ledger."""
        try:
            self.client.transition_order(o.order_id, OrderStatus.ALLOCATED)
            self.client.transition_order(o.order_id, OrderStatus.SHIPPED)
        except CommerceError:
            self.delivery_failures += 1
            logger.warning("order %s could not be shipped", o.order_id)
            return
        for s, q in o.lines.items():
            self.flows["sale"][row, s] += q
            self.on_hand[row, s] -= q
            self.reserved[row, s] -= q

    def write_off(self, row: int, sku: int, units: int) -> None:
        """Remove expired units through an API adjustment."""
        w = self.world
        self.client.adjust(
            AdjustmentCreate(
                location=w.location_codes[row],
                sku=w.skus.codes[sku],
                delta=-units,
                reason="expired",
            ),
            idempotency_key=f"EXP-{self.day}-{row}-{sku}",
        )
        self.on_hand[row, sku] -= units
        self.flows["write_off"][row, sku] += units
        self.kpis.add("write_off_units", self.day, row, units)
        self.events.add(self.env.now, EventKind.WRITE_OFF, row, sku, units)
