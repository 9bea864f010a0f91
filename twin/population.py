"""Customers who decide (``engine.customers: agents``): the shopper population as arrays.

In the default ``kernel`` mode demand is drawn top-down by the demand kernel (Poisson per
SKU-location) and cut into baskets; that is the theory mode the single-SKU Markov-chain check
uses. In ``agents`` mode demand comes from the customers' own decisions, vectorised over the
population (one NumPy pass a day, not a Python call per customer):

* **visit**: each customer visits on a day with probability ``visits_per_week / 7`` of its
  segment, times the day's calendar and price factor (the kernel's total rate that day over
  its average: weekdays, holidays, events, prices), times the customer's own **visit
  propensity**, which a stock-out lowers (:data:`BALK_PENALTY`) and which recovers towards 1 a
  little every day (:data:`RECOVERY`): customers who met empty shelves visit less;
* **channel**: online with the scenario's ``channel_mix`` share of web + app, else in store;
* **store**: among its :data:`CANDIDATES` nearest open stores, by a logit on road distance
  (scale :data:`DISTANCE_KM`) and the customer's remembered availability of each store (a
  running mean of stock-out-free visits, weight :data:`AVAILABILITY_WEIGHT`);
* **basket**: a size from the segment, SKUs in proportion to the location's demand rates;
* **balk**: in a session, after an item with no acceptable substitute the customer abandons
  the rest of the basket with probability :data:`BALK_PROBABILITY`;
* **substitute**: by price and attributes: among in-stock SKUs of the category, weighted by
  ``exp(-PRICE_SENSITIVITY |log(p_j / p_i)|)`` and doubled for the same perishability.

**Population drives demand**: the kernel's base rates are rescaled per location to what the
population is expected to buy there (:meth:`Population.expected_units`), so doubling the
population doubles demand, and the replenishment policies and the warm start are derived from
that same expectation.

Units: km, days, units; probabilities per day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from scenarios.schema import Scenario
from twin.agents import KM_PER_DEG_LAT

__all__ = [
    "AVAILABILITY_WEIGHT",
    "BALK_PENALTY",
    "BALK_PROBABILITY",
    "CANDIDATES",
    "DISTANCE_KM",
    "PRICE_SENSITIVITY",
    "RECOVERY",
    "Population",
]

CANDIDATES = 3
DISTANCE_KM = 3.0
AVAILABILITY_WEIGHT = 3.0
BALK_PROBABILITY = 0.3
BALK_PENALTY = 0.25
RECOVERY = 0.05
LEARNING = 0.3
PRICE_SENSITIVITY = 2.0


class Population:
    """The population's decision state and its daily draws (see the module docstring).

    Args:
        scenario: the scenario (stores, segments, channel mix, road factor).
        store_warehouse: ``(S,)`` serving warehouse of each store.
        lat, lon: ``(n,)`` home coordinates (degrees).
        segment: ``(n,)`` segment index per customer.
    """

    def __init__(
        self,
        scenario: Scenario,
        store_warehouse: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        segment: np.ndarray,
    ) -> None:
        stores = scenario.world.stores
        self.n = int(lat.size)
        self.n_stores = len(stores)
        self.store_warehouse = np.asarray(store_warehouse, dtype=np.int64)
        s_lat = np.array([s.lat for s in stores])
        s_lon = np.array([s.lon for s in stores])
        dy = (lat[:, None] - s_lat[None, :]) * KM_PER_DEG_LAT
        dx = (
            (lon[:, None] - s_lon[None, :])
            * KM_PER_DEG_LAT
            * np.cos(np.radians((lat[:, None] + s_lat[None, :]) / 2.0))
        )
        dist = np.hypot(dx, dy) * scenario.world.fleet.road_factor  # (n, S) road km
        k = min(CANDIDATES, self.n_stores)
        self.cand = np.argsort(dist, axis=1, kind="stable")[:, :k]  # (n, k) store indices
        self.cand_km = np.take_along_axis(dist, self.cand, axis=1)
        self.memory = np.ones((self.n, k))  # remembered availability per candidate store
        self.propensity = np.ones(self.n)  # visit propensity, lowered by stock-outs
        segs = scenario.customers.segments
        self.segment = np.asarray(segment, dtype=np.int64)
        self.visit_rate = np.array([s.visits_per_week / 7.0 for s in segs])[self.segment]
        self.basket_mean = np.array([s.basket_size.mean_value() for s in segs])[self.segment]
        mix = scenario.customers.channel_mix
        total = mix.web + mix.app + mix.store
        self.p_online = (mix.web + mix.app) / total if total > 0 else 0.0

    # ---- expectations ----------------------------------------------------------------------
    def _store_probs(self, open_stores: np.ndarray | None = None) -> np.ndarray:
        """``(n, k)`` probability of each candidate store for an in-store visit."""
        u = -self.cand_km / DISTANCE_KM + AVAILABILITY_WEIGHT * np.log(
            np.maximum(self.memory, 1e-3)
        )
        if open_stores is not None:
            u = np.where(open_stores[self.cand], u, -np.inf)
        u = u - np.max(np.where(np.isfinite(u), u, -1e300), axis=1, keepdims=True)
        e = np.where(np.isfinite(u), np.exp(u), 0.0)
        tot = e.sum(axis=1, keepdims=True)
        out: np.ndarray = np.divide(e, tot, out=np.zeros_like(e), where=tot > 0)
        return out

    def expected_units(self, n_warehouses: int) -> np.ndarray:
        """``(S+W,)`` units/day the population buys per location on an average day (full
        availability): stores in store, warehouses online (their stores' customers)."""
        units = self.visit_rate * self.basket_mean
        out = np.zeros(self.n_stores + n_warehouses)
        p = self._store_probs()
        np.add.at(out, self.cand.reshape(-1), ((1.0 - self.p_online) * units[:, None] * p).ravel())
        home = self.cand[:, 0]
        np.add.at(out, self.n_stores + self.store_warehouse[home], self.p_online * units)
        return out

    # ---- a day -----------------------------------------------------------------------------
    def visits(
        self, day_factor: float, open_stores: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Today's visits: ``(customer indices, demand column)`` (a store, or ``S + w`` online).

        Args:
            day_factor: today's demand level relative to an average day (calendar, prices).
            open_stores: ``(S,)`` which stores trade today.
        """
        p = np.clip(self.visit_rate * self.propensity * day_factor, 0.0, 1.0)
        who = np.flatnonzero(rng.random(self.n) < p)
        online = rng.random(who.size) < self.p_online
        col = np.empty(who.size, dtype=np.int64)
        on = who[online]
        col[online] = self.n_stores + self.store_warehouse[self.cand[on, 0]]
        inst = who[~online]
        probs = self._store_probs(open_stores)[inst]
        cum = np.cumsum(probs, axis=1)
        u = rng.random(inst.size)[:, None] * np.maximum(cum[:, -1:], 1e-300)
        pick = np.minimum((u > cum).sum(axis=1), self.cand.shape[1] - 1)
        store = self.cand[inst, pick]
        ok = probs.sum(axis=1) > 0  # no open candidate store: the visit does not happen
        col[~online] = np.where(ok, store, -1)
        keep = col >= 0
        return who[keep], col[keep]

    def record(self, customer: int, store: int, stockout: bool) -> None:
        """Remember a visit: availability of ``store`` (-1 online) and, after a stock-out,
        a lower propensity to visit."""
        if stockout:
            self.propensity[customer] *= 1.0 - BALK_PENALTY
        if store >= 0:
            hit = np.flatnonzero(self.cand[customer] == store)
            if hit.size:
                m = self.memory[customer, hit[0]]
                self.memory[customer, hit[0]] = (1.0 - LEARNING) * m + LEARNING * (
                    0.0 if stockout else 1.0
                )

    def end_of_day(self) -> None:
        """Propensities and memories recover a little towards full trust."""
        self.propensity += RECOVERY * (1.0 - self.propensity)
        self.memory += RECOVERY * (1.0 - self.memory)


def substitute_weights(
    price: Sequence[int] | np.ndarray,
    perishable: np.ndarray,
    wanted: int,
    candidates: np.ndarray,
) -> np.ndarray:
    """Choice weights of ``candidates`` as substitutes for ``wanted``: closer in price and of
    the same perishability is preferred (see the module docstring)."""
    p = np.asarray(price, dtype=np.float64)
    ratio = np.abs(np.log(np.maximum(p[candidates], 1.0) / max(float(p[wanted]), 1.0)))
    w: np.ndarray = np.exp(-PRICE_SENSITIVITY * ratio) * np.where(
        perishable[candidates] == perishable[wanted], 2.0, 1.0
    )
    return w


def day_factor(rates: np.ndarray, average: float) -> float:
    """Today's total expected demand relative to an average day (1.0 when unknown)."""
    total = float(rates.sum())
    return total / average if average > 0 and math.isfinite(total) else 1.0
