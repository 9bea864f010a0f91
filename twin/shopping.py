"""Shopper sessions: demand becomes baskets, baskets become sessions, sessions meet channels.

Each morning :meth:`Shopping.schedule` draws the day's demand for every SKU-location from the
demand kernel (Poisson, at today's prices), shuffles each location's units and cuts them into
baskets (:func:`twin.agents.form_baskets`), picks a Mesa customer per basket and an arrival
time inside the location's hours, and hands the sessions to the location's sales channel
(:mod:`twin.channels`) according to the engine mode:

* ``session``: one SimPy process per session, shopping at its arrival time (API calls per
  session, e.g. cart, lines, checkout);
* ``sliced``: one SimPy process per location and day that wakes at the end of every time slice
  of ``slice_minutes`` and gives the channel all sessions that arrived in the slice, in arrival
  order, so the channel sends them as batch calls (a POS batch per store and slice, one
  order-placement call per warehouse and slice once the API offers batch checkouts).

Stock is taken from the twin's view in arrival order in both modes, so per-SKU demand, fill
and substitution follow the same rules; only the time the API hears of a sale moves (to the
end of its slice).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from functools import partial
from typing import Any

import numpy as np
import simpy

from dynamics.demand import sample_arrival_times, sample_demand
from twin.agents import Customer, ShopModel, form_baskets
from twin.channels import SalesChannel, Session
from twin.kpis import KpiBook
from twin.population import Population, day_factor
from twin.simtime import DAY_END, minutes
from twin.state import TwinState
from twin.world import World

__all__ = ["Shopping"]

SLICE_EPS = 1e-6
"""A slice is served this long (days, ~0.1 s) before its boundary, ahead of what starts there."""


def _draw(dist: Any, rng: np.random.Generator, k: int) -> np.ndarray:
    return np.asarray(dist.sample(rng, k))


class Shopping:
    """Turns each day's demand into shopper sessions and runs them through the channels.

    Args:
        env: the SimPy environment.
        world: the static world.
        state: the twin's state (day index, session counter).
        kpis: the KPI book (sessions per location and day).
        model: the Mesa customer population.
        channels: the sales channels; together they serve every demand column.
        rng_sessions: the sessions' stream (baskets, times, customers, channel tags).
        day_rngs: one demand stream per day (common random numbers across policies).
        slice_minutes: None for per-session mode, else the slice length in minutes.
        population: the deciding customers (agents mode), or None (kernel mode).
    """

    def __init__(
        self,
        env: simpy.Environment,
        world: World,
        state: TwinState,
        kpis: KpiBook,
        model: ShopModel,
        channels: Sequence[SalesChannel],
        rng_sessions: np.random.Generator,
        day_rngs: Sequence[np.random.Generator],
        slice_minutes: int | None,
        population: Population | None = None,
    ) -> None:
        self.env = env
        self.world = world
        self.state = state
        self.kpis = kpis
        self.model = model
        self.rng = rng_sessions
        self.day_rngs = day_rngs
        self.slice = None if slice_minutes is None else minutes(slice_minutes)
        segs = world.scenario.customers.segments
        weight = np.array([s.share * s.visits_per_week for s in segs])
        self.segment_probs = weight / weight.sum()
        self.basket: list[Callable[[int], np.ndarray]] = [
            partial(_draw, s.basket_size, rng_sessions) for s in segs
        ]
        prof = world.scenario.customers.hourly_profile
        self.profile = None if prof is None else np.asarray(prof, dtype=np.float64)
        self.population = population
        d = world.demand
        self.average_units = float(d.base_rate.sum() * np.mean(d.weekly))
        self.by_column: dict[int, SalesChannel] = {}
        for ch in channels:
            for col in ch.columns():
                self.by_column[col] = ch
        self.channels = list(channels)

    def schedule(self, day: int, rates: np.ndarray) -> None:
        """Draw today's demand and start its sessions (per the engine mode)."""
        if self.population is not None:
            self._schedule_agents(day, rates)
        else:
            self._schedule_kernel(day, rates)

    def _schedule_agents(self, day: int, rates: np.ndarray) -> None:
        """Agents mode: customers decide to visit, where, and what they want."""
        w = self.world
        pop = self.population
        assert pop is not None
        rng = self.day_rngs[day]
        S = w.n_stores
        open_stores = rates[:, :S].sum(axis=0) > 0
        who, cols = pop.visits(day_factor(rates, self.average_units), open_stores, rng)
        segs_all = pop.segment[who]
        for col in np.unique(cols).tolist():
            mine = who[cols == col]
            segs = segs_all[cols == col]
            n = mine.size
            sizes = np.empty(n, dtype=np.int64)
            for g in np.unique(segs).tolist():
                sel = segs == g
                sizes[sel] = np.maximum(1, np.rint(self.basket[g](int(sel.sum())))).astype(np.int64)
            p = rates[:, col]
            if p.sum() <= 0:
                continue
            units = rng.choice(w.n_skus, size=int(sizes.sum()), p=p / p.sum())
            bounds = np.concatenate([[0], np.cumsum(sizes)])
            customers = [self.model.customers[int(i)] for i in mine.tolist()]
            self._launch(day, col, units, bounds, customers)

    def _schedule_kernel(self, day: int, rates: np.ndarray) -> None:
        """Kernel mode: Poisson demand per SKU-location, cut into baskets of picked customers."""
        w = self.world
        demand = sample_demand(self.day_rngs[day], rates)  # (n_skus, S+W)
        rng = self.rng
        for col in range(w.n_sites):
            counts = demand[:, col]
            total = int(counts.sum())
            if total == 0:
                continue
            units = np.repeat(np.arange(w.n_skus), counts)
            rng.shuffle(units)
            bounds, segs = form_baskets(units, self.segment_probs, self.basket, rng)
            online = col >= w.n_stores
            where = col - w.n_stores if online else col
            customers = self.model.pick(online, where, segs, rng)
            self._launch(day, col, units, bounds, customers)

    def _launch(
        self,
        day: int,
        col: int,
        units: np.ndarray,
        bounds: np.ndarray,
        customers: list[Customer],
    ) -> None:
        """Give the sessions of one location-day arrival times and start them (per the mode)."""
        rng = self.rng
        ch = self.by_column[col]
        n = len(customers)
        lo, hi = ch.hours(col)
        times = day + sample_arrival_times(rng, n, self.profile, lo, hi)
        times = np.minimum(times, day + DAY_END - 2 * SLICE_EPS)
        tags = ch.tags(n, rng)
        row = ch.row(col)
        ulist = units.tolist()
        b = bounds.tolist()
        tlist = times.tolist()
        sessions = [
            Session(tlist[i], row, ulist[b[i] : b[i + 1]], customers[i], tags[i], col)
            for i in range(n)
        ]
        if self.slice is None:
            for se in sessions:
                self.env.process(self._one(ch, se))
        else:
            sessions.sort(key=lambda se: se.t)
            self.env.process(self._sliced(ch, col, day, sessions))
        self.state.counters.sessions += n
        self.kpis.data["sessions"][day, col] += n

    def _one(self, ch: SalesChannel, se: Session) -> Generator[simpy.Event, Any, None]:
        """SimPy process of one session: wait for its arrival, then shop."""
        delay = se.t - self.env.now
        if delay > 0:
            yield self.env.timeout(delay)
        ch.shop((se,))

    def _sliced(
        self, ch: SalesChannel, col: int, day: int, sessions: list[Session]
    ) -> Generator[simpy.Event, Any, None]:
        """SimPy process of one location-day in sliced mode: serve each slice at its end."""
        env = self.env
        assert self.slice is not None
        width = self.slice
        last = day + DAY_END - SLICE_EPS
        i, n = 0, len(sessions)
        while i < n:
            k = int((sessions[i].t - day) / width)
            end = min(day + (k + 1) * width - SLICE_EPS, last)
            j = i
            while j < n and sessions[j].t <= end:
                j += 1
            j = max(j, i + 1)
            if end > env.now:
                yield env.timeout(end - env.now)
            ch.shop(sessions[i:j])
            ch.end_slice(col)
            i = j
