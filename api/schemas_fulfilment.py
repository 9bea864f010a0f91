"""Schemas of the fulfilment routes: the delivery promise."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas import StockLine, Strict


class PromiseRequest(Strict):
    """An order-to-be: its lines, where it goes (degrees WGS84) and when it is placed
    (default: now)."""

    lines: list[StockLine] = Field(min_length=1, max_length=500)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    at: datetime | None = None


class PromiseOptionRead(Strict):
    carrier: str
    mode: str
    origin: str
    deliver_from: datetime
    deliver_to: datetime
    cost_cents: int
    co2_g: float
    distance_km: float


class PromiseRead(Strict):
    """Options sorted by earliest delivery then cost; empty when no location holds every line."""

    placed_at: datetime
    options: list[PromiseOptionRead]
