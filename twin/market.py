"""Prices and demand of one day: the pricing policy, flash-sale discounts, segment response.

Prices live in the commerce API per SKU and channel. The pricing policy decides a base price
per SKU each morning (sent with ``set_prices`` for the store, web and app channels when it
changes). A flash sale cuts the price of the SKU-locations in its scope: in-store through the
unit price on the POS batch, online by setting the web and app prices for the sale's days.

Demand responds to the effective price per segment: a segment with ``price_sensitivity``
``k`` sees ``(price / list) ** (k * elasticity)``; the day's rate is the segments' mixture,
weighted by their share of demanded units.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np
import simpy

from api.client.base import CommerceClient
from api.schemas import Channel, PriceSet
from dynamics.demand import discount_fractions, price_factors
from policies import registry
from policies.pricing.types import PricingObservation
from scenarios.schema import PolicyRef
from twin.events import EventKind, EventLog
from twin.state import TwinState
from twin.world import World, dist_mean

HISTORY_DAYS = 56


class Market:
    """Daily prices and demand rates for the twin.

    Args:
        env: the SimPy environment (event times).
        world: the static world.
        state: the twin's state (stock the pricing policy observes).
        pricing: the pricing policy reference.
        client: the commerce client (prices are set through it).
        events: the event log.
        days: the run's length in days.
        now: the current simulated instant as a datetime (price validity).
    """

    def __init__(
        self,
        env: simpy.Environment,
        world: World,
        state: TwinState,
        pricing: PolicyRef,
        client: CommerceClient,
        events: EventLog,
        days: int,
        now: Callable[[], datetime],
    ) -> None:
        self.env = env
        self.world = w = world
        self.state = state
        self.client = client
        self.events = events
        self.days = days
        self.now = now
        sc = w.scenario
        self.policy = registry.create("pricing", pricing.name, pricing.params)
        sk = w.skus
        self.base = sk.list_price_cents.astype(np.int64).copy()
        self.online_set = self.base.copy()  # web/app price currently in the API
        self.store_set = self.base.copy()
        self.min_price = np.maximum(1, sk.cost_cents).astype(np.int64)
        self.max_price = (2 * sk.list_price_cents).astype(np.int64)
        segs = sc.customers.segments
        weight = np.array([s.share * s.visits_per_week * dist_mean(s.basket_size) for s in segs])
        self.unit_share = weight / weight.sum()
        self.sensitivity = np.array([s.price_sensitivity for s in segs])
        self.sales_hist = np.zeros((sk.n_skus, HISTORY_DAYS))
        self.price_hist = np.tile(self.base[:, None], (1, HISTORY_DAYS))
        self.hist_len = 0
        self.effective = np.tile(self.base[:, None], (1, w.n_sites))  # (n_skus, S+W) cents

    def _set(self, idx: np.ndarray, prices: np.ndarray, channels: tuple[Channel, ...]) -> None:
        codes = self.world.skus.codes
        now = self.now()
        body = [
            PriceSet(sku=codes[i], channel=ch, price_cents=int(p), valid_from=now)
            for ch in channels
            for i, p in zip(idx.tolist(), prices.tolist(), strict=True)
        ]
        for k in range(0, len(body), 5000):
            self.client.set_prices(body[k : k + 5000])
        t = self.env.now
        for i, p in zip(idx.tolist(), prices.tolist(), strict=True):
            self.events.add(t, EventKind.PRICE_CHANGE, -1, i, 0, int(p))

    def morning(self, day: int) -> np.ndarray:
        """Decide prices, push changes to the API; return today's rates ``(n_skus, S+W)``."""
        w = self.world
        st = self.state
        sk = w.skus
        h = self.hist_len
        obs = PricingObservation(
            price_cents=self.base,
            list_price_cents=sk.list_price_cents,
            cost_cents=sk.cost_cents,
            on_hand=(st.on_hand[: w.n_sites] - st.reserved[: w.n_sites]).sum(axis=0),
            days_left=np.full(sk.n_skus, max(0, self.days - day), dtype=np.int64),
            min_price_cents=self.min_price,
            max_price_cents=self.max_price,
            sales_history=self.sales_hist[:, HISTORY_DAYS - h :],
            price_history_cents=self.price_hist[:, HISTORY_DAYS - h :],
        )
        new = np.clip(
            np.asarray(self.policy.decide(obs).price_cents, dtype=np.int64),
            self.min_price,
            self.max_price,
        )
        self.base = new
        disc = discount_fractions(w.demand, day + 0.5, w.events)  # (n_skus, S+W)
        eff = np.maximum(1, np.rint(self.base[:, None] * (1.0 - disc))).astype(np.int64)
        self.effective = eff
        store_price = self.base
        changed = np.flatnonzero(store_price != self.store_set)
        if changed.size:
            self._set(changed, store_price[changed], (Channel.STORE,))
            self.store_set = store_price.copy()
        online = eff[:, w.n_stores :].min(axis=1) if w.n_warehouses else self.base
        changed = np.flatnonzero(online != self.online_set)
        if changed.size:
            self._set(changed, online[changed], (Channel.WEB, Channel.APP))
            self.online_set = online.copy()
        # online carts are priced by the API; keep the twin's online prices identical
        self.effective[:, w.n_stores :] = self.online_set[:, None]
        base_rates = w.rates(day, None)
        if np.array_equal(self.effective, np.broadcast_to(sk.list_price_cents[:, None], eff.shape)):
            return base_rates
        pf = price_factors(w.demand, self.effective)
        mix = np.zeros_like(pf)
        for share, k in zip(self.unit_share.tolist(), self.sensitivity.tolist(), strict=True):
            mix += share * (pf if k == 1.0 else np.power(pf, k))
        out: np.ndarray = base_rates * mix
        return out

    def evening(self, sold_by_sku: np.ndarray) -> None:
        """Append today's network sales and base price to the pricing history."""
        self.sales_hist = np.roll(self.sales_hist, -1, axis=1)
        self.price_hist = np.roll(self.price_hist, -1, axis=1)
        self.sales_hist[:, -1] = sold_by_sku
        self.price_hist[:, -1] = self.base
        self.hist_len = min(HISTORY_DAYS, self.hist_len + 1)
