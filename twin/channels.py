"""Sales channels: where shopper sessions turn into sales through the commerce API.

A channel is a collaborator of the twin with a small contract (:class:`SalesChannel`): it
serves some of the demand kernel's columns (locations), says when those locations take
sessions, and shops a list of sessions that arrived by now (one in per-session mode, a whole
time slice in sliced mode). Adding a channel means writing one class here and listing it in
:func:`build_channels`; nothing else in the twin names channels.

* :class:`StoreChannel`: in-store shopping. A shopper takes units from the twin's view of the
  shelf; sales go to the API as POS batches (per store at closing time in per-session mode,
  per store and slice in sliced mode).
* :class:`OnlineChannel`: web and app orders fulfilled from the serving warehouse. A shopper's
  wanted units are reserved through a checkout (:class:`~twin.gateway.OrderGateway`), and the
  order waits for a van of the fleet.
* :class:`VoiceChannel` (``customers.voice``): "order my usual". Voice-assistant owners re-order
  their most frequent basket (:class:`~twin.voice_social.BasketHistory`) at hours of their own
  profile; placed and delivered like online orders.
* :class:`SocialChannel` (``customers.social_bursts``): an influencer post sends shoppers to one
  SKU; sessions follow the post's spike (:class:`~twin.voice_social.BurstShape`: fast linear
  rise, power-law decay) and are placed like online orders, grouped per 5 simulated minutes.

Voice and social sessions come on top of the demand kernel's: those channels serve no demand
column and run their own SimPy processes (started by :func:`build_channels`).

A missing item is replaced by an in-stock SKU of its category with the catalog's substitution
probability, otherwise counted as a lost sale. Time in days; money cents; quantities units.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import simpy

from api.client.base import CommerceClient
from api.schemas import Channel, PosSale, PosSaleBatch, SearchQuery
from dynamics.demand import sample_arrival_times
from scenarios.voice_social import SocialBurst, VoiceReorders
from twin.agents import Customer, ShopModel
from twin.errors import TwinConfigError
from twin.events import EventKind, EventLog
from twin.fleet import PendingOrder
from twin.gateway import OrderGateway, OrderIntent
from twin.kpis import KpiBook
from twin.population import BALK_PROBABILITY, Population, substitute_weights
from twin.ports import OrderSink
from twin.recommend import RecommendationHook
from twin.simtime import DAY_END, DECIDE_AT, HOURS_PER_DAY, minutes
from twin.state import TwinState
from twin.voice_social import BasketHistory, BurstShape
from twin.world import World

__all__ = [
    "SOCIAL_STREAM",
    "VOICE_STREAM",
    "OnlineChannel",
    "SalesChannel",
    "Session",
    "ShelfPrices",
    "SocialChannel",
    "StoreChannel",
    "VoiceChannel",
    "build_channels",
]

VOICE_STREAM = 0x0F01CE  # random streams of the voice and social channels (from the run seed)
SOCIAL_STREAM = 0x50C1A1
SOCIAL_GROUP_MINUTES = 5
"""Social sessions reach the API in groups of this many simulated minutes (one batch each)."""

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Session:
    """One shopper visit: arrival time (days), the stock row it shops at, wanted SKUs."""

    t: float
    row: int
    basket: list[int]
    customer: Customer
    tag: Channel
    col: int = -1  # demand column (location) of the visit


@dataclass(slots=True)
class ShelfPrices:
    """Today's effective price per demand column and SKU (``rows[col][sku]`` cents)."""

    rows: list[list[int]] = field(default_factory=list)


class SalesChannel(Protocol):
    """The contract of a sales channel (see the module docstring)."""

    name: str

    def columns(self) -> list[int]:
        """Demand-kernel columns (locations) this channel serves."""
        ...

    def row(self, col: int) -> int:
        """The stock row sessions of column ``col`` shop at."""
        ...

    def hours(self, col: int) -> tuple[float, float]:
        """``(open, close)`` hours of the day in which sessions of ``col`` arrive."""
        ...

    def tags(self, n: int, rng: np.random.Generator) -> list[Channel]:
        """The API channel of each of ``n`` new sessions."""
        ...

    def shop(self, sessions: Sequence[Session]) -> None:
        """Serve ``sessions`` (arrived by now, in arrival order)."""
        ...

    def end_slice(self, col: int) -> None:
        """A time slice of column ``col`` is over (sliced mode): send what it buffered."""
        ...

    def close(self, col: int) -> None:
        """Column ``col`` closes for the day: send whatever is still buffered."""
        ...

    def extra_kpis(self) -> dict[str, int]:
        """KPIs the channel adds to the run's (e.g. ``voice_sessions``); usually none."""
        ...


class _Base:
    """What both shipped channels share: substitution and the KPI booking of a session."""

    def __init__(
        self,
        env: simpy.Environment,
        world: World,
        state: TwinState,
        kpis: KpiBook,
        events: EventLog,
        rng_subst: np.random.Generator,
        population: Population | None = None,
    ) -> None:
        self.env = env
        self.world = world
        self.state = state
        self.kpis = kpis
        self.events = events
        self.rng = rng_subst
        self.subst_p = world.scenario.catalog.substitution_probability
        self.cost = world.skus.cost_cents.tolist()
        self.population = population
        self.balk_p = BALK_PROBABILITY if population is not None else 0.0
        self.list_price = world.skus.list_price_cents
        self.perishable = world.skus.shelf_life_days > 0
        # online shoppers shown recommendations (twin.recommend; None: no recommendations)
        self.recommender: RecommendationHook | None = None
        self.history: BasketHistory | None = None  # set when voice re-orders need it

    def extra_kpis(self) -> dict[str, int]:
        """KPIs this channel adds to the run's (none for the kernel's channels)."""
        return {}

    def balks(self) -> bool:
        """Whether a customer who just missed an item abandons the rest of the basket."""
        return self.balk_p > 0.0 and self.rng.random() < self.balk_p

    def substitute(self, row: int, sku: int, taken: dict[int, int] | None = None) -> int:
        """A substitute in stock at ``row`` from the same category, or -1 (then a lost sale)."""
        if self.subst_p <= 0.0 or self.rng.random() >= self.subst_p:
            return -1
        st = self.state
        cands = self.world.category_skus[int(self.world.skus.category[sku])]
        avail = st.on_hand[row, cands] - st.reserved[row, cands]
        if taken:
            for j, q in taken.items():
                pos = np.searchsorted(cands, j)
                if pos < cands.size and cands[pos] == j:
                    avail[pos] -= q
        ok = cands[avail > 0]
        if ok.size == 0:
            return -1
        if self.population is not None:  # deciding customers weigh price and attributes
            wts = substitute_weights(self.list_price, self.perishable, sku, ok)
            cum = np.cumsum(wts)
            return int(ok[min(int(np.searchsorted(cum, self.rng.random() * cum[-1])), ok.size - 1)])
        return int(ok[int(self.rng.random() * ok.size)])

    def book(
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
        d = self.kpis.data
        day = self.state.day
        d["demand_units"][day, loc] += demand
        d["units_sold"][day, loc] += sold
        d["substituted_units"][day, loc] += subst
        d["lost_units"][day, loc] += lost
        d["revenue_cents"][day, loc] += rev
        d["cogs_cents"][day, loc] += cogs
        c.sessions += 1
        c.units_bought += sold
        c.spend_cents += rev
        if self.population is not None:
            store = loc if loc < self.world.n_stores else -1
            self.population.record(c.index, store, lost > 0)
        self.events.add(self.env.now, EventKind.SALE, loc, -1, sold, rev, c.unique_id)


class StoreChannel(_Base):
    """In-store shopping at the stores (demand columns ``0..S-1``, stock rows the same)."""

    name = "store"

    def __init__(
        self,
        env: simpy.Environment,
        world: World,
        state: TwinState,
        kpis: KpiBook,
        events: EventLog,
        rng_subst: np.random.Generator,
        client: CommerceClient,
        prices: ShelfPrices,
        population: Population | None = None,
    ) -> None:
        super().__init__(env, world, state, kpis, events, rng_subst, population)
        self.client = client
        self.prices = prices
        self.pos_qty = np.zeros((world.n_stores, world.n_skus), dtype=np.int64)

    def columns(self) -> list[int]:
        return list(range(self.world.n_stores))

    def row(self, col: int) -> int:
        return col

    def hours(self, col: int) -> tuple[float, float]:
        oh = self.world.scenario.world.stores[col].opening_hours
        return float(oh.open), float(oh.close)

    def tags(self, n: int, rng: np.random.Generator) -> list[Channel]:
        return [Channel.STORE] * n

    def shop(self, sessions: Sequence[Session]) -> None:
        """Take each wanted unit from the shelf, else a substitute, else count a lost sale."""
        st = self.state
        now = self.env.now
        cost = self.cost
        ev = self.events
        for se in sessions:
            loc = se.row
            oh = st.on_hand[loc]
            pos = self.pos_qty[loc]
            price = self.prices.rows[loc]
            c = se.customer
            sold = subst = lost = rev = cogs = 0
            got: dict[int, int] | None = {} if self.history is not None else None
            basket = se.basket
            for k, s in enumerate(basket):
                if oh[s] > 0:
                    t = s
                else:
                    t = self.substitute(loc, s)
                    if t < 0:
                        lost += 1
                        ev.add(now, EventKind.LOST, loc, s, 1, 0, c.unique_id)
                        if self.balks():  # walks out: the rest of the basket is lost too
                            for r in basket[k + 1 :]:
                                ev.add(now, EventKind.LOST, loc, r, 1, 0, c.unique_id)
                            lost += len(basket) - k - 1
                            break
                        continue
                    subst += 1
                    ev.add(now, EventKind.SUBSTITUTION, loc, t, 1, 0, c.unique_id)
                oh[t] -= 1
                pos[t] += 1
                st.sold_today[t] += 1
                sold += 1
                rev += price[t]
                cogs += cost[t]
                if got is not None:
                    got[t] = got.get(t, 0) + 1
            self.book(loc, c, len(se.basket), sold, subst, lost, rev, cogs)
            if got and self.history is not None:
                self.history.record(c.index, got)

    def end_slice(self, col: int) -> None:
        self.flush(col)

    def close(self, col: int) -> None:
        self.flush(col)

    def flush(self, s: int) -> None:
        """Send store ``s``'s buffered sales as one POS batch."""
        qty = self.pos_qty[s]
        nz = np.flatnonzero(qty)
        if nz.size == 0:
            return
        w = self.world
        st = self.state
        codes = w.skus.codes
        prices = self.prices.rows[s]
        ref = f"POS-{w.location_codes[s]}-{st.counters.next_ref()}"
        body = PosSaleBatch(
            location=w.location_codes[s],
            reference=ref,
            # the twin builds valid lines itself: skip per-line validation
            sales=[
                PosSale.model_construct(sku=codes[i], quantity=q, unit_price_cents=prices[i])
                for i, q in zip(nz.tolist(), qty[nz].tolist(), strict=True)
            ],
        )
        res = self.client.pos_sales(body, idempotency_key=ref)
        st.record_pos(s, qty)
        for rej in res.rejected:
            i = w.skus.index_of(rej.sku)
            st.unsell(s, i, rej.requested)  # the shelf never had it: restore the view
            st.counters.pos_rejected += rej.requested
            self.events.add(self.env.now, EventKind.POS_REJECTED, s, i, rej.requested)
        qty[:] = 0


class OnlineChannel(_Base):
    """Web and app orders (demand columns ``S..S+W-1``), fulfilled from the warehouse rows.

    Args:
        search_substitutes: look substitutes up with the API's category search (per-session
            mode, as a shopper would); otherwise from the twin's view of the warehouse, which
            equals the ledger (sliced mode).
    """

    name = "online"

    def __init__(
        self,
        env: simpy.Environment,
        world: World,
        state: TwinState,
        kpis: KpiBook,
        events: EventLog,
        rng_subst: np.random.Generator,
        client: CommerceClient,
        gateway: OrderGateway,
        fleet: OrderSink,
        *,
        search_substitutes: bool,
        population: Population | None = None,
    ) -> None:
        super().__init__(env, world, state, kpis, events, rng_subst, population)
        self.client = client
        self.gateway = gateway
        self.fleet = fleet
        self.search_substitutes = search_substitutes
        mix = world.scenario.customers.channel_mix
        self.p_web = mix.web / (mix.web + mix.app) if (mix.web + mix.app) > 0 else 1.0

    def columns(self) -> list[int]:
        return list(range(self.world.n_stores, self.world.n_sites))

    def row(self, col: int) -> int:
        return col  # warehouse demand column == warehouse stock row

    def hours(self, col: int) -> tuple[float, float]:
        return 0.0, HOURS_PER_DAY

    def tags(self, n: int, rng: np.random.Generator) -> list[Channel]:
        web = rng.random(n) < self.p_web
        return [Channel.WEB if x else Channel.APP for x in web.tolist()]

    def _search_substitute(self, row: int, sku: int, taken: dict[int, int]) -> int:
        """Search the category for items in stock at the warehouse and take one, or -1."""
        if self.subst_p <= 0.0 or self.rng.random() >= self.subst_p:
            return -1
        w = self.world
        cat = w.skus.category_names[int(w.skus.category[sku])]
        page = self.client.search(
            SearchQuery(category=cat, in_stock_at=w.location_codes[row], sort="name", limit=100)
        )
        oh, res = self.state.on_hand[row], self.state.reserved[row]
        ok = [
            j
            for j in (w.skus.index_of(item.sku) for item in page.items)
            if oh[j] - res[j] - taken.get(j, 0) > 0
        ]
        if not ok:
            return -1
        return ok[int(self.rng.random() * len(ok))]

    def shop(self, sessions: Sequence[Session]) -> None:
        """Decide every session's order, place them together, then book and queue them.

        Units are reserved in the twin's view as each order is decided (so later sessions of
        the same slice see them gone) and released again if the API refuses them.
        """
        st = self.state
        w = self.world
        now = self.env.now
        ev = self.events
        codes = w.skus.codes
        intents: list[OrderIntent] = []
        decided: list[tuple[Session, dict[int, int], int, int, int]] = []
        for se in sessions:
            row = se.row
            oh, res = st.on_hand[row], st.reserved[row]
            c = se.customer
            want: dict[int, int] = {}
            subst = lost = 0
            basket = se.basket
            for k, s in enumerate(basket):
                if oh[s] - res[s] - want.get(s, 0) > 0:
                    t = s
                else:
                    t = (
                        self._search_substitute(row, s, want)
                        if self.search_substitutes
                        else self.substitute(row, s, want)
                    )
                    if t < 0:
                        lost += 1
                        ev.add(now, EventKind.LOST, row, s, 1, 0, c.unique_id)
                        if self.balks():
                            for r in basket[k + 1 :]:
                                ev.add(now, EventKind.LOST, row, r, 1, 0, c.unique_id)
                            lost += len(basket) - k - 1
                            break
                        continue
                    subst += 1
                    ev.add(now, EventKind.SUBSTITUTION, row, t, 1, 0, c.unique_id)
                want[t] = want.get(t, 0) + 1
            extra = 0
            if self.recommender is not None and want:  # accepted recommendations join the basket
                for t in self.recommender.add_ons(c.index, c.code, want, oh - res):
                    want[t] = want.get(t, 0) + 1
                    extra += 1
            for s, q in want.items():
                res[s] += q
            decided.append((se, want, subst, lost, extra))
            if want:
                intents.append(
                    OrderIntent(
                        location=w.location_codes[row],
                        channel=se.tag,
                        customer_id=c.code,
                        lines=tuple((codes[s], q) for s, q in want.items()),
                    )
                )
        outcomes = iter(self.gateway.place(intents))
        for se, want, subst, lost, extra in decided:
            row = se.row
            res = st.reserved[row]
            c = se.customer
            rev = cogs = sold = 0
            if want:
                out = next(outcomes)
                st.counters.checkout_failures += out.failures
                placed: dict[int, int] = {}
                for (s, q), ok in zip(want.items(), out.accepted, strict=True):
                    if ok and out.order_id is not None:
                        placed[s] = q
                    else:
                        res[s] -= q
                        lost += q
                if out.order_id is not None and placed:
                    for s, q in placed.items():
                        st.sold_today[s] += q
                        cogs += self.cost[s] * q
                    sold = sum(placed.values())
                    rev = out.total_cents
                    self.kpis.data["online_orders"][st.day, row] += 1
                    ev.add(now, EventKind.ONLINE_ORDER, row, -1, sold, rev, out.order_id)
                    self.fleet.enqueue(
                        row - w.n_stores,
                        PendingOrder(out.order_id, c.lat, c.lon, placed, se.t, sold),
                    )
                    if self.history is not None:
                        self.history.record(c.index, placed)
            self.book(row, c, len(se.basket) + extra, sold, subst, lost, rev, cogs)

    def end_slice(self, col: int) -> None:
        return None

    def close(self, col: int) -> None:
        return None


class _ExtraOnline(OnlineChannel):
    """An online channel with its own arrivals (no demand column) and its own counters."""

    def __init__(
        self,
        env: simpy.Environment,
        world: World,
        state: TwinState,
        kpis: KpiBook,
        events: EventLog,
        rng_subst: np.random.Generator,
        client: CommerceClient,
        gateway: OrderGateway,
        fleet: OrderSink,
        rng: np.random.Generator,
        population: Population | None = None,
    ) -> None:
        super().__init__(
            env,
            world,
            state,
            kpis,
            events,
            rng_subst,
            client,
            gateway,
            fleet,
            search_substitutes=False,
            population=population,
        )
        self.rng_own = rng
        self.counts = {"sessions": 0, "units": 0, "lost_units": 0, "revenue_cents": 0}

    def columns(self) -> list[int]:
        return []

    def start(self) -> None:
        """Start the channel's SimPy processes (before the environment runs)."""
        raise NotImplementedError

    def book(
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
        super().book(loc, c, demand, sold, subst, lost, rev, cogs)
        n = self.counts
        n["sessions"] += 1
        n["units"] += sold
        n["lost_units"] += lost
        n["revenue_cents"] += rev

    def extra_kpis(self) -> dict[str, int]:
        return {f"{self.name}_{k}": v for k, v in self.counts.items()}

    def _count_sessions(self, day: int, rows: Sequence[int]) -> None:
        if 0 <= day < self.kpis.data["sessions"].shape[0]:
            for r in rows:
                self.kpis.data["sessions"][day, r] += 1
        self.state.counters.sessions += len(rows)


class VoiceChannel(_ExtraOnline):
    """Voice re-orders: "order my usual" (see the module docstring).

    Each day at 00:15 every adopter (``history.tracked``) with at least ``min_history`` baskets
    re-orders with probability ``1 / reorder_interval_days``; the order is their usual basket
    (:meth:`BasketHistory.usual`) from their serving warehouse, at a time drawn from the voice
    hourly profile (after 00:15).
    """

    name = "voice"

    def __init__(
        self,
        env: simpy.Environment,
        world: World,
        state: TwinState,
        kpis: KpiBook,
        events: EventLog,
        rng_subst: np.random.Generator,
        client: CommerceClient,
        gateway: OrderGateway,
        fleet: OrderSink,
        rng: np.random.Generator,
        *,
        config: VoiceReorders,
        customers: Sequence[Customer],
        history: BasketHistory,
        population: Population | None = None,
    ) -> None:
        super().__init__(
            env, world, state, kpis, events, rng_subst, client, gateway, fleet, rng, population
        )
        self.config = config
        self.customers = customers
        self.history = history
        self.adopters = np.flatnonzero(history.tracked)
        self.p_daily = min(1.0, 1.0 / config.reorder_interval_days)
        self.profile = np.asarray(config.hourly_profile, dtype=np.float64)
        self.api_tag = Channel(config.api_channel)

    def start(self) -> None:
        self.env.process(self._run())

    def plan_day(self, day: int) -> list[Session]:
        """Today's voice sessions, in arrival order (draws from the channel's stream)."""
        hist = self.history
        assert hist is not None
        rng = self.rng_own
        asks = self.adopters[rng.random(self.adopters.size) < self.p_daily]
        ready = [int(i) for i in asks.tolist() if hist.count(int(i)) >= self.config.min_history]
        if not ready:
            return []
        open_h = DECIDE_AT * HOURS_PER_DAY
        if self.profile[int(open_h) :].sum() <= 0:
            return []
        times = day + sample_arrival_times(rng, len(ready), self.profile, open_h, HOURS_PER_DAY)
        times = np.minimum(times, day + DAY_END - 1e-6)
        order = rng.permutation(len(ready))  # which customer gets which (sorted) time
        out: list[Session] = []
        S = self.world.n_stores
        for t, k in zip(times.tolist(), order.tolist(), strict=True):
            c = self.customers[ready[k]]
            usual = hist.usual(c.index)
            assert usual is not None
            basket = [sku for sku, q in usual for _ in range(q)]
            row = S + c.warehouse
            out.append(Session(t, row, basket, c, self.api_tag, row))
        return out

    def _run(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        day = int(env.now)
        while True:
            at = day + DECIDE_AT
            if at > env.now:
                yield env.timeout(at - env.now)
            sessions = self.plan_day(day)
            self._count_sessions(day, [se.row for se in sessions])
            for se in sessions:
                if se.t > env.now:
                    yield env.timeout(se.t - env.now)
                self.shop((se,))
            day += 1


class SocialChannel(_ExtraOnline):
    """Social-commerce bursts: each influencer post is a spike of sessions for one SKU (see the
    module docstring). Arrivals of every burst are drawn when the channel starts; customers are
    drawn uniformly from the population and order from their serving warehouse; a unit out of
    stock is lost (no substitute)."""

    name = "social"

    def __init__(
        self,
        env: simpy.Environment,
        world: World,
        state: TwinState,
        kpis: KpiBook,
        events: EventLog,
        rng_subst: np.random.Generator,
        client: CommerceClient,
        gateway: OrderGateway,
        fleet: OrderSink,
        rng: np.random.Generator,
        *,
        bursts: Sequence[SocialBurst],
        customers: Sequence[Customer],
        population: Population | None = None,
    ) -> None:
        super().__init__(
            env, world, state, kpis, events, rng_subst, client, gateway, fleet, rng, population
        )
        self.bursts = list(bursts)
        self.customers = customers
        self.sku_of: list[int] = []
        for b in self.bursts:
            try:
                self.sku_of.append(world.skus.index_of(b.sku))
            except KeyError:
                raise TwinConfigError(
                    f"social burst {b.name or b.sku!r}: sku {b.sku!r} is not in the catalog"
                ) from None
        self.planned: list[list[Session]] = []

    def substitute(self, row: int, sku: int, taken: dict[int, int] | None = None) -> int:
        """No substitutes: a post's followers want that SKU (a miss is a lost sale)."""
        return -1

    @staticmethod
    def shape(b: SocialBurst) -> BurstShape:
        """The burst's traffic shape (hours after the post)."""
        return BurstShape(
            peak=b.peak_sessions_per_hour,
            rise=b.rise_hours,
            tau=b.decay_hours,
            alpha=b.decay_exponent,
            duration=b.duration_hours,
        )

    def plan(self) -> list[list[Session]]:
        """Every burst's sessions, in arrival order (draws from the channel's stream)."""
        rng = self.rng_own
        S = self.world.n_stores
        out: list[list[Session]] = []
        for b, sku in zip(self.bursts, self.sku_of, strict=True):
            hours_after = self.shape(b).sample(rng)
            t0 = b.start_day + b.start_hour / HOURS_PER_DAY
            who = rng.integers(0, len(self.customers), size=hours_after.size)
            tag = Channel(b.api_channel)
            sessions = []
            for u, k in zip(hours_after.tolist(), who.tolist(), strict=True):
                c = self.customers[k]
                row = S + c.warehouse
                t = t0 + u / HOURS_PER_DAY
                sessions.append(Session(t, row, [sku] * b.units_per_session, c, tag, row))
            out.append(sessions)
        return out

    def start(self) -> None:
        self.planned = self.plan()
        for sessions in self.planned:
            if sessions:
                self.env.process(self._run(sessions))

    def _run(self, sessions: list[Session]) -> Generator[simpy.Event, Any, None]:
        env = self.env
        width = minutes(SOCIAL_GROUP_MINUTES)
        i, n = 0, len(sessions)
        while i < n:
            end = (int(sessions[i].t / width) + 1) * width
            j = i
            while j < n and sessions[j].t < end:
                j += 1
            if end > env.now:
                yield env.timeout(end - env.now)
            group = sessions[i:j]
            for se in group:
                self._count_sessions(int(se.t), [se.row])
            self.shop(group)
            i = j


def build_channels(
    env: simpy.Environment,
    world: World,
    state: TwinState,
    kpis: KpiBook,
    events: EventLog,
    rng_subst: np.random.Generator,
    client: CommerceClient,
    gateway: OrderGateway,
    fleet: OrderSink,
    prices: ShelfPrices,
    *,
    sliced: bool,
    population: Population | None = None,
    model: ShopModel | None = None,
    seed: int | None = None,
) -> list[SalesChannel]:
    """The twin's sales channels, in the order their demand columns come (stores, online),
    then voice and social when the scenario configures them (``customers.voice``,
    ``customers.social_bursts``; they need the customer ``model``) with their processes
    started; their random streams derive from ``seed`` (default: the scenario's).

    Raises:
        TwinConfigError: a social burst names a SKU that is not in the catalog.
    """
    base: list[_Base] = [
        StoreChannel(env, world, state, kpis, events, rng_subst, client, prices, population),
        OnlineChannel(
            env,
            world,
            state,
            kpis,
            events,
            rng_subst,
            client,
            gateway,
            fleet,
            search_substitutes=not sliced and population is None,
            population=population,
        ),
    ]
    cust = world.scenario.customers
    run_seed = world.scenario.seed if seed is None else seed
    extra: list[_ExtraOnline] = []
    if model is not None and cust.voice is not None:
        rng = np.random.default_rng([run_seed, VOICE_STREAM])
        history = BasketHistory(rng.random(len(model.customers)) < cust.voice.adoption)
        for ch in base:
            ch.history = history
        extra.append(
            VoiceChannel(
                env,
                world,
                state,
                kpis,
                events,
                rng_subst,
                client,
                gateway,
                fleet,
                rng,
                config=cust.voice,
                customers=model.customers,
                history=history,
                population=population,
            )
        )
    if model is not None and cust.social_bursts:
        extra.append(
            SocialChannel(
                env,
                world,
                state,
                kpis,
                events,
                rng_subst,
                client,
                gateway,
                fleet,
                np.random.default_rng([run_seed, SOCIAL_STREAM]),
                bursts=cust.social_bursts,
                customers=model.customers,
                population=population,
            )
        )
    for ch in extra:
        ch.start()
    return [*base, *extra]  # type: ignore[list-item]
