"""Confidence intervals for simulation output, once: Student-t mean CI, paired differences,
batch means.

Every evaluator in ``policies`` (kernel simulation, RL validation, pricing Monte Carlo) and the
twin's runner report intervals from these functions, so "± half-width" means the same thing
everywhere: a two-sided Student-t interval at ``confidence`` on independent observations.

Use :func:`paired_difference_ci` when two policies were run on the same random numbers (common
random numbers): the interval of the per-replication differences is much narrower than the
two separate intervals, and it is the one that says whether a gap is real.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as _scipy_stats

__all__ = [
    "MeanCI",
    "batch_means",
    "batch_means_ci",
    "mean_ci",
    "paired_difference_ci",
    "standard_error",
]


@dataclass(frozen=True, slots=True)
class MeanCI:
    """A mean, the half-width of its two-sided Student-t interval, and the sample size.

    ``half_width`` is NaN when ``n < 2`` (no spread to estimate).
    """

    mean: float
    half_width: float
    n: int
    confidence: float = 0.95

    @property
    def low(self) -> float:
        """Lower end of the interval."""
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        """Upper end of the interval."""
        return self.mean + self.half_width

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the closed interval."""
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.3f} ± {self.half_width:.3f}"


def _vector(values: ArrayLike, name: str) -> NDArray[np.float64]:
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} has non-finite entries")
    return x


def standard_error(values: ArrayLike) -> float:
    """Sample standard deviation (``ddof=1``) over ``sqrt(n)``; ``inf`` when ``n < 2``.

    Raises:
        ValueError: empty or non-finite values.
    """
    x = _vector(values, "values")
    return float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.inf


def mean_ci(values: ArrayLike, confidence: float = 0.95) -> MeanCI:
    """Mean of independent observations and its two-sided Student-t half-width
    ``t_{(1+confidence)/2, n-1} * s / sqrt(n)`` (in the values' units).

    Raises:
        ValueError: empty or non-finite values, or ``confidence`` outside (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x = _vector(values, "values")
    if x.size < 2:
        return MeanCI(float(x.mean()), math.nan, int(x.size), confidence)
    t = float(_scipy_stats.t.ppf(0.5 + confidence / 2.0, x.size - 1))
    return MeanCI(
        float(x.mean()), t * float(x.std(ddof=1)) / math.sqrt(x.size), int(x.size), confidence
    )


def paired_difference_ci(a: ArrayLike, b: ArrayLike, confidence: float = 0.95) -> MeanCI:
    """Student-t interval of the mean of ``a - b`` over paired observations (the same seed or
    replication in both; common random numbers).

    Raises:
        ValueError: the samples differ in length, are empty or not finite.
    """
    x, y = _vector(a, "a"), _vector(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length: {x.size} and {y.size}")
    return mean_ci(x - y, confidence)


def batch_means(series: ArrayLike, batches: int) -> NDArray[np.float64]:
    """Means of ``batches`` consecutive, non-overlapping, equal batches of ``series`` (the
    remainder at the end is dropped). Batch means of a long stationary run are nearly
    independent, so :func:`mean_ci` on them gives a valid interval for autocorrelated output.

    Raises:
        ValueError: fewer than 2 batches, or fewer observations than batches.
    """
    x = _vector(series, "series")
    if batches < 2:
        raise ValueError(f"need at least 2 batches, got {batches}")
    if x.size < batches:
        raise ValueError(f"series of {x.size} observations is too short for {batches} batches")
    m = x.size // batches
    return np.asarray(x[: m * batches].reshape(batches, m).mean(axis=1), dtype=np.float64)


def batch_means_ci(series: ArrayLike, batches: int = 20, confidence: float = 0.95) -> MeanCI:
    """Student-t interval of a stationary series' mean from ``batches`` batch means.

    Raises:
        ValueError: as :func:`batch_means` and :func:`mean_ci`.
    """
    return mean_ci(batch_means(series, batches), confidence)
