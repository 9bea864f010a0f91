"""The sections of a scenario: world, catalog, customers, policies and commerce.

Each section is a strict, frozen pydantic model (see :mod:`scenarios.fields`); the scenario
that holds them, its cross-section checks and its loading live in :mod:`scenarios.schema`,
:mod:`scenarios.crosscheck` and :mod:`scenarios.load`. Units: money in integer cents,
quantities in units, rates in units/day, distances km, speeds km/h, lead times and shelf lives
days, hours of the day 0..24 local time. Magnitudes are bounded by :mod:`scenarios.limits`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from scenarios.distributions import Dist, bad, check_tail, fmt_value
from scenarios.fields import (
    Code,
    Count,
    Hour,
    IsoDate,
    Latitude,
    Longitude,
    NonNegative,
    Positive,
    Probability,
    Strict,
    Text,
    bounded,
)
from scenarios.fields import support as _support
from scenarios.limits import (
    MAX_BASKET_ITEMS,
    MAX_CAPACITY_UNITS,
    MAX_COST_CENTS,
    MAX_DEMAND_PER_SKU,
    MAX_DISTANCE_KM,
    MAX_LEAD_TIME_DAYS,
    MAX_LIST_ITEMS,
    MAX_LOCATIONS,
    MAX_MULTIPLIER,
    MAX_PARAM_MAGNITUDE,
    MAX_POPULATION,
    MAX_PRICE_CENTS,
    MAX_SHELF_LIFE_DAYS,
    MAX_SKUS,
    MAX_STORE_M2,
    MAX_VEHICLES,
    MIN_ELASTICITY,
    TAIL_QUANTILE,
)
from scenarios.voice_social import SocialBurst, VoiceReorders

__all__ = [
    "Catalog",
    "ChannelMix",
    "Commerce",
    "CommerceHttp",
    "CommerceInProcess",
    "Customers",
    "DemandForecast",
    "Fleet",
    "Holiday",
    "OpeningHours",
    "Perishability",
    "Policies",
    "PolicyRef",
    "Returns",
    "Segment",
    "Store",
    "Supplier",
    "Unreliable",
    "VehicleType",
    "Warehouse",
    "World",
    "YearlySeasonality",
]

Multiplier = Annotated[Positive, bounded(MAX_MULTIPLIER, "a multiplier")]
Capacity = Annotated[Count, Field(le=MAX_CAPACITY_UNITS)]
CostCents = Annotated[int, Field(ge=0, le=MAX_COST_CENTS)]


def _bounded_dist(
    v: Any, low: float, high: float, what: str, unit: str, *, low_open: bool = False
) -> Any:
    """Support inside ``[low, ...)`` and draws below ``high`` (up to the tail quantile)."""
    op = ">" if low_open else ">="
    _support(v, low, math.inf, what, f"{op} {low:g} {unit}".strip(), low_open=low_open)
    check_tail(v, high, TAIL_QUANTILE, what, f"{high:g} {unit}".strip())
    return v


# ---- world -------------------------------------------------------------------------------
class OpeningHours(Strict):
    """Daily opening hours, local time (hours 0..24; ``close`` after ``open``)."""

    open: Hour = 8.0
    close: Hour = 21.0

    @field_validator("close")
    @classmethod
    def _after_open(cls, v: float, info: ValidationInfo) -> float:
        opens = info.data.get("open")
        if opens is not None and v <= opens:
            raise bad(
                "hours_order", f"{fmt_value(v)} is not after open {opens!r} (allowed: > open)"
            )
        return v


class Store(Strict):
    """A store: demand scales with ``size_m2 / 1000`` (a 1,000 m² store is the reference)."""

    code: Code
    name: Text = ""
    lat: Latitude
    lon: Longitude
    size_m2: Annotated[Positive, bounded(MAX_STORE_M2, "a store size")] = 1000.0
    opening_hours: OpeningHours = OpeningHours()
    closed_weekdays: list[Annotated[int, Field(ge=0, le=6)]] = []
    warehouse: Code | None = None  # serving warehouse; None: the nearest one
    capacity_units: Capacity | None = None  # shelf + backroom capacity over all SKUs


class Warehouse(Strict):
    """A warehouse (distribution centre); also fulfils online orders of its stores' customers."""

    code: Code
    name: Text = ""
    lat: Latitude
    lon: Longitude
    capacity_units: Capacity | None = None
    store_lead_time_days: Dist = Field(
        default_factory=lambda: {"kind": "fixed", "value": 1.0}, validate_default=True
    )
    """Transit time of a replenishment from this warehouse to one of its stores (days)."""

    @field_validator("store_lead_time_days")
    @classmethod
    def _lt(cls, v: Any) -> Any:
        return _bounded_dist(v, 0.0, MAX_LEAD_TIME_DAYS, "a lead time", "days")


class Unreliable(Strict):
    """What happens to an order that does not arrive complete and on time."""

    delay_days: Dist = Field(
        default_factory=lambda: {"kind": "fixed", "value": 2.0}, validate_default=True
    )
    fill_fraction: Probability = 0.8  # share of the ordered quantity that arrives

    @field_validator("delay_days")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return _bounded_dist(v, 0.0, MAX_LEAD_TIME_DAYS, "a delay", "days")


class Supplier(Strict):
    """A supplier of warehouses; SKUs are assigned to suppliers in proportion to ``sku_share``."""

    code: Code
    name: Text = ""
    lead_time_days: Dist
    reliability: Probability = 1.0
    """Probability that an order arrives complete and on time."""
    unreliable: Unreliable = Unreliable()
    sku_share: Multiplier = 1.0
    order_cost_cents: CostCents = 0
    min_order_units: Annotated[int, Field(ge=0, le=MAX_CAPACITY_UNITS)] = 0

    @field_validator("lead_time_days")
    @classmethod
    def _lt(cls, v: Any) -> Any:
        return _bounded_dist(v, 0.0, MAX_LEAD_TIME_DAYS, "a lead time", "days")


class VehicleType(Strict):
    """``count`` identical vehicles based at ``depot`` (a warehouse code; None: every warehouse)."""

    name: Code
    count: Annotated[Count, Field(le=MAX_VEHICLES)]
    capacity_units: Capacity
    speed_kmh: Annotated[Positive, bounded(1000.0, "a speed")] = 30.0
    depot: Code | None = None
    cost_per_km_cents: CostCents = 0


class Fleet(Strict):
    """The home-delivery fleet (a simple delivery-time model: distance / speed + service)."""

    vehicles: list[VehicleType] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    service_minutes_per_stop: Annotated[NonNegative, bounded(24 * 60.0, "a service time")] = 5.0
    road_factor: Annotated[float, Field(ge=1.0, le=10.0)] = 1.3  # road km per straight-line km
    dispatch_hours: list[Hour] = Field(default=[9.0, 15.0], max_length=96)
    """When vehicles leave the depot, each day (hours 0..24)."""
    shipments: bool = False
    """True: online orders go through the API's allocation and shipments (``POST
    /v1/orders/{id}/shipments``, shipment transitions; docs/fulfilment.md); false (default: it
    costs about 4 more API calls per online order): the older order transitions."""


class Returns(Strict):
    """Delivered online orders coming back through the API's RMA flow (:mod:`twin.returns`).

    ``rate``: share of delivered orders returned; ``unit_share``: each unit of such an order
    comes back with this probability (at least one unit); the request comes ``delay_days_min``
    to ``delay_days_max`` days (uniform) after delivery, the parcel reaches the warehouse
    ``transit_days`` later and is inspected ``inspect_days`` after that, each unit fit to sell
    again with probability ``restock_share``. ``rate: 0`` turns returns off."""

    rate: Probability = 0.05
    unit_share: Probability = 0.6
    delay_days_min: Annotated[NonNegative, bounded(MAX_LEAD_TIME_DAYS, "a delay")] = 1.0
    delay_days_max: Annotated[NonNegative, bounded(MAX_LEAD_TIME_DAYS, "a delay")] = 10.0
    transit_days: Annotated[NonNegative, bounded(MAX_LEAD_TIME_DAYS, "a transit time")] = 2.0
    inspect_days: Annotated[NonNegative, bounded(MAX_LEAD_TIME_DAYS, "an inspection time")] = 0.5
    restock_share: Probability = 0.8

    @model_validator(mode="after")
    def _delay_order(self) -> Returns:
        if self.delay_days_min > self.delay_days_max:
            raise bad(
                "delay_days",
                f"delay_days_min {self.delay_days_min!r} is more than delay_days_max "
                f"{self.delay_days_max!r} (allowed: delay_days_min <= delay_days_max)",
            )
        return self


class World(Strict):
    stores: list[Store] = Field(min_length=1, max_length=MAX_LOCATIONS)
    warehouses: list[Warehouse] = Field(min_length=1, max_length=MAX_LOCATIONS)
    suppliers: list[Supplier] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    fleet: Fleet


# ---- catalog -----------------------------------------------------------------------------
class YearlySeasonality(Strict):
    """Multiplier ``1 + amplitude * cos(2π (day_of_year - peak_day) / 365.25)``."""

    amplitude: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    peak_day: Annotated[int, Field(ge=1, le=366)] = 1


class Holiday(Strict):
    """A calendar day with a demand multiplier (and optionally closed stores)."""

    date: IsoDate
    name: Text = ""
    multiplier: Multiplier = 1.0
    recurring: bool = True  # same month and day every year
    stores_closed: bool = False


class Perishability(Strict):
    """A share of SKUs is perishable with a sampled shelf life (days, at least 1)."""

    share: Probability
    shelf_life_days: Dist

    @field_validator("shelf_life_days")
    @classmethod
    def _sl(cls, v: Any) -> Any:
        return _bounded_dist(v, 1.0, MAX_SHELF_LIFE_DAYS, "a shelf life", "days")


class Catalog(Strict):
    """The generated catalog. Demand is per SKU at a reference (1,000 m²) store, units/day."""

    n_skus: Annotated[Count, Field(le=MAX_SKUS)]
    n_categories: Annotated[Count, Field(le=MAX_SKUS)]
    category_names: list[Code] | None = Field(default=None, max_length=MAX_SKUS)
    price_cents: Dist
    cost_ratio: Dist
    """Unit cost as a share of the list price (in (0, 1])."""
    base_demand: Dist
    """Units/day per SKU at a reference store, before seasonality, events and price."""
    weekly_seasonality: list[Multiplier] = Field(default=[1.0] * 7, min_length=7, max_length=7)
    """Demand multipliers Monday..Sunday, used as given."""
    yearly_seasonality: YearlySeasonality = YearlySeasonality()
    holidays: list[Holiday] = Field(default=[], max_length=MAX_LIST_ITEMS)
    elasticity: Dist = Field(
        default_factory=lambda: {"kind": "fixed", "value": 0.0}, validate_default=True
    )
    """Price elasticity per SKU (<= 0): demand x (price / list price) ** elasticity."""
    substitution_probability: Probability = 0.0
    """Probability that a shopper takes another SKU of the category when the wanted one is out."""
    perishability: Perishability | None = None
    initial_stock_days: Annotated[NonNegative, bounded(365.0, "a stock cover")] = 14.0
    """Initial on-hand at each location, in days of expected demand."""
    store_affinity_sd: Annotated[NonNegative, bounded(3.0, "a log-sd")] = 0.0
    """Sd of the log of a per-(SKU, store) demand factor (0: every store sells the same mix)."""
    holding_cost_rate_per_year: Annotated[NonNegative, bounded(10.0, "a yearly rate")] = 0.25
    """Holding cost per year as a share of unit cost."""

    @field_validator("price_cents")
    @classmethod
    def _price(cls, v: Any) -> Any:
        return _bounded_dist(v, 0.0, MAX_PRICE_CENTS, "a price", "cents", low_open=True)

    @field_validator("cost_ratio")
    @classmethod
    def _cost(cls, v: Any) -> Any:
        return _support(v, 0.0, 1.0, "a cost ratio", "0 < ratio <= 1", low_open=True)

    @field_validator("base_demand")
    @classmethod
    def _demand(cls, v: Any) -> Any:
        return _bounded_dist(v, 0.0, MAX_DEMAND_PER_SKU, "a demand rate", "units/day")

    @field_validator("elasticity")
    @classmethod
    def _el(cls, v: Any) -> Any:
        return _support(
            v, MIN_ELASTICITY, 0.0, "an elasticity", f"{MIN_ELASTICITY:g} <= elasticity <= 0"
        )

    @model_validator(mode="after")
    def _cats(self) -> Catalog:
        if self.n_categories > self.n_skus:
            raise bad(
                "categories",
                f"n_categories {self.n_categories} is more than n_skus {self.n_skus} (allowed: <= "
                "n_skus)",
            )
        names = self.category_names
        if names is not None:
            if len(names) != self.n_categories:
                raise bad(
                    "category_names",
                    f"{len(names)} category_names for n_categories {self.n_categories} (allowed: "
                    "equal)",
                )
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise bad("duplicate", f"duplicate category_names {dupes} (allowed: unique names)")
        return self

    def resolved_category_names(self) -> list[str]:
        """The category names, generated as ``C000``, ``C001``, ... when not given."""
        if self.category_names is not None:
            return list(self.category_names)
        width = max(3, len(str(self.n_categories - 1)))
        return [f"C{i:0{width}d}" for i in range(self.n_categories)]


# ---- customers ---------------------------------------------------------------------------
class Segment(Strict):
    """A customer segment: ``price_sensitivity`` multiplies the SKU elasticities."""

    name: Code
    share: Probability
    price_sensitivity: Annotated[NonNegative, bounded(10.0, "a price sensitivity")] = 1.0
    basket_size: Dist = Field(
        default_factory=lambda: {"kind": "poisson", "mean": 2.0, "offset": 1.0},
        validate_default=True,
    )
    """Distinct SKUs wanted per visit (at least 1)."""
    visits_per_week: Annotated[Positive, bounded(100.0, "a visit rate")] = 1.0

    @field_validator("basket_size")
    @classmethod
    def _basket(cls, v: Any) -> Any:
        return _bounded_dist(v, 1.0, MAX_BASKET_ITEMS, "a basket size", "items")


class ChannelMix(Strict):
    """Shares of shopping sessions by channel (summing to 1)."""

    web: Probability = 0.2
    app: Probability = 0.1
    store: Probability = 0.7

    @model_validator(mode="after")
    def _sum(self) -> ChannelMix:
        total = self.web + self.app + self.store
        if abs(total - 1.0) > 1e-6:
            raise bad("shares_sum", f"web + app + store = {total!r}, not 1 (allowed: sum 1 ± 1e-6)")
        return self


class Customers(Strict):
    """The shopper population; homes lie around stores (normal, sd ``home_spread_km``)."""

    population: Annotated[Count, Field(le=MAX_POPULATION)]
    segments: list[Segment] = Field(min_length=1, max_length=1000)
    channel_mix: ChannelMix = ChannelMix()
    home_spread_km: Annotated[Positive, bounded(MAX_DISTANCE_KM, "a distance")] = 5.0
    hourly_profile: list[Annotated[NonNegative, bounded(1e6, "an hourly weight")]] | None = Field(
        default=None, min_length=24, max_length=24
    )
    """Relative arrival intensity per hour 0..23 (None: uniform over opening hours)."""
    voice: VoiceReorders | None = None
    """Voice re-orders ("order my usual"); None: no voice channel."""
    social_bursts: list[SocialBurst] = Field(default=[], max_length=1000)
    """Influencer posts, each a traffic spike for one SKU."""

    @model_validator(mode="after")
    def _shares(self) -> Customers:
        total = math.fsum(s.share for s in self.segments)
        if abs(total - 1.0) > 1e-6:
            raise bad(
                "shares_sum", f"segment shares sum to {total!r}, not 1 (allowed: sum 1 ± 1e-6)"
            )
        if self.hourly_profile is not None and sum(self.hourly_profile) <= 0:
            raise bad("profile", "hourly_profile is all zero (allowed: some hour > 0)")
        return self


# ---- policies and commerce ---------------------------------------------------------------
class PolicyRef(Strict):
    """A policy by registry name (``policies.registry.create(kind, name, **params)``)."""

    name: Code
    params: dict[str, Any] = {}

    @field_validator("params")
    @classmethod
    def _numbers(cls, v: dict[str, Any]) -> dict[str, Any]:
        # Values reach NumPy and the API: refuse what would be NaN, overflow or a 1e30 order.
        for key, value in v.items():
            _check_param(key, value)
        return v


def _check_param(key: str, value: object) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise bad("finite", f"{key}: {fmt_value(value)} is not a finite number")
        if abs(value) > MAX_PARAM_MAGNITUDE:
            raise bad(
                "too_large",
                f"{key}: {fmt_value(value)} is too large (allowed: |x| <= {MAX_PARAM_MAGNITUDE:g})",
            )
        return
    if isinstance(value, list):
        for item in value:
            _check_param(key, item)
        return
    if isinstance(value, dict):
        for k, item in value.items():
            _check_param(f"{key}.{k}", item)
        return
    raise bad("param", f"{key}: {fmt_value(value)} is not a number, text, list or mapping")


class Policies(Strict):
    replenishment: PolicyRef = PolicyRef(name="base_stock")
    """Store replenishment from the warehouse."""
    warehouse_replenishment: PolicyRef | None = None
    """Warehouse replenishment from suppliers (None: the same policy as the stores)."""
    pricing: PolicyRef = PolicyRef(name="static")


class CommerceInProcess(Strict):
    """Call the service layer in this process, on SQLite (``:memory:`` or a file path)."""

    mode: Literal["inprocess"]
    database: Text = ":memory:"


class CommerceHttp(Strict):
    """Call a running ``shopsphere serve`` at ``base_url``; key from ``api_key`` or env var."""

    mode: Literal["http"]
    base_url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    api_key: Text | None = None
    api_key_env: Text | None = "SHOPSPHERE_API_KEY"
    timeout_s: Annotated[Positive, bounded(3600.0, "a timeout")] = 10.0


Commerce = Annotated[CommerceInProcess | CommerceHttp, Field(discriminator="mode")]


class Engine(Strict):
    """How the twin drives commerce.

    ``session``: one SimPy process and its own API calls per shopper session. ``sliced``: the
    sessions of each location are served together at the end of every ``slice_minutes`` slice
    and sent as batch calls (chain-scale runs).
    """

    mode: Literal["session", "sliced"] = "session"
    slice_minutes: Annotated[int, Field(ge=1, le=1440)] = 60
    warm_start: bool = True
    customers: Literal["kernel", "agents"] = "kernel"
    """``kernel``: demand drawn per SKU-location by the demand kernel (the theory mode);
    ``agents``: demand from the customers' decisions (store, channel, balking, memory)."""
    """Start at the replenishment policies' steady state (stock and pipeline); False: every
    location starts with ``catalog.initial_stock_days`` of demand and nothing on order."""


class DemandForecast(Strict):
    """Where the replenishment policies' demand forecasts come from.

    ``oracle``: the demand kernel's expected demand, known events included (the twin's
    ground truth). ``model``: a forecaster (a :mod:`policies.forecasting` name) fitted on the
    twin's own recorded daily sales per SKU-location, refitted every ``refit_days`` days on the
    last ``history_days`` days; until ``min_history_days`` days are recorded the scenario's
    average daily demand (the opening plan) stands in. ``known_events``: announced events'
    uplift (flash sales, holidays, weather) multiplies the model's forecast and is divided out
    of the history it is fitted on.
    """

    source: Literal["oracle", "model"] = "oracle"
    model: Code = "ets"
    refit_days: Annotated[int, Field(ge=1, le=365)] = 7
    history_days: Annotated[int, Field(ge=7, le=3650)] = 56
    min_history_days: Annotated[int, Field(ge=1, le=365)] = 14
    season_length: Annotated[int, Field(ge=1, le=365)] = 7
    known_events: bool = True

    @field_validator("model")
    @classmethod
    def _known_model(cls, v: str) -> str:
        from policies.forecasting.models import MODEL_NAMES

        if v not in MODEL_NAMES:
            raise ValueError(f"{v!r} is not a forecast model; one of {', '.join(MODEL_NAMES)}")
        return v
