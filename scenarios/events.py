"""Scenario events: flash sales, supplier disruptions, weather shocks and holiday windows.

Windows are ``[start_day, end_day)`` in simulated days since the scenario's start (one day is
1.0 SimPy time unit).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from scenarios.distributions import bad, fmt_value
from scenarios.fields import Code, NonNegative, Positive, Strict, Text, bounded
from scenarios.limits import MAX_DAYS, MAX_MULTIPLIER, MAX_SKUS

Multiplier = Annotated[Positive, bounded(MAX_MULTIPLIER, "a multiplier")]

__all__ = ["Event", "FlashSale", "HolidayEvent", "SupplierDisruption", "WeatherShock"]


class _Window(Strict):
    """An event window ``[start_day, end_day)`` in simulated days since the start."""

    name: Text = ""
    start_day: Annotated[NonNegative, bounded(MAX_DAYS, "a day")]
    end_day: Annotated[Positive, bounded(MAX_DAYS, "a day")]

    @field_validator("end_day")
    @classmethod
    def _after_start(cls, v: float, info: ValidationInfo) -> float:
        start = info.data.get("start_day")
        if start is not None and v <= start:
            raise bad(
                "window", f"{fmt_value(v)} is not after start_day {start!r} (allowed: > start_day)"
            )
        return v


class FlashSale(_Window):
    """A sale: prices cut by ``discount`` and ``traffic_multiplier`` x demand in scope."""

    kind: Literal["flash_sale"]
    discount: Annotated[float, Field(ge=0.0, le=0.95)]
    traffic_multiplier: Multiplier = 1.0
    categories: list[Code] | None = Field(default=None, max_length=MAX_SKUS)  # None: every one
    skus: list[Code] | None = Field(default=None, max_length=MAX_SKUS)
    """SKU codes as generated (``SKU000001``); None: all in scope."""
    stores: list[Code] | None = None  # None: every store and the online channel


class SupplierDisruption(_Window):
    """Lead times of ``supplier`` times ``lead_time_multiplier``, or no deliveries (``outage``)."""

    kind: Literal["supplier_disruption"]
    supplier: Code
    lead_time_multiplier: Annotated[float, Field(ge=1.0, le=MAX_MULTIPLIER)] | None = None
    outage: bool = False

    @model_validator(mode="after")
    def _one(self) -> SupplierDisruption:
        if (self.lead_time_multiplier is None) == (not self.outage):
            raise bad(
                "disruption",
                "give either lead_time_multiplier or outage: true (allowed: exactly one)",
            )
        return self


class WeatherShock(_Window):
    """Demand of each named category times its multiplier (e.g. a heatwave)."""

    kind: Literal["weather_shock"]
    category_multipliers: dict[Code, Multiplier] = Field(min_length=1)
    stores: list[Code] | None = None  # None: everywhere


class HolidayEvent(_Window):
    """A holiday window: demand x ``demand_multiplier``; stores closed if ``stores_closed``."""

    kind: Literal["holiday"]
    demand_multiplier: Multiplier = 1.0
    stores_closed: bool = False


Event = Annotated[
    FlashSale | SupplierDisruption | WeatherShock | HolidayEvent, Field(discriminator="kind")
]
