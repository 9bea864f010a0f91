"""The twin's mutable state: its view of the ledger, flows since the start, goods in transit,
and counters. Plain NumPy arrays, no API and no SimPy: collaborators change the state only
through these methods, after the commerce API accepted the matching call.

Shapes: ``(n_locations, n_skus)`` units for stock arrays (location order as in
:mod:`twin.world`: stores, warehouses, in-transit rows); ``(n_skus,)`` for ``sold_today``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["FLOW_KINDS", "Counters", "TwinState"]

FLOW_KINDS = ("receipt", "sale", "transfer_in", "transfer_out", "write_off", "return")


@dataclass(slots=True)
class Counters:
    """Run-wide counts that are not per location (sessions, refusals, references)."""

    sessions: int = 0
    pos_rejected: int = 0
    checkout_failures: int = 0
    delivery_failures: int = 0
    refs: int = 0

    def next_ref(self) -> int:
        """A new run-unique reference number (for idempotency keys and event refs)."""
        self.refs += 1
        return self.refs


@dataclass(slots=True)
class TwinState:
    """Stock, reservations, flows, in-transit goods and counters of one run.

    Attributes:
        on_hand: units on hand per location and SKU (equals the ledger after every call).
        reserved: units reserved by online orders not yet shipped.
        initial: the starting stock (for conservation checks).
        flows: cumulative flows per kind (:data:`FLOW_KINDS`) since the start.
        incoming: arrival day -> units due at each location that day (store shipments and
            purchase orders on the way); what replenishment sees as its pipeline.
        inflow: units that arrived today (perishables enter them as the freshest stock).
        sold_today: units sold today per SKU, all locations (pricing history).
        counters: run-wide counters.
        day: the current simulated day index.
    """

    on_hand: np.ndarray
    reserved: np.ndarray
    initial: np.ndarray
    flows: dict[str, np.ndarray]
    inflow: np.ndarray
    sold_today: np.ndarray
    incoming: dict[int, np.ndarray] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)
    day: int = 0

    @classmethod
    def start(cls, initial: np.ndarray) -> TwinState:
        """A state holding ``initial`` units (int64 ``(n_locations, n_skus)``) and nothing else."""
        on_hand = np.array(initial, dtype=np.int64, copy=True)
        return cls(
            on_hand=on_hand,
            reserved=np.zeros_like(on_hand),
            initial=on_hand.copy(),
            flows={k: np.zeros_like(on_hand) for k in FLOW_KINDS},
            inflow=np.zeros_like(on_hand),
            sold_today=np.zeros(on_hand.shape[1], dtype=np.int64),
        )

    def restart(self, initial: np.ndarray) -> None:
        """Replace the starting stock (before anything happened in the run)."""
        self.on_hand[:] = initial
        self.initial[:] = initial

    @property
    def available(self) -> np.ndarray:
        """On hand minus reserved, per location and SKU (a new array)."""
        avail: np.ndarray = self.on_hand - self.reserved
        return avail

    # ---- movements (call after the API accepted them) ----------------------------------
    def receive(self, row: int, lines: np.ndarray) -> None:
        """``lines`` (units per SKU) received at ``row``."""
        self.flows["receipt"][row] += lines
        self.on_hand[row] += lines
        self.inflow[row] += lines

    def transfer(self, src: int, dst: int, lines: np.ndarray) -> None:
        """``lines`` moved from row ``src`` to row ``dst``."""
        self.flows["transfer_out"][src] += lines
        self.flows["transfer_in"][dst] += lines
        self.on_hand[src] -= lines
        self.on_hand[dst] += lines
        self.inflow[dst] += lines

    def take(self, row: int, sku: int, units: int = 1) -> None:
        """A shopper takes ``units`` off the shelf at ``row`` (booked as a sale by the POS)."""
        self.on_hand[row, sku] -= units
        self.sold_today[sku] += units

    def record_pos(self, row: int, lines: np.ndarray) -> None:
        """The API accepted a POS batch of ``lines`` taken earlier with :meth:`take`."""
        self.flows["sale"][row] += lines

    def unsell(self, row: int, sku: int, units: int) -> None:
        """Undo ``units`` of a sale the API refused (the shelf never had them)."""
        self.flows["sale"][row, sku] -= units
        self.on_hand[row, sku] += units

    def ship_reserved(self, row: int, lines: dict[int, int]) -> None:
        """Reserved units of an online order leave ``row`` as a sale."""
        for s, q in lines.items():
            self.flows["sale"][row, s] += q
            self.on_hand[row, s] -= q
            self.reserved[row, s] -= q

    def write_off(self, row: int, sku: int, units: int) -> None:
        """``units`` written off at ``row`` (expired)."""
        self.on_hand[row, sku] -= units
        self.flows["write_off"][row, sku] += units

    # ---- goods on the way --------------------------------------------------------------
    def expect(self, day: int, row: int, lines: np.ndarray) -> None:
        """``lines`` are due at ``row`` at the start of ``day``."""
        self.incoming.setdefault(day, np.zeros_like(self.on_hand))[row] += lines

    def arrived(self, day: int, row: int, lines: np.ndarray) -> None:
        """``lines`` expected on ``day`` at ``row`` have arrived (or moved to a later day)."""
        if day in self.incoming:
            self.incoming[day][row] -= lines

    def forget_before(self, day: int) -> None:
        """Drop pipeline entries of days before ``day`` (all arrived or re-booked later)."""
        for k in [k for k in self.incoming if k < day]:
            del self.incoming[k]

    def pipeline(self, rows: slice, day: int) -> np.ndarray:
        """``(rows * n_skus, width)`` outstanding units by days from ``day`` (column 0 = today)."""
        keys = sorted(k for k in self.incoming if k > day)
        width = (keys[-1] - day + 1) if keys else 1
        n_rows = (rows.stop - rows.start) * self.on_hand.shape[1]
        pipe = np.zeros((n_rows, width), dtype=np.int64)
        for k in keys:
            pipe[:, k - day] = self.incoming[k][rows].reshape(-1)
        return pipe

    def in_transit_units(self) -> np.ndarray:
        """Units on the way per location and SKU, all future days together."""
        out = np.zeros_like(self.on_hand)
        for v in self.incoming.values():
            out += v
        return out
