"""Stock operations of the twin: each one is an API call followed by the same change in the
twin's :class:`~twin.state.TwinState` (so the twin's view equals the ledger after every call).

* transfers (warehouse -> transit -> store shipments) and receipts (supplier deliveries);
* the SimPy processes that deliver shipments and purchase orders at 00:00 of their day;
* shipping an online order (its reservation becomes a sale) and writing off expired units.

Time is days (1 SimPy unit = 1 day, :mod:`twin.simtime`); quantities units; money cents.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from api.client.base import CommerceClient, CommerceError
from api.schemas import AdjustmentCreate, ReceiptCreate, StockLine, TransferCreate
from twin.events import EventKind, EventLog
from twin.gateway import OrderGateway
from twin.kpis import KpiBook
from twin.ports import ShippableOrder
from twin.simtime import day_of
from twin.state import TwinState
from twin.world import World, round_days

__all__ = ["StockOps", "stock_lines"]

logger = logging.getLogger(__name__)


def stock_lines(world: World, lines: np.ndarray) -> list[StockLine]:
    """API stock lines for the non-zero entries of ``lines`` (units per SKU index)."""
    nz = np.flatnonzero(lines)
    codes = world.skus.codes
    # valid by construction (known codes, positive ints): skip per-line validation
    return [
        StockLine.model_construct(sku=codes[i], quantity=q)
        for i, q in zip(nz.tolist(), lines[nz].tolist(), strict=True)
    ]


class StockOps:
    """Stock movements through the commerce API, mirrored in the twin's state.

    Args:
        env: the SimPy environment (deliveries are processes on it).
        world: the static world.
        state: the twin's state (changed after each accepted call).
        client: the commerce client.
        orders: the order gateway (online order transitions).
        events: the event log.
        kpis: the KPI book.
        rng_supply: the supply-noise stream (lead times, reliability).
    """

    def __init__(
        self,
        env: simpy.Environment,
        world: World,
        state: TwinState,
        client: CommerceClient,
        orders: OrderGateway,
        events: EventLog,
        kpis: KpiBook,
        rng_supply: np.random.Generator,
    ) -> None:
        self.env = env
        self.world = world
        self.state = state
        self.client = client
        self.orders = orders
        self.events = events
        self.kpis = kpis
        self.rng = rng_supply
        sc = world.scenario.world
        self.capacity = np.array(
            [s.capacity_units or 0 for s in sc.stores]
            + [wh.capacity_units or 0 for wh in sc.warehouses],
            dtype=np.int64,
        )  # per store and warehouse row; 0 = unlimited

    # ---- API movements -----------------------------------------------------------------
    def transfer(self, src: int, dst: int, lines: np.ndarray, ref: str) -> None:
        """API transfer of ``lines`` (units per SKU) from row ``src`` to row ``dst``.

        Raises:
            CommerceError: the API refused it (the twin and the ledger disagree: a bug).
        """
        w = self.world
        body = TransferCreate(
            from_location=w.location_codes[src],
            to_location=w.location_codes[dst],
            lines=stock_lines(w, lines),
            reference=ref,
        )
        try:
            self.client.transfer(body, idempotency_key=ref)
        except CommerceError:
            logger.error("transfer %s refused by the API; twin and ledger disagree", ref)
            raise
        self.state.transfer(src, dst, lines)

    def receive(self, row: int, lines: np.ndarray, ref: str) -> None:
        """API receipt of ``lines`` at ``row``."""
        w = self.world
        self.client.receive(
            ReceiptCreate(
                location=w.location_codes[row], lines=stock_lines(w, lines), reference=ref
            ),
            idempotency_key=ref,
        )
        self.state.receive(row, lines)
        self.kpis.add("received_units", day_of(self.env.now), row, int(lines.sum()))

    def write_off(self, row: int, sku: int, units: int) -> None:
        """Remove expired units through an API adjustment."""
        w = self.world
        day = self.state.day
        self.client.adjust(
            AdjustmentCreate(
                location=w.location_codes[row],
                sku=w.skus.codes[sku],
                delta=-units,
                reason="expired",
            ),
            idempotency_key=f"EXP-{day}-{row}-{sku}",
        )
        self.state.write_off(row, sku, units)
        self.kpis.add("write_off_units", day, row, units)
        self.events.add(self.env.now, EventKind.WRITE_OFF, row, sku, units)

    def ship_order(self, row: int, o: ShippableOrder) -> None:
        """Allocate and ship an online order: its reservation becomes a sale in the ledger."""
        if not self.orders.ship([o.order_id])[0]:
            self.state.counters.delivery_failures += 1
            logger.warning("order %s could not be shipped", o.order_id)
            return
        self.state.ship_reserved(row, o.lines)

    def fit(self, row: int, lines: np.ndarray) -> np.ndarray:
        """The part of an arriving delivery that fits ``row``'s ``capacity_units`` (all of it
        without a capacity), scaled down proportionally per SKU."""
        cap = int(self.capacity[row]) if row < self.capacity.size else 0
        total = int(lines.sum())
        if cap <= 0 or total == 0:
            return lines
        room = max(0, cap - int(self.state.on_hand[row].sum()))
        if total <= room:
            return lines
        out: np.ndarray = np.floor(lines * (room / total)).astype(np.int64)
        return out

    # ---- shipments and purchase orders ---------------------------------------------------
    def dispatch_to_store(self, day: int, wh: int, store: int, lines: np.ndarray) -> None:
        """Send ``lines`` from warehouse ``wh`` to ``store`` with a sampled lead time."""
        w = self.world
        ref = self.state.counters.next_ref()
        dist = w.scenario.world.warehouses[wh].store_lead_time_days
        lead = round_days(float(dist.sample(self.rng, 1)[0]))
        src = w.warehouse_row(wh)
        if lead == 0:
            self.transfer(src, store, lines, f"SHIP-{ref}")
            self.events.add(
                self.env.now, EventKind.TRANSFER_ARRIVAL, store, -1, int(lines.sum()), 0, ref
            )
            return
        self.transfer(src, w.transit_row(wh), lines, f"SHIP-{ref}-OUT")
        arrive = day + lead
        self.state.expect(arrive, store, lines)
        self.events.add(self.env.now, EventKind.DISPATCH, src, -1, int(lines.sum()), 0, ref)
        self.env.process(self._shipment(ref, wh, store, arrive, lines.copy()))

    def place_purchase_order(self, day: int, wh: int, supplier: int, lines: np.ndarray) -> None:
        """Order ``lines`` from ``supplier`` for warehouse ``wh`` (sampled lead time, reliability).

        Its ``order_cost_cents`` is booked on the day it is placed."""
        w = self.world
        sup = w.scenario.world.suppliers[supplier]
        rng = self.rng
        mult, _ = w.supplier_lead_factor(supplier, float(day))
        lead = round_days(float(sup.lead_time_days.sample(rng, 1)[0]) * mult)
        late, fill = 0, 1.0
        if rng.random() >= sup.reliability:
            late = round_days(float(sup.unreliable.delay_days.sample(rng, 1)[0]))
            fill = sup.unreliable.fill_fraction
        ref = self.state.counters.next_ref()
        due = day + lead
        row = w.warehouse_row(wh)
        self.state.expect(due, row, lines)
        self.events.add(
            self.env.now,
            EventKind.PURCHASE_ORDER,
            row,
            -1,
            int(lines.sum()),
            int(lines @ w.skus.cost_cents),
            ref,
        )
        self.kpis.add("purchase_orders", day, row, 1)
        self.kpis.add("order_cost_cents", day, row, sup.order_cost_cents)
        self.env.process(self._supplier_delivery(ref, wh, supplier, due, lines.copy(), late, fill))

    def inbound_shipment(self, arrive_day: int, wh: int, store: int, lines: np.ndarray) -> None:
        """A shipment already on the road (in ``wh``'s transit stock) at the start of the run."""
        ref = self.state.counters.next_ref()
        self.state.expect(arrive_day, store, lines)
        self.env.process(self._shipment(ref, wh, store, arrive_day, lines.copy()))

    def inbound_purchase_order(
        self, due_day: int, wh: int, supplier: int, lines: np.ndarray
    ) -> None:
        """A purchase order placed before the run, due on ``due_day`` in full."""
        ref = self.state.counters.next_ref()
        self.state.expect(due_day, self.world.warehouse_row(wh), lines)
        self.env.process(self._supplier_delivery(ref, wh, supplier, due_day, lines.copy(), 0, 1.0))

    def _shipment(
        self, ref: int, wh: int, store: int, arrive_day: int, lines: np.ndarray
    ) -> Generator[simpy.Event, Any, None]:
        """SimPy process: a store shipment on the road until 00:00 of ``arrive_day``."""
        env = self.env
        yield env.timeout(max(0.0, arrive_day - env.now))
        w = self.world
        fits = self.fit(store, lines)
        if fits.any():
            self.transfer(w.transit_row(wh), store, fits, f"SHIP-{ref}-IN")
        back = lines - fits
        if back.any():  # the store is full: the rest goes back to the warehouse
            self.transfer(w.transit_row(wh), w.warehouse_row(wh), back, f"SHIP-{ref}-BACK")
            self.kpis.add("refused_units", day_of(env.now), store, int(back.sum()))
        self.state.arrived(arrive_day, store, lines)
        self.events.add(env.now, EventKind.TRANSFER_ARRIVAL, store, -1, int(lines.sum()), 0, ref)

    def _supplier_delivery(
        self,
        ref: int,
        wh: int,
        supplier: int,
        due_day: int,
        lines: np.ndarray,
        late_days: int,
        fill_fraction: float,
    ) -> Generator[simpy.Event, Any, None]:
        """SimPy process: a purchase order arriving at 00:00 of ``due_day`` (or later, or short).

        The pipeline shows the promised quantity on the promised day; a late order moves in the
        pipeline when it fails to arrive, and a short delivery's missing units are cancelled.
        """
        env = self.env
        w = self.world
        st = self.state
        row = w.warehouse_row(wh)
        yield env.timeout(max(0.0, due_day - env.now))
        day = due_day
        outage_end = w.outage_end_at(supplier, float(day))
        extra = late_days
        if outage_end is not None:
            extra = max(extra, math.ceil(outage_end) - day)
        if extra > 0:
            st.arrived(day, row, lines)
            day += extra
            st.expect(day, row, lines)
            yield env.timeout(max(0.0, day - env.now))
        got = np.floor(lines * fill_fraction).astype(np.int64) if fill_fraction < 1.0 else lines
        fits = self.fit(row, got)
        if (fits != got).any():  # the warehouse is full: the supplier takes the rest back
            self.kpis.add("refused_units", day, row, int((got - fits).sum()))
            got = fits
        st.arrived(day, row, lines)
        if got.any():
            self.receive(row, got, f"PO-{ref}")
        self.events.add(env.now, EventKind.RECEIPT, row, -1, int(got.sum()), 0, ref)
