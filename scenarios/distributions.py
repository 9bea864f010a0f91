"""Probability distributions that scenario files name (``{kind: lognormal, mean: 3, sd: 1}``).

One tagged family is used everywhere a scenario needs a random quantity: supplier lead times
(days), prices (cents), cost ratios, base demand (units/day), price elasticities, basket sizes,
shelf lives (days). Each member is a strict, frozen pydantic model with

* ``mean()`` (alias ``mean_value()``): the exact mean of the distribution,
* ``support()``: the closed interval ``(low, high)`` its samples lie in (``inf`` if unbounded),
* ``sample(rng, size)``: ``size`` draws as a float64 array, from the one
  :class:`numpy.random.Generator` the caller passes down (never a global seed).

The unit is that of the field that holds the distribution (its name says it: ``lead_time_days``,
``price_cents``). Fields restrict the support (a lead time cannot be negative) with
:func:`check_support`, which raises a ``PydanticCustomError`` naming the distribution and the
allowed range.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "Dist",
    "DistBase",
    "FixedDist",
    "GammaDist",
    "LogNormalDist",
    "PmfDist",
    "PoissonDist",
    "UniformDist",
    "check_support",
    "check_tail",
    "fmt_value",
    "tail_high",
]


def fmt_value(value: object) -> str:
    """Render a user's value the way it appears in a YAML file, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, int | float):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def bad(kind: str, message: str) -> PydanticCustomError:
    """A validation error whose message is exactly ``message`` (no template expansion)."""
    return PydanticCustomError(kind, message.replace("{", "{{").replace("}", "}}"))


class _DistBase(BaseModel):
    # ``mean`` is a YAML key of several kinds *and* a method of every kind: the field is stored
    # as ``mean_`` under the alias ``mean`` (read and written as ``mean``).
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        allow_inf_nan=False,
    )

    def mean(self) -> float:
        """The exact mean of the distribution (same as :meth:`mean_value`)."""
        return self.mean_value()

    def mean_value(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def support(self) -> tuple[float, float]:  # pragma: no cover - overridden
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Draw ``size`` values as float64 (pragma: overridden)."""
        raise NotImplementedError  # pragma: no cover

    def describe(self) -> str:
        """Short text for messages, e.g. ``uniform(-1.0..3.0)``."""
        low, high = self.support()
        return f"{self.kind}({low!r}..{high!r})"  # type: ignore[attr-defined]


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise bad("finite", f"{fmt_value(value)} is not a finite number ({what})")
    return value


class FixedDist(_DistBase):
    """Always ``value``."""

    kind: Literal["fixed"]
    value: float

    @field_validator("value")
    @classmethod
    def _v(cls, v: float) -> float:
        return _finite(v, "any finite number")

    def mean_value(self) -> float:
        return float(self.value)

    def support(self) -> tuple[float, float]:
        return (float(self.value), float(self.value))

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        return np.full(size, float(self.value))


class UniformDist(_DistBase):
    """Uniform on ``[low, high]``."""

    kind: Literal["uniform"]
    low: float
    high: float

    @field_validator("low", "high")
    @classmethod
    def _f(cls, v: float) -> float:
        return _finite(v, "any finite number")

    @field_validator("high")
    @classmethod
    def _not_below_low(cls, v: float, info: ValidationInfo) -> float:
        low = info.data.get("low")
        if low is not None and v < low:
            raise bad("range_order", f"{fmt_value(v)} is below low {low!r} (allowed: >= low)")
        return v

    def mean_value(self) -> float:
        return (self.low + self.high) / 2.0

    def support(self) -> tuple[float, float]:
        return (float(self.low), float(self.high))

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)


class LogNormalDist(_DistBase):
    """Log-normal with the given ``mean`` and standard deviation ``sd`` of the value itself.

    ``sigma² = ln(1 + sd²/mean²)``, ``mu = ln(mean) - sigma²/2``. Optional ``max`` clips draws
    (so the mean is then slightly lower than ``mean``; ``mean_value()`` reports the unclipped mean).
    """

    kind: Literal["lognormal"]
    mean_: float = Field(alias="mean")
    sd: float
    max: float | None = None

    @field_validator("mean_")
    @classmethod
    def _m(cls, v: float) -> float:
        if not (math.isfinite(v) and v > 0):
            raise bad("positive", f"{fmt_value(v)} is not positive (allowed: > 0)")
        return v

    @field_validator("sd")
    @classmethod
    def _s(cls, v: float) -> float:
        if not (math.isfinite(v) and v >= 0):
            raise bad("non_negative", f"{fmt_value(v)} is negative (allowed: >= 0)")
        return v

    @field_validator("max")
    @classmethod
    def _mx(cls, v: float | None) -> float | None:
        if v is not None and not (math.isfinite(v) and v > 0):
            raise bad("positive", f"{fmt_value(v)} is not positive (allowed: > 0)")
        return v

    @model_validator(mode="after")
    def _spread(self) -> LogNormalDist:
        if self.sd > 100.0 * self.mean_:
            raise bad(
                "spread",
                f"sd {self.sd!r} is more than 100 x mean {self.mean_!r} (allowed: sd <= 100 x "
                "mean)",
            )
        return self

    @property
    def sigma(self) -> float:
        return math.sqrt(math.log1p((self.sd / self.mean_) ** 2))

    @property
    def mu(self) -> float:
        return math.log(self.mean_) - self.sigma**2 / 2.0

    def mean_value(self) -> float:
        return float(self.mean_)

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf if self.max is None else float(self.max))

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        draws = rng.lognormal(self.mu, self.sigma, size)
        return draws if self.max is None else np.minimum(draws, self.max)


class GammaDist(_DistBase):
    """Gamma with the given ``mean`` and coefficient of variation ``cv`` (shape ``1/cv²``)."""

    kind: Literal["gamma"]
    mean_: float = Field(alias="mean")
    cv: float

    @field_validator("mean_", "cv")
    @classmethod
    def _p(cls, v: float) -> float:
        if not (math.isfinite(v) and v > 0):
            raise bad("positive", f"{fmt_value(v)} is not positive (allowed: > 0)")
        return v

    @field_validator("cv")
    @classmethod
    def _cv(cls, v: float) -> float:
        if v > 10.0:
            raise bad("spread", f"{fmt_value(v)} is too large a cv (allowed: <= 10)")
        return v

    def mean_value(self) -> float:
        return float(self.mean_)

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean_ / shape, size)


class PoissonDist(_DistBase):
    """Poisson counts with the given ``mean``, shifted by ``offset`` (lead time = 1 + Poisson)."""

    kind: Literal["poisson"]
    mean_: float = Field(alias="mean")
    offset: float = 0.0

    @field_validator("mean_")
    @classmethod
    def _m(cls, v: float) -> float:
        if not (math.isfinite(v) and v >= 0):
            raise bad("non_negative", f"{fmt_value(v)} is negative (allowed: >= 0)")
        return v

    @field_validator("offset")
    @classmethod
    def _o(cls, v: float) -> float:
        return _finite(v, "any finite number")

    def mean_value(self) -> float:
        return float(self.mean_ + self.offset)

    def support(self) -> tuple[float, float]:
        return (float(self.offset), math.inf if self.mean_ > 0 else float(self.offset))

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        return rng.poisson(self.mean_, size).astype(np.float64) + self.offset


class PmfDist(_DistBase):
    """A discrete distribution: ``values[i]`` with probability ``probs[i]`` (summing to 1)."""

    kind: Literal["pmf"]
    values: list[float] = Field(min_length=1, max_length=10_000)
    probs: list[float] = Field(min_length=1, max_length=10_000)

    @field_validator("probs")
    @classmethod
    def _probs(cls, v: list[float]) -> list[float]:
        for p in v:
            if not (math.isfinite(p) and 0.0 <= p <= 1.0):
                raise bad("probability", f"{fmt_value(p)} is not a probability (0..1)")
        total = math.fsum(v)
        if abs(total - 1.0) > 1e-6:
            raise bad("probs_sum", f"probabilities sum to {total!r}, not 1 (allowed: sum 1 ± 1e-6)")
        return v

    @model_validator(mode="after")
    def _same_length(self) -> PmfDist:
        if len(self.values) != len(self.probs):
            raise bad(
                "pmf_length",
                f"{len(self.values)} values but {len(self.probs)} probs (allowed: equal lengths)",
            )
        for x in self.values:
            _finite(x, "pmf values")
        return self

    def mean_value(self) -> float:
        return math.fsum(x * p for x, p in zip(self.values, self.probs, strict=True))

    def support(self) -> tuple[float, float]:
        used = [x for x, p in zip(self.values, self.probs, strict=True) if p > 0]
        return (float(min(used)), float(max(used)))

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        probs = np.asarray(self.probs, dtype=np.float64)
        probs = probs / probs.sum()
        return rng.choice(np.asarray(self.values, dtype=np.float64), size=size, p=probs)


DistBase = _DistBase
"""The common base of every distribution kind (for annotations)."""

Dist = Annotated[
    FixedDist | UniformDist | LogNormalDist | GammaDist | PoissonDist | PmfDist,
    Field(discriminator="kind"),
]
"""Any distribution, chosen by its ``kind`` key."""


def check_support(
    dist: _DistBase, low: float, high: float, what: str, allowed: str, *, low_open: bool = False
) -> None:
    """Raise unless every value ``dist`` can draw lies in ``[low, high]`` (``(low, high]``).

    ``what`` names the quantity (``"a lead time"``), ``allowed`` says the range for the message:
    ``uniform(-1.0..3.0) is not a lead time (allowed: >= 0 days)``. Log-normal and gamma draws
    never reach their lower bound 0, so they pass an open bound at 0.
    """
    lo, hi = dist.support()
    continuous_from_zero = isinstance(dist, LogNormalDist | GammaDist) and lo == 0.0
    too_low = lo < low or (low_open and lo == low and not continuous_from_zero)
    if too_low or hi > high:
        raise bad("support", f"{dist.describe()} is not {what} (allowed: {allowed})")


def tail_high(dist: _DistBase, quantile: float) -> float:
    """An upper bound that draws of ``dist`` exceed with probability at most ``1 - quantile``.

    Exact for bounded kinds (their support's upper end); the ``quantile`` of log-normal and
    gamma (clipped at ``max`` for a log-normal); a Chernoff-style bound for Poisson.
    """
    hi = dist.support()[1]
    if math.isfinite(hi):
        return hi
    tail = 1.0 - quantile
    if isinstance(dist, LogNormalDist):
        from scipy.special import ndtri

        return math.exp(dist.mu + float(ndtri(quantile)) * dist.sigma)
    if isinstance(dist, GammaDist):
        from scipy.special import gammainccinv

        shape = 1.0 / dist.cv**2
        return float(gammainccinv(shape, tail)) * dist.mean_ / shape
    if isinstance(dist, PoissonDist):
        m = dist.mean_
        return dist.offset + m + math.sqrt(2.0 * m * -math.log(tail)) - math.log(tail)
    return hi  # pragma: no cover - every kind is handled above


def check_tail(dist: _DistBase, high: float, quantile: float, what: str, allowed: str) -> None:
    """Raise unless draws of ``dist`` stay at or below ``high`` (up to the ``quantile``).

    Bounds magnitudes that would overflow or exhaust memory downstream: ``lognormal(0.0..inf)
    reaches 3.2e+12 (allowed: a price <= 100000000 cents)``.
    """
    reach = tail_high(dist, quantile)
    if not reach <= high:
        raise bad(
            "magnitude", f"{dist.describe()} reaches {reach:.3g} (allowed: {what} <= {allowed})"
        )
