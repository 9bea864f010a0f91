"""Checks that span sections of a scenario: unique codes, references between sections, and
bounds that depend on several fields (calendar, sizes, demand, opening hours).

Called by :class:`scenarios.schema.Scenario`'s validator once every field is valid, with the
sections (this module never imports the schema, so the schema can import it); each problem
names the path of the offending value, the value, and what is allowed (with a did-you-mean for
near misses).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from scenarios.codes import sku_code, sku_index
from scenarios.distributions import fmt_value
from scenarios.errors import PathPart, Problem, format_path
from scenarios.events import Event, FlashSale
from scenarios.limits import (
    MAX_DAILY_UNITS,
    MAX_END_DATE,
    MAX_MULTIPLIER,
    MAX_SKU_LOCATIONS,
    MIN_START_DATE,
)
from scenarios.sections import Catalog, Customers, World

__all__ = ["Parts", "cross_check", "sku_code", "sku_index"]


@dataclass(frozen=True, slots=True)
class Parts:
    """The field-valid pieces of a scenario that the cross-checks read."""

    start_date: date
    duration_days: int
    warmup_days: int
    world: World
    catalog: Catalog
    customers: Customers
    events: Sequence[Event]


def _unknown(path: Sequence[PathPart], value: str, what: str, known: Sequence[str]) -> Problem:
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return Problem(
        format_path(path), f"{fmt_value(value)} is not a known {what}{hint} (allowed: {shown})"
    )


def _duplicates(items: Iterable[tuple[Sequence[PathPart], str]], what: str) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for path, code in items:
        where = format_path(path)
        if code in seen:
            problems.append(
                Problem(
                    where,
                    f"{fmt_value(code)} is a duplicate {what} "
                    f"(already at {seen[code]}; allowed: unique codes)",
                )
            )
        else:
            seen[code] = where
    return problems


def cross_check(sc: Parts) -> list[Problem]:
    """Every cross-section problem of a field-valid scenario (empty if none)."""
    world = sc.world
    problems: list[Problem] = []
    locations = [(("world", "stores", i, "code"), s.code) for i, s in enumerate(world.stores)]
    locations += [
        (("world", "warehouses", i, "code"), w.code) for i, w in enumerate(world.warehouses)
    ]
    problems += _duplicates(locations, "location code")
    problems += _duplicates(
        ((("world", "suppliers", i, "code"), s.code) for i, s in enumerate(world.suppliers)),
        "supplier code",
    )
    problems += _duplicates(
        (
            (("world", "fleet", "vehicles", i, "name"), v.name)
            for i, v in enumerate(world.fleet.vehicles)
        ),
        "vehicle name",
    )

    stores = [s.code for s in world.stores]
    warehouses = [w.code for w in world.warehouses]
    suppliers = [s.code for s in world.suppliers]
    categories = sc.catalog.resolved_category_names()
    for i, s in enumerate(world.stores):
        if s.warehouse is not None and s.warehouse not in warehouses:
            problems.append(
                _unknown(("world", "stores", i, "warehouse"), s.warehouse, "warehouse", warehouses)
            )
    for i, v in enumerate(world.fleet.vehicles):
        if v.depot is not None and v.depot not in warehouses:
            problems.append(
                _unknown(
                    ("world", "fleet", "vehicles", i, "depot"), v.depot, "warehouse", warehouses
                )
            )

    if sc.warmup_days >= sc.duration_days:
        problems.append(
            Problem(
                "warmup_days",
                f"{sc.warmup_days} is not shorter than duration_days {sc.duration_days} "
                f"(allowed: 0..{sc.duration_days - 1})",
            )
        )

    for i, ev in enumerate(sc.events):
        base: tuple[PathPart, ...] = ("events", i)
        for key in ("stores",):
            for j, code in enumerate(getattr(ev, key, None) or []):
                if code not in stores:
                    problems.append(_unknown((*base, key, j), code, "store", stores))
        for j, code in enumerate(getattr(ev, "categories", None) or []):
            if code not in categories:
                problems.append(_unknown((*base, "categories", j), code, "category", categories))
        for j, code in enumerate(getattr(ev, "skus", None) or []):
            if sku_index(code, sc.catalog.n_skus) is None:
                problems.append(
                    Problem(
                        format_path((*base, "skus", j)),
                        f"{fmt_value(code)} is not a SKU of this catalog "
                        f"(allowed: {sku_code(0, sc.catalog.n_skus)}.."
                        f"{sku_code(sc.catalog.n_skus - 1, sc.catalog.n_skus)})",
                    )
                )
        supplier = getattr(ev, "supplier", None)
        if supplier is not None and supplier not in suppliers:
            problems.append(_unknown((*base, "supplier"), supplier, "supplier", suppliers))
        for name in getattr(ev, "category_multipliers", None) or {}:
            if name not in categories:
                problems.append(
                    _unknown((*base, "category_multipliers", name), name, "category", categories)
                )
    problems += _calendar(sc)
    problems += _sizes(sc)
    problems += _opening_hours(sc)
    problems += _flash_sales(sc)
    return problems


def _calendar(sc: Parts) -> list[Problem]:
    """The run's first and last day (and so every datetime of it) lie in the supported calendar."""
    if sc.start_date < MIN_START_DATE:
        return [
            Problem(
                "start_date",
                f"{sc.start_date.isoformat()} is too early (allowed: from {MIN_START_DATE})",
            )
        ]
    last_allowed = (MAX_END_DATE - sc.start_date).days + 1
    if sc.duration_days > last_allowed:
        return [
            Problem(
                "duration_days",
                f"{sc.duration_days} days from start_date {sc.start_date.isoformat()} end after "
                f"{MAX_END_DATE} (allowed: 1..{max(last_allowed, 0)})",
            )
        ]
    return []


def _sizes(sc: Parts) -> list[Problem]:
    """Array sizes (SKUs x locations) and the chain's expected units/day stay within memory."""
    cat = sc.catalog
    n_loc = len(sc.world.stores) + len(sc.world.warehouses)
    cells = cat.n_skus * n_loc
    if cells > MAX_SKU_LOCATIONS:
        return [
            Problem(
                "catalog.n_skus",
                f"{cat.n_skus} SKUs x {n_loc} locations = {cells} SKU-locations "
                f"(allowed: <= {MAX_SKU_LOCATIONS})",
            )
        ]
    scale = sum(s.size_m2 for s in sc.world.stores) / 1000.0
    daily = cat.n_skus * cat.base_demand.mean() * scale * max(cat.weekly_seasonality)
    if daily > MAX_DAILY_UNITS:
        return [
            Problem(
                "catalog.base_demand",
                f"{cat.base_demand.describe()} gives {daily:.3g} expected units/day over the "
                f"chain (allowed: <= {MAX_DAILY_UNITS:g})",
            )
        ]
    return []


def _opening_hours(sc: Parts) -> list[Problem]:
    """An hourly profile has weight inside every store's opening hours (else nobody arrives)."""
    prof = sc.customers.hourly_profile
    if prof is None:
        return []
    problems = []
    for i, s in enumerate(sc.world.stores):
        lo, hi = s.opening_hours.open, s.opening_hours.close
        weight = sum(w * max(0.0, min(h + 1.0, hi) - max(float(h), lo)) for h, w in enumerate(prof))
        if weight <= 0:
            problems.append(
                Problem(
                    "customers.hourly_profile",
                    f"has no weight within store {s.code}'s opening hours {lo:g}..{hi:g} "
                    f"(world.stores[{i}].opening_hours; allowed: some hour in {lo:g}..{hi:g} > 0)",
                )
            )
    return problems


def _flash_sales(sc: Parts) -> list[Problem]:
    """A flash sale's demand lift (traffic x price response) stays a bounded multiplier."""
    low_el = sc.catalog.elasticity.support()[0]
    sens = max(s.price_sensitivity for s in sc.customers.segments)
    problems = []
    for i, ev in enumerate(sc.events):
        if not isinstance(ev, FlashSale) or ev.discount <= 0:
            continue
        lift = ev.traffic_multiplier * (1.0 - ev.discount) ** (low_el * sens)
        if not lift <= MAX_MULTIPLIER:
            problems.append(
                Problem(
                    f"events[{i}].discount",
                    f"{ev.discount!r} with elasticity down to {low_el:g} x sensitivity {sens:g} "
                    f"and traffic x{ev.traffic_multiplier:g} lifts demand x{lift:.3g} "
                    f"(allowed: a lift <= {MAX_MULTIPLIER:g})",
                )
            )
    return problems
