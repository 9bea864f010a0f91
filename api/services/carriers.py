"""Carriers and allocation weights as configuration (``configs/carriers.yaml``), typed and checked.

The file lists the carriers of the fulfilment network (own vans, 3PL parcels, parcel lockers,
click-and-collect, drones) with their cost, CO2, reach, payload, cut-off and daily capacity, and
the weights of the allocation cost. :func:`load_carriers` validates it with pydantic (unknown
fields refused) and raises :class:`CarrierConfigError` naming the field path and the bad value,
e.g. ``carriers[4].max_km: -1.0: Input should be greater than 0``. :func:`active_carriers`
caches the file named by ``SHOPSPHERE_CARRIERS_FILE`` (default: the repository's
``configs/carriers.yaml``; the built-in :data:`policies.routing.carriers.DEFAULT_CARRIERS`
when that file is absent, e.g. in an installed wheel).

Units: hours of the UTC day, km, integer cents, grams of CO2, items of payload.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from api.errors import InvalidInputError
from api.schemas import Strict
from policies.routing.carriers import DEFAULT_CARRIERS, Carrier, Mode

__all__ = [
    "DEFAULT_FILE",
    "AllocationWeights",
    "CarrierBook",
    "CarrierConfigError",
    "CarrierSpec",
    "active_carriers",
    "load_carriers",
    "parse_carriers",
]

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "configs" / "carriers.yaml"
NodeKind = Literal["warehouse", "store", "mfc", "supplier"]
NODE_KINDS: tuple[str, ...] = ("warehouse", "store", "mfc", "supplier")
Hour = Annotated[float, Field(ge=0.0, le=24.0)]


class CarrierConfigError(InvalidInputError):
    """A carriers file that is missing, not YAML, or invalid; the message names the field."""


class CarrierSpec(Strict):
    """One carrier (see the module docstring for the units)."""

    name: str = Field(min_length=1, max_length=64)
    mode: Mode
    ships_from: tuple[NodeKind, ...] = Field(min_length=1)
    cut_off_hour: Hour
    lead_days: int = Field(ge=0, le=30)
    first_hour: Hour
    last_hour: Hour
    handling_hours: float = Field(ge=0.0, le=72.0)
    speed_kmh: float = Field(gt=0.0, le=500.0)
    max_km: float | None = Field(default=None, gt=0.0)
    max_units: int | None = Field(default=None, ge=1)
    cost_per_parcel_cents: int = Field(ge=0)
    cost_per_km_cents: int = Field(ge=0)
    co2_g_per_parcel: float = Field(ge=0.0)
    co2_g_per_km: float = Field(ge=0.0)
    window_hours: float = Field(gt=0.0, le=24.0)
    capacity_per_day: int | None = Field(default=None, ge=1)
    cost_per_hour_cents: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _hours(self) -> CarrierSpec:
        if self.last_hour <= self.first_hour:
            raise ValueError(
                f"last_hour {self.last_hour} must be after first_hour {self.first_hour}"
            )
        if self.mode is Mode.DRONE and (self.max_km is None or self.max_units is None):
            raise ValueError("a drone needs a range (max_km) and a payload (max_units)")
        return self

    def carrier(self) -> Carrier:
        """The routing-layer value the promise engine takes."""
        return Carrier(
            name=self.name,
            mode=self.mode,
            ships_from=tuple(self.ships_from),
            cut_off_hour=self.cut_off_hour,
            lead_days=self.lead_days,
            first_hour=self.first_hour,
            last_hour=self.last_hour,
            handling_hours=self.handling_hours,
            speed_kmh=self.speed_kmh,
            max_km=self.max_km,
            max_units=self.max_units,
            cost_per_parcel_cents=self.cost_per_parcel_cents,
            cost_per_km_cents=self.cost_per_km_cents,
            co2_g_per_parcel=self.co2_g_per_parcel,
            co2_g_per_km=self.co2_g_per_km,
            window_hours=self.window_hours,
        )


class AllocationWeights(Strict):
    """Weights of the allocation cost per unit served (see ``configs/carriers.yaml``)."""

    distance: float = Field(default=1.0, ge=0.0)
    carrier: float = Field(default=1.0, ge=0.0)
    co2: float = Field(default=0.05, ge=0.0)
    capacity: float = Field(default=200.0, ge=0.0)
    stock: float = Field(default=100.0, ge=0.0)
    split: float = Field(default=500.0, ge=0.0)


class AllocationSection(Strict):
    weights: AllocationWeights = AllocationWeights()
    node_capacity_per_day: dict[NodeKind, int] = Field(default_factory=dict)


class CarrierBook(Strict):
    """The whole file: carriers (unique names) and the allocation section."""

    carriers: tuple[CarrierSpec, ...] = Field(min_length=1)
    allocation: AllocationSection = AllocationSection()

    @model_validator(mode="after")
    def _unique(self) -> CarrierBook:
        seen: set[str] = set()
        for c in self.carriers:
            if c.name in seen:
                raise ValueError(f"carrier name {c.name!r} appears twice")
            seen.add(c.name)
        return self

    def routing(self) -> tuple[Carrier, ...]:
        """The carriers as :class:`policies.routing.carriers.Carrier` values."""
        return tuple(c.carrier() for c in self.carriers)

    def by_name(self, name: str) -> CarrierSpec | None:
        return next((c for c in self.carriers if c.name == name), None)

    def by_mode(self, mode: Mode) -> CarrierSpec | None:
        """The first carrier of ``mode`` (the twin's own fleet and parcel carrier)."""
        return next((c for c in self.carriers if c.mode is mode), None)


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def parse_carriers(data: object, source: str = "carriers") -> CarrierBook:
    """Validate a loaded YAML document.

    Raises:
        CarrierConfigError: the first problems, each as ``field.path: value: reason``.
    """
    try:
        return CarrierBook.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors()[:5]:
            where = _where(tuple(e["loc"]))
            if e["type"] == "missing":
                problems.append(f"{where}: missing")
                continue
            value = e.get("input")
            shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
            problems.append(f"{where}: {shown}: {e['msg']}")
        first = exc.errors()[0]
        raise CarrierConfigError(
            f"{source}: " + "; ".join(problems),
            details={"field": _where(tuple(first["loc"])), "problems": problems},
        ) from exc


def load_carriers(path: str | Path) -> CarrierBook:
    """Read and validate a carriers YAML file.

    Raises:
        CarrierConfigError: unreadable file, bad YAML, or a field out of range (named).
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CarrierConfigError(
            f"carriers file {str(p)!r} cannot be read: {exc.strerror}",
            details={"field": "path", "value": str(p)},
        ) from exc
    except yaml.YAMLError as exc:
        raise CarrierConfigError(
            f"carriers file {str(p)!r} is not YAML: {exc}",
            details={"field": "path", "value": str(p)},
        ) from exc
    return parse_carriers(data, str(p))


def _builtin() -> CarrierBook:
    specs = []
    for c in DEFAULT_CARRIERS:
        specs.append(
            CarrierSpec(
                name=c.name,
                mode=c.mode,
                ships_from=c.ships_from,  # type: ignore[arg-type]
                cut_off_hour=c.cut_off_hour,
                lead_days=c.lead_days,
                first_hour=c.first_hour,
                last_hour=c.last_hour,
                handling_hours=c.handling_hours,
                speed_kmh=c.speed_kmh,
                max_km=c.max_km,
                max_units=c.max_units,
                cost_per_parcel_cents=c.cost_per_parcel_cents,
                cost_per_km_cents=c.cost_per_km_cents,
                co2_g_per_parcel=c.co2_g_per_parcel,
                co2_g_per_km=c.co2_g_per_km,
                window_hours=c.window_hours,
            )
        )
    return CarrierBook(carriers=tuple(specs))


@functools.cache
def _cached(path: str) -> CarrierBook:
    if not path:
        return _builtin()
    return load_carriers(path)


def active_carriers() -> CarrierBook:
    """The carriers in force: ``SHOPSPHERE_CARRIERS_FILE``, else ``configs/carriers.yaml``,
    else the built-in defaults (cached per path).

    Raises:
        CarrierConfigError: the named file is invalid.
    """
    env = os.environ.get("SHOPSPHERE_CARRIERS_FILE")
    if env:
        return _cached(env)
    return _cached(str(DEFAULT_FILE) if DEFAULT_FILE.is_file() else "")
