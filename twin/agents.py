"""Customers as Mesa agents, and their shopping sessions as SimPy processes.

A :class:`ShopModel` (a Mesa 3 ``Model``) owns the shopper population. Each :class:`Customer`
has a segment (price sensitivity, basket size), a home near one store and therefore a home
store and a serving warehouse (online orders are fulfilled from it). The twin turns each day's
demand into sessions (see :func:`form_baskets`) and runs every session as a SimPy process
:meth:`Customer.session` that waits for its arrival time and then shops, in store or online.

Units: coordinates in degrees, distances in km, time in days.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from typing import Any

import mesa
import numpy as np
import simpy

from scenarios.schema import Scenario

KM_PER_DEG_LAT = 111.32


class Customer(mesa.Agent):  # type: ignore[misc]  # mesa ships no type hints
    """A shopper. Attributes are plain values; counters grow as the run goes.

    Attributes:
        segment: index into ``scenario.customers.segments``.
        home_store: index of the nearest store (in-store sessions happen there).
        warehouse: index of the warehouse that serves the home store (online fulfilment).
        lat, lon: home coordinates (deliveries go there).
        sessions, units_bought, spend_cents: lifetime counters.
    """

    def __init__(
        self,
        model: ShopModel,
        segment: int,
        home_store: int,
        warehouse: int,
        lat: float,
        lon: float,
    ) -> None:
        super().__init__(model)
        self.segment = segment
        self.home_store = home_store
        self.warehouse = warehouse
        self.lat = lat
        self.lon = lon
        self.index = -1  # position in the model's population arrays
        self.sessions = 0
        self.units_bought = 0
        self.spend_cents = 0

    @property
    def code(self) -> str:
        """The customer id used in the commerce API."""
        return f"C{self.unique_id:07d}"

    def session(
        self, env: simpy.Environment, at: float, shop: Callable[[Customer], Any]
    ) -> Generator[simpy.Event, Any, None]:
        """SimPy process: wait until ``at`` (days), then shop (``shop`` does the buying)."""
        delay = at - env.now
        if delay > 0:
            yield env.timeout(delay)
        self.sessions += 1
        shop(self)


class ShopModel(mesa.Model):  # type: ignore[misc]  # mesa ships no type hints
    """The Mesa model holding the customer population.

    Homes are placed around stores (stores chosen in proportion to their floor area) with a
    normal spread of ``customers.home_spread_km``; segments are drawn by their shares.

    Args:
        scenario: the scenario.
        store_warehouse: warehouse index of each store.
        rng: the customers' random stream.
    """

    def __init__(
        self, scenario: Scenario, store_warehouse: np.ndarray, rng: np.random.Generator
    ) -> None:
        super().__init__(rng=rng)
        cust = scenario.customers
        stores = scenario.world.stores
        n = cust.population
        gen = self.rng
        shares = np.array([s.share for s in cust.segments])
        segs = gen.choice(len(shares), size=n, p=shares / shares.sum())
        size = np.array([s.size_m2 for s in stores])
        home = gen.choice(len(stores), size=n, p=size / size.sum())
        lat0 = np.array([s.lat for s in stores])[home]
        lon0 = np.array([s.lon for s in stores])[home]
        spread = cust.home_spread_km
        lat = lat0 + gen.normal(0.0, spread / KM_PER_DEG_LAT, n)
        lon = lon0 + gen.normal(0.0, 1.0, n) * spread / (
            KM_PER_DEG_LAT * np.maximum(np.cos(np.radians(lat0)), 0.05)
        )
        lat = np.clip(lat, -90.0, 90.0)
        lon = (lon + 180.0) % 360.0 - 180.0
        self.customers: list[Customer] = [
            Customer(
                self,
                int(segs[i]),
                int(home[i]),
                int(store_warehouse[home[i]]),
                float(lat[i]),
                float(lon[i]),
            )
            for i in range(n)
        ]
        self.lat, self.lon, self.segment = lat, lon, segs
        for i, c in enumerate(self.customers):
            c.index = i
        n_seg, n_st = len(shares), len(stores)
        n_wh = len(scenario.world.warehouses)
        # pools[(kind, location, segment)] -> customer indices; kind 0 = store, 1 = online
        self.store_pool = [
            [np.flatnonzero((home == s) & (segs == g)) for g in range(n_seg)] for s in range(n_st)
        ]
        wh_of = np.asarray(store_warehouse)[home]
        self.online_pool = [
            [np.flatnonzero((wh_of == w) & (segs == g)) for g in range(n_seg)] for w in range(n_wh)
        ]
        self.all_by_segment = [np.flatnonzero(segs == g) for g in range(n_seg)]

    def pick(
        self, online: bool, location: int, segments: np.ndarray, rng: np.random.Generator
    ) -> list[Customer]:
        """One customer per session, from the pool of ``location`` and each session's segment."""
        pools = (self.online_pool if online else self.store_pool)[location]
        out: list[Customer] = []
        u = rng.random(segments.size)
        for g, x in zip(segments.tolist(), u.tolist(), strict=True):
            pool = pools[g]
            if pool.size == 0:
                pool = self.all_by_segment[g]
                if pool.size == 0:
                    pool = np.arange(len(self.customers))
            out.append(self.customers[int(pool[int(x * pool.size)])])
        return out


def form_baskets(
    units: np.ndarray,
    segment_probs: np.ndarray,
    basket_samplers: Sequence[Callable[[int], np.ndarray]],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Group a day's demanded units at one location into shopping sessions.

    The units (SKU indices, one entry per unit demanded, already shuffled) are cut into
    consecutive baskets whose sizes are drawn from each session's segment; the last basket
    takes what is left. Per-SKU demand therefore stays exactly what the demand kernel drew.

    Returns:
        ``(bounds, segments)``: session ``i`` holds ``units[bounds[i]:bounds[i+1]]`` and belongs
        to segment ``segments[i]``.
    """
    m = int(units.size)
    if m == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    segs_parts: list[np.ndarray] = []
    size_parts: list[np.ndarray] = []
    total = 0
    guess = max(8, math.ceil(m / 2.0))
    while total < m:
        segs = rng.choice(segment_probs.size, size=guess, p=segment_probs)
        sizes = np.empty(guess, dtype=np.int64)
        for g in range(segment_probs.size):
            sel = segs == g
            k = int(sel.sum())
            if k:
                sizes[sel] = np.maximum(1, np.rint(basket_samplers[g](k))).astype(np.int64)
        segs_parts.append(segs)
        size_parts.append(sizes)
        total += int(sizes.sum())
    segs_all = np.concatenate(segs_parts)
    sizes_all = np.concatenate(size_parts)
    ends = np.cumsum(sizes_all)
    n = int(np.searchsorted(ends, m, side="left")) + 1
    bounds = np.zeros(n + 1, dtype=np.int64)
    bounds[1:] = np.minimum(ends[:n], m)
    return bounds, segs_all[:n].astype(np.int64)
