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

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from scenarios import policycheck
from scenarios.crosscheck import Parts, cross_check
from scenarios.distributions import fmt_value
from scenarios.errors import Problem, ScenarioError, problems_from_validation
from scenarios.events import (
    Event,
    FlashSale,
    HolidayEvent,
    SupplierDisruption,
    WeatherShock,
)
from scenarios.fields import Code, Count, IsoDate, Strict, Text
from scenarios.limits import MAX_DAYS, MAX_LIST_ITEMS, MAX_SEED
from scenarios.load import read_yaml
from scenarios.sections import (
    Catalog,
    ChannelMix,
    Commerce,
    CommerceHttp,
    CommerceInProcess,
    Customers,
    DemandForecast,
    Engine,
    Fleet,
    Holiday,
    OpeningHours,
    Perishability,
    Policies,
    PolicyRef,
    Returns,
    Segment,
    Store,
    Supplier,
    Unreliable,
    VehicleType,
    Warehouse,
    World,
    YearlySeasonality,
)

__all__ = [
    "Catalog",
    "ChannelMix",
    "CommerceHttp",
    "CommerceInProcess",
    "Customers",
    "Engine",
    "Event",
    "FlashSale",
    "Fleet",
    "Holiday",
    "HolidayEvent",
    "OpeningHours",
    "Perishability",
    "Policies",
    "PolicyRef",
    "Scenario",
    "ScenarioError",
    "Segment",
    "Store",
    "Supplier",
    "SupplierDisruption",
    "Unreliable",
    "VehicleType",
    "Warehouse",
    "WeatherShock",
    "World",
    "YearlySeasonality",
    "dump_scenario",
    "load_scenario",
    "parse_scenario",
    "with_overrides",
]

SCHEMA_VERSION = 1


# ---- the scenario ------------------------------------------------------------------------
class Scenario(Strict):
    """A complete twin scenario. One simulated day is 1.0 SimPy time unit (see module doc)."""

    schema_version: Literal[1] = 1
    name: Code
    description: Text = ""
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 0
    world_seed: Annotated[int, Field(ge=0, le=MAX_SEED)] | None = None
    """Draws the world (catalog, prices, customers' homes); None: derived from ``seed``."""
    start_date: IsoDate
    duration_days: Annotated[Count, Field(le=MAX_DAYS)]
    warmup_days: Annotated[int, Field(ge=0, le=MAX_DAYS)] = 0
    world: World
    catalog: Catalog
    customers: Customers
    events: list[Event] = Field(default=[], max_length=MAX_LIST_ITEMS)
    policies: Policies = Policies()
    commerce: Commerce = Field(default_factory=lambda: {"mode": "inprocess"}, validate_default=True)
    engine: Engine = Engine()
    forecast: DemandForecast = DemandForecast()
    returns: Returns = Returns()

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        # Raised as ScenarioError (not ValueError) so pydantic passes it through with paths.
        problems = cross_check(
            Parts(
                start_date=self.start_date,
                duration_days=self.duration_days,
                warmup_days=self.warmup_days,
                world=self.world,
                catalog=self.catalog,
                customers=self.customers,
                events=self.events,
            )
        )
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

    With ``check_policies``, policy names and parameters are checked by the policies
    registry too (problems at ``policies.<field>.params...``).

    Raises:
        ScenarioError: the file is missing, is not valid YAML (line and column), or breaks the
            schema; every problem is listed with its path, value, what is allowed and its line.
    """
    source = str(path)
    data, line_of = read_yaml(path)
    try:
        scenario = parse_scenario(data, source)
        if check_policies:
            problems = policycheck.check_policies(scenario.policies)
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
