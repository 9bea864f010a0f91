"""The static world of a twin run, built from a scenario: sites, catalog, demand, lead times.

Location index order (every ``(n_locations, n_skus)`` stock array of the twin uses it):
stores ``0..S-1``, warehouses ``S..S+W-1``, then one in-transit location per warehouse
``S+W..S+2W-1`` (stock on the road from that warehouse to its stores; a location of kind
``warehouse`` in the commerce API named ``<warehouse>-TRANSIT``). The demand kernel's location
order (stores, then warehouses as online demand) is the first ``S+W`` of these.

Units: quantities in units, money in cents, time in days (1 SimPy time unit = 1 day), distances
in km.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from api.client.base import CommerceClient
from api.schemas import (
    CategoryCreate,
    Channel,
    LocationCreate,
    LocationKind,
    PriceSet,
    ReceiptCreate,
    SkuImportRow,
    StockLine,
)
from dynamics.demand import DemandEvent, DemandParams, demand_rates
from scenarios.schema import Scenario, SupplierDisruption
from twin.catalog import (
    SkuCatalog,
    build_demand_params,
    build_sku_catalog,
    demand_events,
    haversine_km,
    serving_warehouses,
)

if TYPE_CHECKING:
    from twin.population import Population

logger = logging.getLogger(__name__)

INITIAL_RECEIPT_REF = "INITIAL-STOCK"
IMPORT_CHUNK = 5_000
STOCK_CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class World:
    """Everything fixed for a run: the scenario, generated catalog, demand model and topology.

    Attributes:
        scenario: the validated scenario.
        skus: the generated catalog.
        demand: demand-kernel parameters (``base_rate`` is ``(n_skus, S+W)``).
        events: demand events (flash sales, weather, holiday windows).
        location_codes: codes in the twin's index order (stores, warehouses, transits).
        n_stores, n_warehouses: counts.
        store_warehouse: ``(S,)`` warehouse index (0..W-1) serving each store.
        warehouse_of_row: ``(S+W,)`` warehouse index each store or warehouse row draws from.
        category_skus: SKU indices of each category (for substitution).
        start: the simulated day 0 as a UTC datetime.
    """

    scenario: Scenario
    skus: SkuCatalog
    demand: DemandParams
    events: tuple[DemandEvent, ...]
    location_codes: tuple[str, ...]
    n_stores: int
    n_warehouses: int
    store_warehouse: np.ndarray
    category_skus: tuple[np.ndarray, ...]
    start: datetime

    @property
    def n_skus(self) -> int:
        return self.skus.n_skus

    @property
    def n_locations(self) -> int:
        """Stores + warehouses + transit locations."""
        return self.n_stores + 2 * self.n_warehouses

    @property
    def n_sites(self) -> int:
        """Stores + warehouses (the locations that hold sellable stock)."""
        return self.n_stores + self.n_warehouses

    def warehouse_row(self, w: int) -> int:
        return self.n_stores + w

    def transit_row(self, w: int) -> int:
        return self.n_stores + self.n_warehouses + w

    def expected_daily_demand(self) -> np.ndarray:
        """``(S+W, n_skus)`` mean units/day at list price over a typical week.

        Store rows are in-store demand; warehouse rows are online demand plus the in-store
        demand of the stores they serve (what flows through the warehouse).
        """
        weekly = float(np.mean(self.demand.weekly))
        rates = self.demand.base_rate.T * weekly  # (S+W, n_skus)
        through = rates.copy()
        for s in range(self.n_stores):
            through[self.n_stores + int(self.store_warehouse[s])] += rates[s]
        return through

    def rates(self, day: int, prices_cents: np.ndarray | None) -> np.ndarray:
        """Expected demand on ``day`` (mid-day view), ``(n_skus, S+W)`` units/day."""
        return demand_rates(self.demand, day + 0.5, prices_cents, self.events)

    def supplier_lead_factor(self, supplier: int, day: float) -> tuple[float, float | None]:
        """(lead-time multiplier, end of an outage or None) for orders placed on ``day``."""
        code = self.scenario.world.suppliers[supplier].code
        mult, outage_end = 1.0, None
        for ev in self.scenario.events:
            if (
                isinstance(ev, SupplierDisruption)
                and ev.supplier == code
                and ev.start_day <= day < ev.end_day
            ):
                if ev.outage:
                    outage_end = max(outage_end or 0.0, float(ev.end_day))
                elif ev.lead_time_multiplier is not None:
                    mult *= ev.lead_time_multiplier
        return mult, outage_end

    def outage_end_at(self, supplier: int, when: float) -> float | None:
        """End of a supplier outage covering time ``when`` (deliveries wait for it), or None."""
        code = self.scenario.world.suppliers[supplier].code
        end = None
        for ev in self.scenario.events:
            if (
                isinstance(ev, SupplierDisruption)
                and ev.supplier == code
                and ev.outage
                and ev.start_day <= when < ev.end_day
            ):
                end = max(end or 0.0, float(ev.end_day))
        return end

    def distance_km(self, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        return haversine_km(lat1, lon1, lat2, lon2) * self.scenario.world.fleet.road_factor


def build_world(scenario: Scenario, rng: np.random.Generator) -> World:
    """Generate the catalog and demand parameters (draws from ``rng`` in a fixed order)."""
    skus = build_sku_catalog(scenario, rng)
    demand = build_demand_params(scenario, skus, rng)
    stores, whs = scenario.world.stores, scenario.world.warehouses
    codes = [s.code for s in stores] + [w.code for w in whs] + [f"{w.code}-TRANSIT" for w in whs]
    cats = tuple(np.flatnonzero(skus.category == c) for c in range(len(skus.category_names)))
    start = datetime(
        scenario.start_date.year, scenario.start_date.month, scenario.start_date.day, tzinfo=UTC
    )
    return World(
        scenario=scenario,
        skus=skus,
        demand=demand,
        events=demand_events(scenario, skus),
        location_codes=tuple(codes),
        n_stores=len(stores),
        n_warehouses=len(whs),
        store_warehouse=np.asarray(serving_warehouses(scenario), dtype=np.int64),
        category_skus=cats,
        start=start,
    )


def population_world(world: World, population: Population) -> World:
    """``world`` with each location's base demand rescaled to what ``population`` buys there
    (agents mode: population drives demand; the SKU mix and calendar stay the kernel's)."""
    d = world.demand
    kernel = d.base_rate.sum(axis=0) * float(np.mean(d.weekly))  # (S+W,) units/day
    want = population.expected_units(world.n_warehouses)
    factor = np.divide(want, kernel, out=np.zeros_like(want), where=kernel > 0)
    return dataclasses.replace(
        world, demand=dataclasses.replace(d, base_rate=d.base_rate * factor[None, :])
    )


def initial_stock(world: World) -> np.ndarray:
    """``(n_locations, n_skus)`` initial on-hand: ``initial_stock_days`` of expected demand.

    Warehouses hold that many days of everything that flows through them; transit is empty.
    """
    days = world.scenario.catalog.initial_stock_days
    stock = np.zeros((world.n_locations, world.n_skus), dtype=np.int64)
    stock[: world.n_sites] = np.ceil(world.expected_daily_demand() * days - 1e-9).astype(np.int64)
    return stock


def seed_commerce(world: World, client: CommerceClient, stock: np.ndarray) -> None:
    """Create categories, SKUs, locations, list prices and initial stock through the API."""
    sc = world.scenario
    sk = world.skus
    for name in sk.category_names:
        client.create_category(CategoryCreate(code=name, name=name))
    rows = [
        SkuImportRow(
            sku=code,
            product=f"P{code[3:]}",
            name=f"{sk.category_names[int(sk.category[i])]} item {code}",
            category=sk.category_names[int(sk.category[i])],
            attributes={"perishable": "yes" if sk.shelf_life_days[i] > 0 else "no"},
            cost_cents=int(sk.cost_cents[i]),
            list_price_cents=int(sk.list_price_cents[i]),
        )
        for i, code in enumerate(sk.codes)
    ]
    for k in range(0, len(rows), IMPORT_CHUNK):
        client.import_skus(rows[k : k + IMPORT_CHUNK])
    for st in sc.world.stores:
        client.create_location(
            LocationCreate(
                code=st.code,
                kind=LocationKind.STORE,
                name=st.name or st.code,
                lat=st.lat,
                lon=st.lon,
            )
        )
    for wh in sc.world.warehouses:
        client.create_location(
            LocationCreate(
                code=wh.code,
                kind=LocationKind.WAREHOUSE,
                name=wh.name or wh.code,
                lat=wh.lat,
                lon=wh.lon,
            )
        )
    for wh in sc.world.warehouses:
        client.create_location(
            LocationCreate(
                code=f"{wh.code}-TRANSIT",
                kind=LocationKind.WAREHOUSE,
                name=f"in transit from {wh.code}",
                lat=wh.lat,
                lon=wh.lon,
            )
        )
    for sup in sc.world.suppliers:
        # suppliers are not located in the scenario; place them at the first warehouse
        w0 = sc.world.warehouses[0]
        client.create_location(
            LocationCreate(
                code=sup.code,
                kind=LocationKind.SUPPLIER,
                name=sup.name or sup.code,
                lat=w0.lat,
                lon=w0.lon,
            )
        )
    prices = [
        PriceSet(
            sku=code, channel=ch, price_cents=int(sk.list_price_cents[i]), valid_from=world.start
        )
        for ch in (Channel.STORE, Channel.WEB, Channel.APP)
        for i, code in enumerate(sk.codes)
    ]
    for k in range(0, len(prices), IMPORT_CHUNK):
        client.set_prices(prices[k : k + IMPORT_CHUNK])
    for loc in range(world.n_locations):
        nz = np.flatnonzero(stock[loc])
        for k in range(0, nz.size, STOCK_CHUNK):
            part = nz[k : k + STOCK_CHUNK]
            client.receive(
                ReceiptCreate(
                    location=world.location_codes[loc],
                    lines=[StockLine(sku=sk.codes[i], quantity=int(stock[loc, i])) for i in part],
                    reference=INITIAL_RECEIPT_REF,
                ),
                idempotency_key=f"init-{loc}-{k}",
            )
    logger.info(
        "seeded commerce: %d SKUs, %d locations, %d units",
        sk.n_skus,
        world.n_locations + len(sc.world.suppliers),
        int(stock.sum()),
    )


def dist_mean(dist: object) -> float:
    """The exact mean of a scenario distribution (``scenarios.distributions``)."""
    return float(dist.mean_value())  # type: ignore[attr-defined]


def round_days(x: float) -> int:
    """A lead time or delay in whole days (the twin reviews once a day), never negative."""
    return max(0, math.floor(x + 0.5))
