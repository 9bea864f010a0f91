"""Checks that span sections of a scenario: unique codes and references between sections.

Called by :class:`scenarios.schema.Scenario`'s validator once every field is valid; each
problem names the path of the offending value, the value, and what is allowed (with a
did-you-mean for near misses).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from scenarios.distributions import fmt_value
from scenarios.errors import PathPart, Problem, format_path

if TYPE_CHECKING:
    from scenarios.schema import Scenario

__all__ = ["cross_check", "sku_code", "sku_index"]

SKU_PREFIX = "SKU"


def sku_code(index: int, n_skus: int) -> str:
    """The generated code of SKU ``index`` (0-based): ``SKU000001`` for index 0."""
    width = max(6, len(str(n_skus)))
    return f"{SKU_PREFIX}{index + 1:0{width}d}"


def sku_index(code: str, n_skus: int) -> int | None:
    """Inverse of :func:`sku_code`; None if ``code`` is not a SKU of an ``n_skus`` catalog."""
    if not code.startswith(SKU_PREFIX) or not code[len(SKU_PREFIX) :].isdigit():
        return None
    index = int(code[len(SKU_PREFIX) :]) - 1
    return index if 0 <= index < n_skus and sku_code(index, n_skus) == code else None


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
                    f"{fmt_value(code)} is a duplicate {what} (already at {seen[code]}; allowed: unique codes)",
                )
            )
        else:
            seen[code] = where
    return problems


def cross_check(sc: Scenario) -> list[Problem]:
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
                        f"(allowed: {sku_code(0, sc.catalog.n_skus)}..{sku_code(sc.catalog.n_skus - 1, sc.catalog.n_skus)})",
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
    return problems
