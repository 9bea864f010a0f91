"""Generate the SKU catalog and the demand parameters of a scenario, from one Generator.

``build_sku_catalog(scenario, rng)`` draws, for every SKU: category, list price and cost
(cents), base demand (units/day at a 1,000 m² store), price elasticity, supplier, and shelf
life for perishables. ``build_demand_params(scenario, skus, rng)`` spreads the base demand over
locations (kernel order: stores, then warehouses, see ``Scenario.location_codes``):

* a store gets ``base * size_m2/1000 * channel_mix.store * affinity[sku, store]``
  (``affinity`` log-normal with mean 1 and log-sd ``catalog.store_affinity_sd``);
* a warehouse gets the online demand of the stores it serves:
  ``base * sum(size_m2/1000) * (channel_mix.web + channel_mix.app)``.

Customer segments enter through the price response: segment ``k`` demands a share
``share_k * visits_per_week_k * mean basket_k`` (normalised) of the units, with elasticity
``elasticity * price_sensitivity_k``.

``demand_events(scenario, skus)`` turns flash sales, weather shocks and holiday windows into
kernel :class:`~dynamics.demand.DemandEvent` objects. Same scenario + same seed gives the
same arrays, bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dynamics.demand import DemandEvent, DemandParams, HolidayEffect
from scenarios.crosscheck import sku_code, sku_index
from scenarios.schema import FlashSale, HolidayEvent, Scenario, WeatherShock

__all__ = [
    "SkuCatalog",
    "build_demand_params",
    "build_sku_catalog",
    "demand_events",
    "haversine_km",
    "serving_warehouses",
]

REFERENCE_STORE_M2 = 1000.0


@dataclass(frozen=True, slots=True)
class SkuCatalog:
    """The generated SKUs, as parallel arrays of length ``n_skus`` (index = SKU index).

    Attributes:
        codes: SKU codes (``SKU000001``...), see ``scenarios.crosscheck.sku_code``.
        category: category index; ``category_names[category[i]]`` is its name.
        list_price_cents, cost_cents: int64 cents; ``1 <= cost_cents <= list_price_cents``.
        base_demand: units/day at a reference (1,000 m²) store, all channels.
        elasticity: price elasticity (<= 0).
        supplier: index into ``scenario.world.suppliers``.
        shelf_life_days: int days for perishable SKUs, 0 for non-perishable ones.
    """

    codes: tuple[str, ...]
    category: np.ndarray
    category_names: tuple[str, ...]
    list_price_cents: np.ndarray
    cost_cents: np.ndarray
    base_demand: np.ndarray
    elasticity: np.ndarray
    supplier: np.ndarray
    shelf_life_days: np.ndarray

    @property
    def n_skus(self) -> int:
        return len(self.codes)

    @property
    def perishable(self) -> np.ndarray:
        return self.shelf_life_days > 0

    def index_of(self, code: str) -> int:
        """The index of SKU ``code``. Raises KeyError if it is not in this catalog."""
        i = sku_index(code, self.n_skus)
        if i is None:
            raise KeyError(f"unknown SKU {code!r}")
        return i


def build_sku_catalog(scenario: Scenario, rng: np.random.Generator) -> SkuCatalog:
    """Draw the scenario's SKUs. Draw order is fixed, so results depend only on ``rng``'s state."""
    cat = scenario.catalog
    n = cat.n_skus
    names = tuple(cat.resolved_category_names())
    # every category gets at least one SKU; the rest are spread at random
    category = np.concatenate(
        [np.arange(cat.n_categories), rng.integers(0, cat.n_categories, n - cat.n_categories)]
    )
    rng.shuffle(category)
    price = np.maximum(1, np.rint(cat.price_cents.sample(rng, n))).astype(np.int64)
    ratio = cat.cost_ratio.sample(rng, n)
    cost = np.clip(np.rint(price * ratio), 1, price).astype(np.int64)
    base = np.maximum(0.0, cat.base_demand.sample(rng, n))
    elasticity = np.minimum(0.0, cat.elasticity.sample(rng, n))
    shares = np.array([s.sku_share for s in scenario.world.suppliers])
    supplier = rng.choice(len(shares), size=n, p=shares / shares.sum())
    shelf = np.zeros(n, dtype=np.int64)
    if cat.perishability is not None:
        perishable = rng.random(n) < cat.perishability.share
        k = int(perishable.sum())
        shelf[perishable] = np.maximum(
            1, np.rint(cat.perishability.shelf_life_days.sample(rng, k))
        ).astype(np.int64)
    return SkuCatalog(
        codes=tuple(sku_code(i, n) for i in range(n)),
        category=category.astype(np.int64),
        category_names=names,
        list_price_cents=price,
        cost_cents=cost,
        base_demand=base,
        elasticity=elasticity,
        supplier=supplier.astype(np.int64),
        shelf_life_days=shelf,
    )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (Earth radius 6,371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


def serving_warehouses(scenario: Scenario) -> list[int]:
    """For each store, the index of its warehouse: the named one, else the nearest."""
    whs = scenario.world.warehouses
    codes = [w.code for w in whs]
    out = []
    for s in scenario.world.stores:
        if s.warehouse is not None:
            out.append(codes.index(s.warehouse))
        else:
            out.append(
                min(
                    range(len(whs)),
                    key=lambda k: haversine_km(s.lat, s.lon, whs[k].lat, whs[k].lon),
                )
            )
    return out


def build_demand_params(
    scenario: Scenario, skus: SkuCatalog, rng: np.random.Generator
) -> DemandParams:
    """Kernel parameters for ``skus`` at the scenario's locations (stores, then warehouses)."""
    cat = scenario.catalog
    stores = scenario.world.stores
    n_st, n_wh = len(stores), len(scenario.world.warehouses)
    mix = scenario.customers.channel_mix
    scale = np.array([s.size_m2 / REFERENCE_STORE_M2 for s in stores])
    base = np.empty((skus.n_skus, n_st + n_wh))
    store_part = skus.base_demand[:, None] * (scale * mix.store)[None, :]
    if cat.store_affinity_sd > 0:
        sd = cat.store_affinity_sd
        store_part = store_part * rng.lognormal(-(sd**2) / 2.0, sd, size=store_part.shape)
    base[:, :n_st] = store_part
    online_scale = np.zeros(n_wh)
    np.add.at(online_scale, np.array(serving_warehouses(scenario), dtype=np.int64), scale)
    base[:, n_st:] = skus.base_demand[:, None] * (online_scale * (mix.web + mix.app))[None, :]

    closed = np.zeros((7, n_st + n_wh), dtype=bool)
    for j, s in enumerate(stores):
        closed[s.closed_weekdays, j] = True
    store_mask = np.zeros(n_st + n_wh, dtype=bool)
    store_mask[:n_st] = True
    # Units demanded by a segment scale with its share of shoppers, visits and basket size.
    segments = scenario.customers.segments
    weights = np.array([s.share * s.visits_per_week * s.basket_size.mean_value() for s in segments])
    weights = weights / weights.sum()
    sensitivity = np.array([s.price_sensitivity for s in segments])
    single_unit_segment = len(segments) == 1 and sensitivity[0] == 1.0
    return DemandParams(
        base_rate=base,
        category=skus.category,
        list_price_cents=skus.list_price_cents,
        elasticity=skus.elasticity,
        weekly=np.asarray(cat.weekly_seasonality, dtype=np.float64),
        yearly_amplitude=cat.yearly_seasonality.amplitude,
        yearly_peak_day=cat.yearly_seasonality.peak_day,
        start_date=scenario.start_date,
        holidays=tuple(
            HolidayEffect(h.date, h.multiplier, h.recurring, h.stores_closed) for h in cat.holidays
        ),
        closed_weekdays=closed if closed.any() else None,
        store_mask=store_mask,
        n_categories=cat.n_categories,
        segment_weights=None if single_unit_segment else weights,
        segment_sensitivity=None if single_unit_segment else sensitivity,
    )


def _location_mask(
    scenario: Scenario, store_codes: list[str] | None, include_online: bool
) -> np.ndarray | None:
    if store_codes is None:
        return None
    codes = [s.code for s in scenario.world.stores]
    mask = np.zeros(len(scenario.location_codes), dtype=bool)
    for c in store_codes:
        mask[codes.index(c)] = True
    if include_online:
        mask[len(codes) :] = True
    return mask


def demand_events(scenario: Scenario, skus: SkuCatalog) -> tuple[DemandEvent, ...]:
    """Kernel events for the scenario's flash sales, weather shocks and holiday windows.

    Supplier disruptions change lead times, not demand, and are left to the twin.
    """
    names = list(skus.category_names)
    out: list[DemandEvent] = []
    for ev in scenario.events:
        if isinstance(ev, FlashSale):
            mask = None
            if ev.categories is not None or ev.skus is not None:
                mask = np.zeros(skus.n_skus, dtype=bool)
                for c in ev.categories or []:
                    mask |= skus.category == names.index(c)
                for code in ev.skus or []:
                    mask[skus.index_of(code)] = True
            out.append(
                DemandEvent(
                    ev.start_day,
                    ev.end_day,
                    multiplier=ev.traffic_multiplier,
                    sku_mask=mask,
                    location_mask=_location_mask(scenario, ev.stores, include_online=False),
                    discount=ev.discount,
                    name=ev.name or "flash_sale",
                )
            )
        elif isinstance(ev, WeatherShock):
            mult = np.ones(len(names))
            for c, m in ev.category_multipliers.items():
                mult[names.index(c)] = m
            out.append(
                DemandEvent(
                    ev.start_day,
                    ev.end_day,
                    category_multipliers=mult,
                    location_mask=_location_mask(scenario, ev.stores, include_online=True),
                    name=ev.name or "weather_shock",
                )
            )
        elif isinstance(ev, HolidayEvent):
            out.append(
                DemandEvent(
                    ev.start_day,
                    ev.end_day,
                    multiplier=ev.demand_multiplier,
                    name=ev.name or "holiday",
                )
            )
            if ev.stores_closed:
                n_st = len(scenario.world.stores)
                mask = np.zeros(len(scenario.location_codes), dtype=bool)
                mask[:n_st] = True
                out.append(
                    DemandEvent(
                        ev.start_day,
                        ev.end_day,
                        location_mask=mask,
                        closes_locations=True,
                        name=ev.name or "holiday",
                    )
                )
    return tuple(out)
