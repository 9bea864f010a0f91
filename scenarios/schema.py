"""The scenario schema: a strict pydantic model of a ShopSphere twin scenario file.

**Simulated time.** One simulated day is 1.0 SimPy time unit. Day 0.0 is midnight at the
start of ``start_date``; event windows (``start_day``, ``end_day``) are in these days, as
half-open intervals ``[start_day, end_day)``. Hours of the day (opening hours) are in hours
0..24 of local time. Weekday 0 is Monday.

**Units.** Money is integer cents (``*_cents``); quantities are units; rates are units/day;
distances km; speeds km/h; lead times and shelf lives days.

The model is strict (no silent type coercion: ``"3"`` is not a number, ``3.5`` is not an
integer) and closed (unknown keys are errors with a did-you-mean). Load a file with
:func:`load_scenario`; it raises :class:`scenarios.errors.ScenarioError` listing every problem
as ``path.in.file: bad value is not X (allowed: ...)`` with the line number.

Sections: ``world`` (stores, warehouses, suppliers, fleet), ``catalog`` (generated SKUs and
demand parameters), ``customers``, ``events`` (flash sales, supplier disruptions, weather
shocks, holidays), ``policies`` (by registry name with parameters), ``commerce`` (in-process
SQLite or HTTP), plus ``seed``, ``start_date``, ``duration_days`` and ``warmup_days``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from scenarios.distributions import Dist, bad, fmt_value
from scenarios.errors import Problem, ScenarioError, problems_from_validation
from scenarios.events import (
    Event,
    FlashSale,
    HolidayEvent,
    SupplierDisruption,
    WeatherShock,
)
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
)
from scenarios.fields import support as _support

__all__ = [
    "Catalog",
    "CommerceHttp",
    "CommerceInProcess",
    "Customers",
    "Event",
    "FlashSale",
    "Fleet",
    "Holiday",
    "HolidayEvent",
    "Policies",
    "PolicyRef",
    "Scenario",
    "ScenarioError",
    "Segment",
    "Store",
    "Supplier",
    "SupplierDisruption",
    "Warehouse",
    "WeatherShock",
    "World",
    "dump_scenario",
    "load_scenario",
    "parse_scenario",
    "with_overrides",
]

SCHEMA_VERSION = 1


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
    name: str = ""
    lat: Latitude
    lon: Longitude
    size_m2: Positive = 1000.0
    opening_hours: OpeningHours = OpeningHours()
    closed_weekdays: list[Annotated[int, Field(ge=0, le=6)]] = []
    warehouse: Code | None = None  # serving warehouse; None: the nearest one
    capacity_units: Count | None = None  # shelf + backroom capacity over all SKUs


class Warehouse(Strict):
    """A warehouse (distribution centre); also fulfils online orders of its stores' customers."""

    code: Code
    name: str = ""
    lat: Latitude
    lon: Longitude
    capacity_units: Count | None = None
    store_lead_time_days: Dist = Field(
        default_factory=lambda: {"kind": "fixed", "value": 1.0}, validate_default=True
    )
    """Transit time of a replenishment from this warehouse to one of its stores (days)."""

    @field_validator("store_lead_time_days")
    @classmethod
    def _lt(cls, v: Any) -> Any:
        return _support(v, 0.0, math.inf, "a lead time", ">= 0 days")


class Unreliable(Strict):
    """What happens to an order that does not arrive complete and on time."""

    delay_days: Dist = Field(
        default_factory=lambda: {"kind": "fixed", "value": 2.0}, validate_default=True
    )
    fill_fraction: Probability = 0.8  # share of the ordered quantity that arrives

    @field_validator("delay_days")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return _support(v, 0.0, math.inf, "a delay", ">= 0 days")


class Supplier(Strict):
    """A supplier of warehouses; SKUs are assigned to suppliers in proportion to ``sku_share``."""

    code: Code
    name: str = ""
    lead_time_days: Dist
    reliability: Probability = 1.0
    """Probability that an order arrives complete and on time."""
    unreliable: Unreliable = Unreliable()
    sku_share: Positive = 1.0
    order_cost_cents: Annotated[int, Field(ge=0)] = 0
    min_order_units: Annotated[int, Field(ge=0)] = 0

    @field_validator("lead_time_days")
    @classmethod
    def _lt(cls, v: Any) -> Any:
        return _support(v, 0.0, math.inf, "a lead time", ">= 0 days")


class VehicleType(Strict):
    """``count`` identical vehicles based at ``depot`` (a warehouse code; None: every warehouse)."""

    name: Code
    count: Count
    capacity_units: Count
    speed_kmh: Positive = 30.0
    depot: Code | None = None
    cost_per_km_cents: Annotated[int, Field(ge=0)] = 0


class Fleet(Strict):
    """The home-delivery fleet (a simple delivery-time model: distance / speed + service)."""

    vehicles: list[VehicleType] = Field(min_length=1)
    service_minutes_per_stop: NonNegative = 5.0
    road_factor: Annotated[float, Field(ge=1.0)] = 1.3  # road km per straight-line km
    dispatch_hours: list[Hour] = [9.0, 15.0]  # when vehicles leave the depot, each day


class World(Strict):
    stores: list[Store] = Field(min_length=1)
    warehouses: list[Warehouse] = Field(min_length=1)
    suppliers: list[Supplier] = Field(min_length=1)
    fleet: Fleet


# ---- catalog -----------------------------------------------------------------------------
class YearlySeasonality(Strict):
    """Multiplier ``1 + amplitude * cos(2π (day_of_year - peak_day) / 365.25)``."""

    amplitude: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    peak_day: Annotated[int, Field(ge=1, le=366)] = 1


class Holiday(Strict):
    """A calendar day with a demand multiplier (and optionally closed stores)."""

    date: IsoDate
    name: str = ""
    multiplier: Positive = 1.0
    recurring: bool = True  # same month and day every year
    stores_closed: bool = False


class Perishability(Strict):
    """A share of SKUs is perishable with a sampled shelf life (days, at least 1)."""

    share: Probability
    shelf_life_days: Dist

    @field_validator("shelf_life_days")
    @classmethod
    def _sl(cls, v: Any) -> Any:
        return _support(v, 1.0, math.inf, "a shelf life", ">= 1 day")


class Catalog(Strict):
    """The generated catalog. Demand is per SKU at a reference (1,000 m²) store, units/day."""

    n_skus: Count
    n_categories: Count
    category_names: list[Code] | None = None
    price_cents: Dist
    cost_ratio: Dist
    """Unit cost as a share of the list price (in (0, 1])."""
    base_demand: Dist
    """Units/day per SKU at a reference store, before seasonality, events and price."""
    weekly_seasonality: list[Positive] = Field(default=[1.0] * 7, min_length=7, max_length=7)
    """Demand multipliers Monday..Sunday, used as given."""
    yearly_seasonality: YearlySeasonality = YearlySeasonality()
    holidays: list[Holiday] = []
    elasticity: Dist = Field(
        default_factory=lambda: {"kind": "fixed", "value": 0.0}, validate_default=True
    )
    """Price elasticity per SKU (<= 0): demand x (price / list price) ** elasticity."""
    substitution_probability: Probability = 0.0
    """Probability that a shopper takes another SKU of the category when the wanted one is out."""
    perishability: Perishability | None = None
    initial_stock_days: NonNegative = 14.0
    """Initial on-hand at each location, in days of expected demand."""
    store_affinity_sd: NonNegative = 0.0
    """Sd of the log of a per-(SKU, store) demand factor (0: every store sells the same mix)."""
    holding_cost_rate_per_year: NonNegative = 0.25
    """Holding cost per year as a share of unit cost."""

    @field_validator("price_cents")
    @classmethod
    def _price(cls, v: Any) -> Any:
        return _support(v, 0.0, math.inf, "a price", "> 0 cents", low_open=True)

    @field_validator("cost_ratio")
    @classmethod
    def _cost(cls, v: Any) -> Any:
        return _support(v, 0.0, 1.0, "a cost ratio", "0 < ratio <= 1", low_open=True)

    @field_validator("base_demand")
    @classmethod
    def _demand(cls, v: Any) -> Any:
        return _support(v, 0.0, math.inf, "a demand rate", ">= 0 units/day")

    @field_validator("elasticity")
    @classmethod
    def _el(cls, v: Any) -> Any:
        return _support(v, -math.inf, 0.0, "an elasticity", "<= 0")

    @model_validator(mode="after")
    def _cats(self) -> Catalog:
        if self.n_categories > self.n_skus:
            raise bad(
                "categories",
                f"n_categories {self.n_categories} is more than n_skus {self.n_skus} (allowed: <= n_skus)",
            )
        names = self.category_names
        if names is not None:
            if len(names) != self.n_categories:
                raise bad(
                    "category_names",
                    f"{len(names)} category_names for n_categories {self.n_categories} (allowed: equal)",
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
    price_sensitivity: NonNegative = 1.0
    basket_size: Dist = Field(
        default_factory=lambda: {"kind": "poisson", "mean": 2.0, "offset": 1.0},
        validate_default=True,
    )
    """Distinct SKUs wanted per visit (at least 1)."""
    visits_per_week: Positive = 1.0

    @field_validator("basket_size")
    @classmethod
    def _basket(cls, v: Any) -> Any:
        return _support(v, 1.0, math.inf, "a basket size", ">= 1 item")


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

    population: Count
    segments: list[Segment] = Field(min_length=1)
    channel_mix: ChannelMix = ChannelMix()
    home_spread_km: Positive = 5.0
    hourly_profile: list[NonNegative] | None = Field(default=None, min_length=24, max_length=24)
    """Relative arrival intensity per hour 0..23 (None: uniform over opening hours)."""

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


class Policies(Strict):
    replenishment: PolicyRef = PolicyRef(name="base_stock")
    """Store replenishment from the warehouse."""
    warehouse_replenishment: PolicyRef | None = None
    """Warehouse replenishment from suppliers (None: the same policy as the stores)."""
    pricing: PolicyRef = PolicyRef(name="static")


class CommerceInProcess(Strict):
    """Call the service layer in this process, on SQLite (``:memory:`` or a file path)."""

    mode: Literal["inprocess"]
    database: str = ":memory:"


class CommerceHttp(Strict):
    """Call a running ``shopsphere serve`` at ``base_url``; key from ``api_key`` or env var."""

    mode: Literal["http"]
    base_url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    api_key: str | None = None
    api_key_env: str | None = "SHOPSPHERE_API_KEY"
    timeout_s: Positive = 10.0


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
    """Start at the replenishment policies' steady state (stock and pipeline); False: every
    location starts with ``catalog.initial_stock_days`` of demand and nothing on order."""


# ---- the scenario ------------------------------------------------------------------------
class Scenario(Strict):
    """A complete twin scenario. One simulated day is 1.0 SimPy time unit (see module doc)."""

    schema_version: Literal[1] = 1
    name: Code
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 0
    world_seed: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    """Draws the world (catalog, prices, customers' homes); None: derived from ``seed``."""
    start_date: IsoDate
    duration_days: Count
    warmup_days: Annotated[int, Field(ge=0)] = 0
    world: World
    catalog: Catalog
    customers: Customers
    events: list[Event] = []
    policies: Policies = Policies()
    commerce: Commerce = Field(default_factory=lambda: {"mode": "inprocess"}, validate_default=True)
    engine: Engine = Engine()

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        # Raised as ScenarioError (not ValueError) so pydantic passes it through with paths.
        from scenarios.crosscheck import cross_check

        problems = cross_check(self)
        if problems:
            raise ScenarioError(problems)
        return self

    @property
    def location_codes(self) -> list[str]:
        """Demand locations in kernel order: stores, then warehouses (online demand)."""
        return [s.code for s in self.world.stores] + [w.code for w in self.world.warehouses]


# ---- loading -----------------------------------------------------------------------------
def parse_scenario(data: object, source: str | None = None) -> Scenario:
    """Validate already-parsed data (a mapping) into a :class:`Scenario`.

    Raises:
        ScenarioError: listing every problem (paths as in the file, without line numbers).
    """
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem("", f"the top level is {fmt_value(data)}, not a mapping of sections")], source
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation(exc, Scenario), source) from None
    except ScenarioError as exc:
        raise ScenarioError(exc.problems, source) from None


def load_scenario(path: str | Path, *, check_policies: bool = True) -> Scenario:
    """Read and validate a scenario YAML file.

    With ``check_policies`` and when ``policies.registry`` is importable, policy names and
    parameters are checked against the registry too.

    Raises:
        ScenarioError: the file is missing, is not valid YAML (line and column), or breaks the
            schema; every problem is listed with its path, value, what is allowed and its line.
    """
    from scenarios.load import check_policy_names, read_yaml

    source = str(path)
    data, line_of = read_yaml(path)
    try:
        scenario = parse_scenario(data, source)
        if check_policies:
            problems = check_policy_names(scenario)
            if problems:
                raise ScenarioError(problems, source)
    except ScenarioError as exc:
        raise exc.with_source(source, line_of) from None
    return scenario


def with_overrides(scenario: Scenario, **changes: Any) -> Scenario:
    """A re-validated copy with top-level fields replaced (``seed=7, duration_days=10``).

    Raises:
        ScenarioError: if a replacement is invalid (e.g. ``duration_days=0``).
    """
    data = scenario.model_dump()
    data.update({k: v for k, v in changes.items() if v is not None})
    return parse_scenario(data, source=f"{scenario.name} (with overrides)")


def dump_scenario(scenario: Scenario) -> str:
    """The fully resolved scenario (all defaults filled in) as YAML text, loadable again."""
    import yaml

    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
