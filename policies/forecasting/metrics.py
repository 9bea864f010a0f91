"""Forecast accuracy metrics, row-wise over series (NumPy only).

Arguments are ``(n_series, horizon)`` arrays of actuals and forecasts and, for the scaled
metrics, the ``(n_series, T)`` training history. ``NaN`` actuals are ignored. Scaled metrics
divide by the in-sample error of the naive forecast ``y_t = y_{t-lag}`` (``lag=1`` as in the M5
competition's RMSSE; ``lag=m`` gives Hyndman & Koehler's seasonal MASE); a series whose history
has no variation at that lag gets ``NaN`` (its scaled error is undefined).
"""

from __future__ import annotations

import warnings

import numpy as np

from policies.forecasting.errors import ForecastingError


def _nanmean_rows(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out: np.ndarray = np.nanmean(a, axis=1)
        return out


def _diffs(history: np.ndarray, lag: int) -> np.ndarray:
    h = np.atleast_2d(np.asarray(history, dtype=np.float64))
    if lag < 1:
        raise ForecastingError("lag", lag, "must be >= 1")
    if h.shape[1] <= lag:
        return np.full((h.shape[0], 1), np.nan)
    return h[:, lag:] - h[:, :-lag]


def naive_scale_mae(history: np.ndarray, lag: int = 1) -> np.ndarray:
    """``mean |y_t - y_{t-lag}|`` over the history, per series (NaN when there is none)."""
    s = _nanmean_rows(np.abs(_diffs(history, lag)))
    return np.where(s > 0, s, np.nan)


def naive_scale_mse(history: np.ndarray, lag: int = 1) -> np.ndarray:
    """``mean (y_t - y_{t-lag})^2`` over the history, per series (NaN when there is none)."""
    s = _nanmean_rows(_diffs(history, lag) ** 2)
    return np.where(s > 0, s, np.nan)


def _pair(actual: np.ndarray, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.atleast_2d(np.asarray(actual, dtype=np.float64))
    f = np.atleast_2d(np.asarray(forecast, dtype=np.float64))
    if a.shape != f.shape:
        raise ForecastingError("forecast", f.shape, f"must match actual's shape {a.shape}")
    return a, f


def mase(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, lag: int = 1) -> np.ndarray:
    """Mean absolute scaled error per series: ``mean|y - f| / naive_scale_mae(history)``."""
    a, f = _pair(actual, forecast)
    out: np.ndarray = _nanmean_rows(np.abs(a - f)) / naive_scale_mae(history, lag)
    return out


def rmsse(
    actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, lag: int = 1
) -> np.ndarray:
    """Root mean squared scaled error per series: ``sqrt(mean (y-f)^2 / naive_scale_mse)``."""
    a, f = _pair(actual, forecast)
    out: np.ndarray = np.sqrt(_nanmean_rows((a - f) ** 2) / naive_scale_mse(history, lag))
    return out


def scaled_bias(
    actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, lag: int = 1
) -> np.ndarray:
    """Signed mean error over the MASE scale: ``mean(f - y) / naive_scale_mae`` (>0: over)."""
    a, f = _pair(actual, forecast)
    out: np.ndarray = _nanmean_rows(f - a) / naive_scale_mae(history, lag)
    return out


def percent_bias(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """``sum(f - y) / sum(y)`` per series (>0: over-forecast); NaN where actuals sum to 0."""
    a, f = _pair(actual, forecast)
    ok = ~np.isnan(a)
    num = np.where(ok, f - a, 0.0).sum(axis=1)
    den = np.where(ok, a, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Share of actuals inside ``[lower, upper]`` per series (NaN with no actuals)."""
    a, lo = _pair(actual, lower)
    _, hi = _pair(actual, upper)
    inside = ((a >= lo) & (a <= hi)).astype(np.float64)
    return _nanmean_rows(np.where(np.isnan(a), np.nan, inside))


def wape(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """Weighted absolute percentage error per series: ``sum|y - f| / sum|y|`` (NaN cells and
    series without demand are skipped / NaN)."""
    a, f = _pair(actual, forecast)
    ok = np.isfinite(a) & np.isfinite(f)
    num = np.where(ok, np.abs(a - f), 0.0).sum(axis=1)
    den = np.where(ok, np.abs(a), 0.0).sum(axis=1)
    out: np.ndarray = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out
