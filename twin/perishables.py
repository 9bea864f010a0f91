"""Ageing and expiry of perishable stock, through the shared inventory kernel.

Every evening the twin hands each perishable SKU-location's day to
:func:`dynamics.inventory.inventory_step`: the day's inflow (deliveries, all received at
00:00) enters as the freshest stock, the day's outflow (sales, shipments out, online
reservations) is served oldest first, and stock whose shelf life ends is written off (an API
adjustment with reason ``expired``). Stock is tracked as *available* (on hand minus
reserved), so a write-off never touches units promised to an online order. Stock in transit
does not age, and a store receives shipped stock as fresh.

The kernel's end-of-day stock must equal the twin's own count minus the write-offs; a
difference is an internal error (the twin and the kernel disagree about the day).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dynamics.inventory import InventoryState, initial_state, inventory_step
from twin.errors import TwinInvariantError
from twin.state import TwinState
from twin.world import World


class Perishables:
    """Age cohorts of perishable SKUs at stores and warehouses, one kernel state per shelf life.

    Args:
        world: the static world (shelf lives).
        state: the twin's state (stock, today's inflow).
        write_off: ``write_off(row, sku, units)`` removes expired units (through the API).
    """

    def __init__(
        self,
        world: World,
        state: TwinState,
        write_off: Callable[[int, int, int], None],
    ) -> None:
        self.world = w = world
        self.state = state
        self.write_off = write_off
        life = w.skus.shelf_life_days
        avail = (state.on_hand - state.reserved)[: w.n_sites]
        self.groups: list[tuple[int, np.ndarray]] = []
        self.states: list[InventoryState] = []
        for days in sorted(set(life[life > 0].tolist())):
            idx = np.flatnonzero(life == days)
            self.groups.append((int(days), idx))
            start = avail[:, idx].reshape(-1)
            self.states.append(initial_state(start.size, 1, on_hand=start, shelf_life=int(days)))

    def age(self, day: int) -> None:
        """Close ``day``: FIFO depletion, expiry and write-offs; resets the day's inflow."""
        tw = self.state
        w = self.world
        n_sites = w.n_sites
        for g, (_, idx) in enumerate(self.groups):
            st = self.states[g]
            inflow = tw.inflow[:n_sites][:, idx].reshape(-1)
            end = (tw.on_hand - tw.reserved)[:n_sites][:, idx].reshape(-1)
            out = st.on_hand + inflow - end
            extra = np.maximum(-out, 0)  # restored units (e.g. a refused POS line) count as inflow
            kstate = InventoryState(
                on_hand=st.on_hand,
                pipeline=(inflow + extra)[:, None],
                backorders=np.zeros_like(end),
                age_stock=st.age_stock,
            )
            new, res = inventory_step(
                kstate, 0, np.maximum(out, 0), lost_sales=True, validate=False
            )
            if not np.array_equal(res.end_on_hand + res.write_offs, end):
                raise TwinInvariantError(f"perishable kernel and twin disagree on day {day}")
            self.states[g] = new
            wo = res.write_offs.reshape(n_sites, idx.size)
            rows, cols = np.nonzero(wo)
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                self.write_off(r, int(idx[c]), int(wo[r, c]))
        tw.inflow[:] = 0
