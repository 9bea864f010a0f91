"""Shopper sessions: demand becomes baskets, baskets become SimPy processes, shoppers buy.

Each morning :meth:`Shopping.schedule` draws the day's demand for every SKU-location from the
demand kernel (Poisson, at today's prices), shuffles each location's units and cuts them into
baskets (:func:`twin.agents.form_baskets`), picks a Mesa customer per basket and starts one
SimPy process per session at its arrival time. In store, a shopper takes units from the twin's
view of the shelf (the store sends one POS batch at closing); online, a shopper fills a cart
at the serving warehouse and checks out through the API. A missing item is replaced by an
in-stock SKU of its category with the catalog's substitution probability (online through a
category ``search``), otherwise counted as a lost sale.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from api.client.base import CommerceError
from api.schemas import CartCreate, CartLineSet, Channel, CheckoutRequest, SearchQuery
from dynamics.demand import sample_arrival_times, sample_demand
from twin.agents import Customer, form_baskets
from twin.events import EventKind
from twin.fleet import PendingOrder

if TYPE_CHECKING:
    from twin.engine import Twin

ONLINE_HOURS = (0.0, 24.0)
DAY_END = 1.0 - 1.0 / 1440.0  # 23:59, as in twin.engine


def _draw(dist: Any, rng: np.random.Generator, k: int) -> np.ndarray:
    return np.asarray(dist.sample(rng, k))


class Shopping:
    """The shopper side of the twin (sessions in store and online)."""

    def __init__(self, tw: Twin) -> None:
        self.tw = tw
        scenario = tw.scenario
        self.subst_p = scenario.catalog.substitution_probability
        segs = scenario.customers.segments
        weight = np.array([s.share * s.visits_per_week for s in segs])
        self.segment_probs = weight / weight.sum()
        self.basket: list[Callable[[int], np.ndarray]] = [
            partial(_draw, s.basket_size, tw.rng_sessions) for s in segs
        ]
        mix = scenario.customers.channel_mix
        self.p_web = mix.web / (mix.web + mix.app) if (mix.web + mix.app) > 0 else 1.0
        prof = scenario.customers.hourly_profile
        self.profile = None if prof is None else np.asarray(prof, dtype=np.float64)

    def schedule(self, day: int, rates: np.ndarray) -> None:
        """Draw today's demand per SKU-location and start one process per shopper session."""
        w = self.tw.world
        env = self.tw.env
        demand = sample_demand(self.tw.day_rngs[day], rates)  # (n_skus, S+W)
        rng = self.tw.rng_sessions
        for loc in range(w.n_sites):
            counts = demand[:, loc]
            total = int(counts.sum())
            if total == 0:
                continue
            units = np.repeat(np.arange(w.n_skus), counts)
            rng.shuffle(units)
            bounds, segs = form_baskets(units, self.segment_probs, self.basket, rng)
            n = segs.size
            online = loc >= w.n_stores
            if online:
                lo, hi = ONLINE_HOURS
                where = loc - w.n_stores
            else:
                oh = self.tw.scenario.world.stores[loc].opening_hours
                lo, hi = oh.open, oh.close
                where = loc
            times = day + sample_arrival_times(rng, n, self.profile, lo, hi)
            times = np.minimum(times, day + DAY_END - 2e-6)
            customers = self.tw.model.pick(online, where, segs, rng)
            web = rng.random(n) < self.p_web
            ulist = units.tolist()
            b = bounds.tolist()
            for i in range(n):
                basket = ulist[b[i] : b[i + 1]]
                c = customers[i]
                if online:
                    ch = Channel.WEB if web[i] else Channel.APP
                    shop = self._online_shopper(where, basket, ch)
                else:
                    shop = self._store_shopper(loc, basket)
                env.process(c.session(env, float(times[i]), shop))
            self.tw.sessions += n
            self.tw.kpis.data["sessions"][day, loc] += n

    def _substitute(self, row: int, sku: int, taken: dict[int, int] | None = None) -> int:
        """A substitute in stock at ``row`` from the same category, or -1 (then a lost sale)."""
        if self.subst_p <= 0.0 or self.tw.rng_subst.random() >= self.subst_p:
            return -1
        cands = self.tw.world.category_skus[int(self.tw.world.skus.category[sku])]
        avail = self.tw.on_hand[row, cands] - self.tw.reserved[row, cands]
        if taken:
            for j, q in taken.items():
                pos = np.searchsorted(cands, j)
                if pos < cands.size and cands[pos] == j:
                    avail[pos] -= q
        ok = cands[avail > 0]
        if ok.size == 0:
            return -1
        return int(ok[int(self.tw.rng_subst.random() * ok.size)])

    def _search_substitute(self, row: int, sku: int, taken: dict[int, int]) -> int:
        """Online: search the category for items in stock at the warehouse and take one, or -1."""
        if self.subst_p <= 0.0 or self.tw.rng_subst.random() >= self.subst_p:
            return -1
        w = self.tw.world
        cat = w.skus.category_names[int(w.skus.category[sku])]
        page = self.tw.client.search(
            SearchQuery(category=cat, in_stock_at=w.location_codes[row], sort="name", limit=100)
        )
        oh, res = self.tw.on_hand[row], self.tw.reserved[row]
        ok = [
            j
            for j in (w.skus.index_of(item.sku) for item in page.items)
            if oh[j] - res[j] - taken.get(j, 0) > 0
        ]
        if not ok:
            return -1
        return ok[int(self.tw.rng_subst.random() * len(ok))]

    def _store_shopper(self, loc: int, basket: list[int]) -> Callable[[Customer], None]:
        def shop(c: Customer) -> None:
            self.shop_in_store(c, loc, basket)

        return shop

    def _online_shopper(
        self, wh: int, basket: list[int], channel: Channel
    ) -> Callable[[Customer], None]:
        def shop(c: Customer) -> None:
            self.shop_online(c, wh, basket, channel)

        return shop

    def shop_in_store(self, c: Customer, loc: int, basket: list[int]) -> None:
        """Take each wanted unit from the shelf, else a substitute, else count a lost sale."""
        oh = self.tw.on_hand[loc]
        pos = self.tw.pos_qty[loc]
        price = self.tw.price_rows[loc]
        cost = self.tw.cost_list
        sold_today = self.tw.sold_today
        now = self.tw.env.now
        sold = subst = lost = rev = cogs = 0
        for s in basket:
            if oh[s] > 0:
                t = s
            else:
                t = self._substitute(loc, s)
                if t < 0:
                    lost += 1
                    self.tw.events.add(now, EventKind.LOST, loc, s, 1, 0, c.unique_id)
                    continue
                subst += 1
                self.tw.events.add(now, EventKind.SUBSTITUTION, loc, t, 1, 0, c.unique_id)
            oh[t] -= 1
            pos[t] += 1
            sold_today[t] += 1
            sold += 1
            rev += price[t]
            cogs += cost[t]
        self._book(loc, c, len(basket), sold, subst, lost, rev, cogs)

    def _book(
        self,
        loc: int,
        c: Customer,
        demand: int,
        sold: int,
        subst: int,
        lost: int,
        rev: int,
        cogs: int,
    ) -> None:
        d = self.tw.kpis.data
        day = self.tw.day
        d["demand_units"][day, loc] += demand
        d["units_sold"][day, loc] += sold
        d["substituted_units"][day, loc] += subst
        d["lost_units"][day, loc] += lost
        d["revenue_cents"][day, loc] += rev
        d["cogs_cents"][day, loc] += cogs
        c.units_bought += sold
        c.spend_cents += rev
        self.tw.events.add(self.tw.env.now, EventKind.SALE, loc, -1, sold, rev, c.unique_id)

    def shop_online(self, c: Customer, wh: int, basket: list[int], channel: Channel) -> None:
        """Fill a cart at the serving warehouse, check out, and queue the order for delivery."""
        w = self.tw.world
        row = w.warehouse_row(wh)
        oh, res = self.tw.on_hand[row], self.tw.reserved[row]
        now = self.tw.env.now
        want: dict[int, int] = {}
        subst = lost = 0
        for s in basket:
            if oh[s] - res[s] - want.get(s, 0) > 0:
                t = s
            else:
                t = self._search_substitute(row, s, want)
                if t < 0:
                    lost += 1
                    self.tw.events.add(now, EventKind.LOST, row, s, 1, 0, c.unique_id)
                    continue
                subst += 1
                self.tw.events.add(now, EventKind.SUBSTITUTION, row, t, 1, 0, c.unique_id)
            want[t] = want.get(t, 0) + 1
        rev = cogs = sold = 0
        if want:
            codes = w.skus.codes
            code = w.location_codes[row]
            cart = self.tw.client.create_cart(
                CartCreate(channel=channel, location=code, customer_id=c.code)
            )
            placed: dict[int, int] = {}
            for s, q in want.items():
                try:
                    self.tw.client.set_cart_line(cart.id, CartLineSet(sku=codes[s], quantity=q))
                    placed[s] = q
                except CommerceError:
                    lost += q
                    self.tw.checkout_failures += 1
            if placed:
                try:
                    order = self.tw.client.checkout(
                        CheckoutRequest(cart_id=cart.id), idempotency_key=f"checkout-{cart.id}"
                    )
                except CommerceError:
                    self.tw.checkout_failures += 1
                    lost += sum(placed.values())
                    order = None
                if order is not None:
                    for s, q in placed.items():
                        res[s] += q
                        self.tw.sold_today[s] += q
                        cogs += self.tw.cost_list[s] * q
                    sold = sum(placed.values())
                    rev = order.total_cents
                    self.tw.kpis.data["online_orders"][self.tw.day, row] += 1
                    self.tw.events.add(now, EventKind.ONLINE_ORDER, row, -1, sold, rev, order.id)
                    self.tw.fleet.enqueue(
                        wh, PendingOrder(order.id, c.lat, c.lon, placed, now, sold)
                    )
        self._book(row, c, len(basket), sold, subst, lost, rev, cogs)
