"""Steady-state checks of a run: MSER-5 warm-up detection and a trend test.

* :func:`mser5` (White's Marginal Standard Error Rule on batches of 5 observations) finds the
  truncation point of an output series that minimises the standard error of the mean of what
  is left; a truncation in the second half of the series means no steady state was found.
* :func:`trend_ci` fits a straight line to batch means (batches long enough to absorb the
  weekly cycle and the autocorrelation) and gives the slope with its Student-t interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from twin.errors import TwinConfigError

__all__ = ["Trend", "mser5", "trend_ci"]


def mser5(series: np.ndarray, batch: int = 5) -> int | None:
    """The MSER-5 warm-up of ``series`` in observations (a multiple of ``batch``).

    Returns None when the minimum lies beyond half the series (no steady state detected),
    or when the series has fewer than four batches.
    """
    x = np.asarray(series, dtype=float)
    k = x.size // batch
    if k < 4:
        return None
    y = x[: k * batch].reshape(k, batch).mean(axis=1)
    best, best_d = np.inf, 0
    for d in range(k // 2 + 1):
        rest = y[d:]
        m = rest.size
        val = float(((rest - rest.mean()) ** 2).sum()) / (m * m)
        if val < best:
            best, best_d = val, d
    if best_d >= k // 2:
        return None
    return best_d * batch


@dataclass(frozen=True, slots=True)
class Trend:
    """Slope of a series per observation, with the half-width of its confidence interval."""

    slope: float
    half_width: float

    @property
    def flat(self) -> bool:
        """True when the interval holds zero (no trend detectable)."""
        return abs(self.slope) <= self.half_width


def trend_ci(series: np.ndarray, batch: int = 7, confidence: float = 0.95) -> Trend:
    """Least-squares slope of the batch means of ``series`` (per observation) and its CI.

    Raises:
        TwinConfigError: fewer than four batches.
    """
    x = np.asarray(series, dtype=float)
    k = x.size // batch
    if k < 4:
        raise TwinConfigError(f"series of {x.size} values is too short for a trend (4 x {batch})")
    y = x[: k * batch].reshape(k, batch).mean(axis=1)
    t = (np.arange(k) + 0.5) * batch
    tc = t - t.mean()
    slope = float((tc * (y - y.mean())).sum() / (tc * tc).sum())
    resid = y - y.mean() - slope * tc
    se = float(np.sqrt((resid * resid).sum() / (k - 2) / (tc * tc).sum()))
    return Trend(slope, float(stats.t.ppf(0.5 + confidence / 2, k - 2)) * se)
