"""Scenario events: flash sales, supplier disruptions, weather shocks and holiday windows.

Windows are ``[start_day, end_day)`` in simulated days since the scenario's start (one day is
1.0 SimPy time unit).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from scenarios.distributions import bad, fmt_value
from scenarios.fields import Code, NonNegative, Positive, Strict

__all__ = ["Event", "FlashSale", "HolidayEvent", "SupplierDisruption", "WeatherShock"]


class _Window(Strict):
    """An event window ``[start_day, end_day)`` in simulated days since the start."""

    name: str = ""
    start_day: NonNegative
    end_day: Positive

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
    discount: Annotated[float, Field(ge=0.0, lt=1.0)]
    traffic_multiplier: Positive = 1.0
    categories: list[Code] | None = None  # None: every category
    skus: list[Code] | None = None  # SKU codes as generated (``SKU000001``); None: all in scope
    stores: list[Code] | None = None  # None: every store and the online channel


class SupplierDisruption(_Window):
    """Lead times of ``supplier`` times ``lead_time_multiplier``, or no deliveries (``outage``)."""

    kind: Literal["supplier_disruption"]
    supplier: Code
    lead_time_multiplier: Annotated[float, Field(ge=1.0)] | None = None
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
    category_multipliers: dict[Code, Positive] = Field(min_length=1)
    stores: list[Code] | None = None  # None: everywhere


class HolidayEvent(_Window):
    """A holiday window: demand x ``demand_multiplier``; stores closed if ``stores_closed``."""

    kind: Literal["holiday"]
    demand_multiplier: Positive = 1.0
    stores_closed: bool = False


Event = Annotated[
    FlashSale | SupplierDisruption | WeatherShock | HolidayEvent, Field(discriminator="kind")
]
