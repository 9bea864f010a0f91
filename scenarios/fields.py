"""Building blocks of the scenario schema: the strict base model and constrained scalars.

Each constrained type raises a message in the house format, ``<value> is not <what> (<allowed>)``,
e.g. ``123.0 is not a latitude (-90..90)``.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from scenarios.distributions import DistBase, bad, check_support, fmt_value
from scenarios.limits import MAX_TEXT

__all__ = [
    "Code",
    "Count",
    "Hour",
    "IsoDate",
    "Latitude",
    "Longitude",
    "NonNegative",
    "Positive",
    "Probability",
    "Strict",
    "Text",
    "bounded",
    "support",
]


class Strict(BaseModel):
    """Base of every scenario model: strict types, no unknown keys, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


# ---- constrained scalar types with house-format messages ----------------------------------
def _lat(v: float) -> float:
    if not (math.isfinite(v) and -90.0 <= v <= 90.0):
        raise bad("latitude", f"{fmt_value(v)} is not a latitude (-90..90)")
    return v


def _lon(v: float) -> float:
    if not (math.isfinite(v) and -180.0 <= v <= 180.0):
        raise bad("longitude", f"{fmt_value(v)} is not a longitude (-180..180)")
    return v


def _prob(v: float) -> float:
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise bad("probability", f"{fmt_value(v)} is not a probability (0..1)")
    return v


def _pos(v: float) -> float:
    if not (math.isfinite(v) and v > 0):
        raise bad("positive", f"{fmt_value(v)} is not positive (allowed: > 0)")
    return v


def _nonneg(v: float) -> float:
    if not (math.isfinite(v) and v >= 0):
        raise bad("non_negative", f"{fmt_value(v)} is negative (allowed: >= 0)")
    return v


def _hour(v: float) -> float:
    if not (math.isfinite(v) and 0.0 <= v <= 24.0):
        raise bad("hour", f"{fmt_value(v)} is not an hour of the day (0..24)")
    return v


def _iso_date(v: object) -> object:
    # YAML is read without timestamp resolution, so dates arrive as text: parse them here so a
    # bad date is a message, not a crash inside the YAML library.
    if isinstance(v, str):
        try:
            return date.fromisoformat(v)
        except ValueError:
            raise bad("date", f"{fmt_value(v)} is not a date (allowed: YYYY-MM-DD)") from None
    return v


def _text(v: str) -> str:
    if "\x00" in v:
        raise bad("text", f"{fmt_value(v)} contains a NUL character (allowed: printable text)")
    return v


def bounded(limit: float, what: str) -> AfterValidator:
    """A validator refusing values above ``limit``: ``5000.0 is too large for a multiplier``."""

    def check(v: float) -> float:
        if v > limit:
            raise bad(
                "too_large", f"{fmt_value(v)} is too large for {what} (allowed: <= {limit:g})"
            )
        return v

    return AfterValidator(check)


Latitude = Annotated[float, AfterValidator(_lat)]
Longitude = Annotated[float, AfterValidator(_lon)]
Probability = Annotated[float, AfterValidator(_prob)]
Positive = Annotated[float, AfterValidator(_pos)]
NonNegative = Annotated[float, AfterValidator(_nonneg)]
Hour = Annotated[float, AfterValidator(_hour)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Count = Annotated[int, Field(ge=1, le=2**62)]
Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_text)]


D = TypeVar("D", bound=DistBase)


def support(
    dist: D, low: float, high: float, what: str, allowed: str, *, low_open: bool = False
) -> D:
    """``dist`` unchanged if every draw lies in ``[low, high]`` (see :func:`check_support`).

    Raises:
        PydanticCustomError: naming the distribution and the ``allowed`` range.
    """
    check_support(dist, low, high, what, allowed, low_open=low_open)
    return dist
