"""Simulated time of the twin, written down once.

One SimPy time unit is one simulated day. ``t = 0.0`` is midnight (UTC) at the start of the
scenario's ``start_date``; ``t = 2.5`` is noon on the third day. Every module of the twin
converts hours and minutes to and from this unit through the functions here, and uses the
fixed times of day below.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

__all__ = [
    "DAY",
    "DAY_END",
    "DECIDE_AT",
    "HOURS_PER_DAY",
    "MINUTES_PER_DAY",
    "day_of",
    "days_to_hours",
    "days_to_minutes",
    "hours",
    "minutes",
    "to_datetime",
]

DAY = 1.0
"""One simulated day, in SimPy time units."""
HOURS_PER_DAY = 24.0
MINUTES_PER_DAY = 1440.0
DECIDE_AT = 15.0 / MINUTES_PER_DAY
"""00:15: prices are set, replenishment decided and the day's demand drawn."""
DAY_END = 1.0 - 1.0 / MINUTES_PER_DAY
"""23:59: perishables age, reservations expire and the day's KPIs close."""
EPS = 1e-9
"""Tolerance when a float time is turned into its day index."""


def hours(h: float) -> float:
    """``h`` hours in SimPy time units (days)."""
    return h / HOURS_PER_DAY


def minutes(m: float) -> float:
    """``m`` minutes in SimPy time units (days)."""
    return m / MINUTES_PER_DAY


def days_to_hours(t: float) -> float:
    """A duration of ``t`` days in hours."""
    return t * HOURS_PER_DAY


def days_to_minutes(t: float) -> float:
    """A duration of ``t`` days in minutes."""
    return t * MINUTES_PER_DAY


def day_of(t: float) -> int:
    """The index of the simulated day holding time ``t`` (days)."""
    return math.floor(t + EPS)


def to_datetime(start: datetime, t: float) -> datetime:
    """The wall-calendar instant of simulated time ``t`` (days since ``start``)."""
    return start + timedelta(days=t)
