"""Vectorised baseline forecasters on ``(n_series, n_periods)`` arrays (NumPy only).

Each ``fit_*`` function takes a history array (units per period, ``NaN`` before a series
starts) and returns a :class:`LinearState`, the common form of every baseline here::

    mean[:, j] = level + season[:, (phase + j) % m]                 j = 0 .. horizon-1
    std[:, j]  = sigma * sqrt(1 + j * var_step + (j // m) * var_season)

where ``sigma`` is the root-mean-square one-step in-sample error over the last
``sigma_window`` periods (56 by default; all periods when ``None``). The loops run over time only;
every operation inside is over all series at once, so thousands of series fit in about a
second. The replenishment side uses :func:`forecast_arrays` directly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from policies.forecasting.errors import ForecastingError

BaselineMethod = Literal[
    "seasonal_naive", "moving_average", "moving_median", "ets", "ses", "croston", "sba", "tsb"
]  # fmt: skip
BASELINE_METHODS: tuple[str, ...] = (
    "seasonal_naive",
    "moving_average",
    "moving_median",
    "ets",
    "ses",
    "croston",
    "sba",
    "tsb",
)

DEFAULT_ALPHAS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8)
DEFAULT_GAMMAS: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.2)
DEFAULT_SIGMA_WINDOW = 56


@dataclass(frozen=True, slots=True, eq=False)
class LinearState:
    """Fitted state of a baseline for ``n`` series (see the module docstring for the formulas).

    Attributes:
        level: ``(n,)`` base level (units per period).
        season: ``(n, m)`` additive seasonal terms by phase (zeros when non-seasonal, ``m=1``).
        phase: phase index of the first forecast period.
        sigma: ``(n,)`` RMS one-step in-sample error (units per period).
        var_step: ``(n,)`` variance growth per step ahead (alpha**2 for exponential smoothing).
        var_season: ``(n,)`` variance growth per full season ahead.
    """

    level: np.ndarray
    season: np.ndarray
    phase: int
    sigma: np.ndarray
    var_step: np.ndarray
    var_season: np.ndarray

    def forecast(self, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)``, each ``(n, horizon)``, in units per period."""
        if horizon < 1:
            raise ForecastingError("horizon", horizon, "must be a positive integer")
        m = self.season.shape[1]
        j = np.arange(horizon)
        mean = self.level[:, None] + self.season[:, (self.phase + j) % m]
        var = (
            1.0 + j[None, :] * self.var_step[:, None] + (j // m)[None, :] * self.var_season[:, None]
        )
        std = self.sigma[:, None] * np.sqrt(var)
        return mean, std


def _check_history(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.shape[1] == 0:
        raise ForecastingError("history", v.shape, "must be (n_series, n_periods) with periods")
    return v


def _first_valid(v: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(v)
    out: np.ndarray = np.where(ok.any(axis=1), ok.argmax(axis=1), v.shape[1])
    return out


def _rms(errors: np.ndarray, window: int | None = None) -> np.ndarray:
    """Row-wise root mean square of the last ``window`` columns ignoring NaN (0 if none).

    Only recent errors count by default because demand levels drift and count noise grows
    with the level: errors from a busier past overstate today's uncertainty.
    """
    if window is not None:
        errors = errors[:, -window:]
    sq = np.where(np.isnan(errors), 0.0, errors**2)
    cnt = (~np.isnan(errors)).sum(axis=1)
    out: np.ndarray = np.sqrt(sq.sum(axis=1) / np.maximum(cnt, 1))
    return out


def _row_nanmean(v: np.ndarray) -> np.ndarray:
    cnt = (~np.isnan(v)).sum(axis=1)
    return np.where(cnt > 0, np.nansum(v, axis=1) / np.maximum(cnt, 1), 0.0)


def _flat(level: np.ndarray, sigma: np.ndarray) -> LinearState:
    n = level.shape[0]
    zeros = np.zeros(n)
    return LinearState(level, np.zeros((n, 1)), 0, sigma, zeros, zeros)


def fit_seasonal_naive(
    values: np.ndarray, season_length: int = 7, *, sigma_window: int | None = DEFAULT_SIGMA_WINDOW
) -> LinearState:
    """Seasonal naive: period ``T + j`` repeats period ``T - m + (j mod m)``.

    Series with fewer than ``m`` observations repeat their mean where the season has gaps.
    """
    v = _check_history(values)
    m = int(season_length)
    if m < 1:
        raise ForecastingError("season_length", season_length, "must be >= 1")
    n, t = v.shape
    last = np.full((n, m), np.nan)
    k = min(m, t)
    last[:, m - k :] = v[:, t - k :]
    last = np.where(np.isnan(last), _row_nanmean(v)[:, None], last)
    resid = v[:, m:] - v[:, :-m] if t > m else np.full((n, 1), np.nan)
    zeros = np.zeros(n)
    return LinearState(zeros, last, 0, _rms(resid, sigma_window), zeros, np.ones(n))


def fit_moving_average(
    values: np.ndarray, window: int = 28, *, sigma_window: int | None = DEFAULT_SIGMA_WINDOW
) -> LinearState:
    """Flat forecast at the mean of the last ``window`` observed periods."""
    v = _check_history(values)
    w = int(window)
    if w < 1:
        raise ForecastingError("window", window, "must be >= 1")
    ok = ~np.isnan(v)
    csum = np.concatenate([np.zeros((v.shape[0], 1)), np.cumsum(np.where(ok, v, 0.0), 1)], 1)
    ccnt = np.concatenate([np.zeros((v.shape[0], 1)), np.cumsum(ok, 1)], 1)
    t = v.shape[1]
    lo = np.maximum(np.arange(t) - w, 0)
    win_sum = csum[:, np.arange(t)] - csum[:, lo]
    win_cnt = ccnt[:, np.arange(t)] - ccnt[:, lo]
    pred = np.where(win_cnt > 0, win_sum / np.maximum(win_cnt, 1), np.nan)
    sigma = _rms(v - pred, sigma_window)
    level = _row_nanmean(v[:, max(t - w, 0) :])
    return _flat(level, sigma)


def fit_moving_median(
    values: np.ndarray, window: int = 56, *, sigma_window: int | None = DEFAULT_SIGMA_WINDOW
) -> LinearState:
    """Flat forecast at the median of the last ``window`` observed periods.

    The median, not the mean, is the point forecast that minimises the absolute error (MAE,
    MASE, WAPE) of a skewed demand distribution; it also ignores one-off spikes. ``sigma`` is
    the RMS error of the rolling median's one-step forecasts over the last ``sigma_window``
    periods.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    v = _check_history(values)
    w = int(window)
    if w < 1:
        raise ForecastingError("window", window, "must be >= 1")
    n, t = v.shape
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows
        level = np.nan_to_num(np.nanmedian(v[:, max(t - w, 0) :], axis=1), nan=0.0)
        back = min(t - 1, sigma_window or t - 1)
        if back >= 1:
            padded = np.concatenate([np.full((n, w), np.nan), v], axis=1)
            # windows ending just before each of the last `back` periods
            wins = sliding_window_view(padded[:, t - back : t + w - 1], w, axis=1)
            pred = np.nanmedian(wins, axis=2)
            sigma = _rms(v[:, t - back :] - pred)
        else:
            sigma = np.zeros(n)
    return _flat(level, sigma)


def fit_exponential_smoothing(
    values: np.ndarray,
    season_length: int = 7,
    *,
    seasonal: bool = True,
    alphas: tuple[float, ...] = DEFAULT_ALPHAS,
    gammas: tuple[float, ...] = DEFAULT_GAMMAS,
    sigma_window: int | None = DEFAULT_SIGMA_WINDOW,
) -> LinearState:
    """Additive exponential smoothing, ETS(A,N,A) (or ETS(A,N,N) without ``seasonal``).

    State equations in error-correction form, with one-step error ``e_t``::

        e_t = y_t - (l_{t-1} + s_{t-m});  l_t = l_{t-1} + alpha e_t;  s_t = s_{t-m} + gamma e_t

    ``alpha`` and ``gamma`` are chosen per series from the grids by least in-sample squared
    one-step error (all grid points run at once as a ``(grid, n_series)`` array). The initial
    level and seasonal terms come from the first ``max(3m, 7)`` observations of each series.
    The ``h``-step variance is ``sigma^2 (1 + (h-1) alpha^2 + floor((h-1)/m) gamma (2 alpha +
    gamma))`` (Hyndman & Athanasopoulos, FPP3, table 5.2/8.8).
    """
    v = _check_history(values)
    n, t = v.shape
    m = int(season_length) if seasonal else 1
    if m < 1:
        raise ForecastingError("season_length", season_length, "must be >= 1")
    if any(not 0.0 < a <= 1.0 for a in alphas):
        raise ForecastingError("alphas", alphas, "each must lie in (0, 1]")
    gam = gammas if m > 1 else (0.0,)
    if any(not 0.0 <= g < 1.0 for g in gam):
        raise ForecastingError("gammas", gammas, "each must lie in [0, 1)")
    grid_a = np.repeat(np.asarray(alphas, dtype=np.float64), len(gam))
    grid_g = np.tile(np.asarray(gam, dtype=np.float64), len(alphas))
    first = _first_valid(v)
    tt = np.arange(t)
    width = max(3 * m, 7)
    win = (tt >= first[:, None]) & (tt < first[:, None] + width) & ~np.isnan(v)
    level0 = np.where(win.any(1), np.where(win, v, 0.0).sum(1) / np.maximum(win.sum(1), 1), 0.0)
    season0 = np.zeros((m, n))
    if m > 1:
        dev = np.where(win, v - level0[:, None], 0.0)
        for p in range(m):
            cols = tt % m == p
            season0[p] = dev[:, cols].sum(1) / np.maximum(win[:, cols].sum(1), 1)
        season0 -= season0.mean(axis=0, keepdims=True)
    g = grid_a.shape[0]
    level = np.broadcast_to(level0, (g, n)).copy()
    season = np.broadcast_to(season0[:, None, :], (m, g, n)).copy()
    sse = np.zeros((g, n))
    recent_sse = np.zeros((g, n))
    recent_count = np.zeros(n)
    recent_from = t - sigma_window if sigma_window is not None else 0
    a_col, g_col = grid_a[:, None], grid_g[:, None]
    for step in range(int(first.min()) if n else t, t):
        y = v[:, step]
        ok = ~np.isnan(y)
        if not ok.any():
            continue
        p = step % m
        e = np.where(ok, y - (level + season[p]), 0.0)
        level += a_col * e
        season[p] += g_col * e
        sse += e * e
        if step >= recent_from:
            recent_sse += e * e
            recent_count += ok
    best = np.argmin(sse, axis=0)
    cols = np.arange(n)
    alpha, gamma = grid_a[best], grid_g[best]
    sigma = np.sqrt(recent_sse[best, cols] / np.maximum(recent_count, 1))
    return LinearState(
        level=level[best, cols],
        season=season[:, best, cols].T.copy(),
        phase=t % m,
        sigma=sigma,
        var_step=alpha**2,
        var_season=gamma * (2.0 * alpha + gamma) if m > 1 else np.zeros(n),
    )


def fit_croston(
    values: np.ndarray,
    alpha: float = 0.1,
    *,
    sba: bool = False,
    sigma_window: int | None = DEFAULT_SIGMA_WINDOW,
) -> LinearState:
    """Croston's method for intermittent demand (Syntetos-Boylan debiased with ``sba``).

    Demand sizes ``z`` and inter-demand intervals ``p`` are smoothed with ``alpha`` only in
    periods with demand; the flat forecast is ``z / p`` (times ``1 - alpha/2`` for SBA). Both
    start at the first demand (the interval counted from the series' first period).
    """
    v = _check_history(values)
    if not 0.0 < alpha <= 1.0:
        raise ForecastingError("alpha", alpha, "must lie in (0, 1]")
    n, t = v.shape
    z = np.full(n, np.nan)
    p = np.full(n, np.nan)
    q = np.zeros(n)
    factor = 1.0 - alpha / 2.0 if sba else 1.0
    errors = np.full((n, t), np.nan)
    for step in range(t):
        y = v[:, step]
        ok = ~np.isnan(y)
        errors[:, step] = y - factor * z / p
        q += ok
        demand = ok & (y > 0)
        new = demand & np.isnan(z)
        z = np.where(new, y, z)
        p = np.where(new, q, p)
        upd = demand & ~new
        z = np.where(upd, z + alpha * (y - z), z)
        p = np.where(upd, p + alpha * (q - p), p)
        q = np.where(demand, 0.0, q)
    level = np.where(np.isnan(z), 0.0, factor * z / p)
    return _flat(level, _rms(errors, sigma_window))


def fit_tsb(
    values: np.ndarray,
    alpha: float = 0.1,
    beta: float = 0.1,
    *,
    sigma_window: int | None = DEFAULT_SIGMA_WINDOW,
) -> LinearState:
    """Teunter-Syntetos-Babai: smooth demand probability every period, size on demand.

    ``d <- d + beta (1[y>0] - d)`` each period, ``z <- z + alpha (y - z)`` when ``y > 0``;
    the flat forecast ``d * z`` decays towards 0 when demand stops (unlike Croston). Starts at
    the history's share of periods with demand and mean demand size.
    """
    v = _check_history(values)
    for nm, val in (("alpha", alpha), ("beta", beta)):
        if not 0.0 < val <= 1.0:
            raise ForecastingError(nm, val, "must lie in (0, 1]")
    n, t = v.shape
    ok_all = ~np.isnan(v)
    pos = ok_all & (np.nan_to_num(v) > 0)
    d = np.where(ok_all.any(1), pos.sum(1) / np.maximum(ok_all.sum(1), 1), 0.0)
    z = np.where(pos.any(1), np.where(pos, v, 0.0).sum(1) / np.maximum(pos.sum(1), 1), 0.0)
    errors = np.full((n, t), np.nan)
    for step in range(t):
        y = v[:, step]
        ok = ~np.isnan(y)
        errors[:, step] = y - d * z
        demand = ok & (y > 0)
        d = np.where(ok, d + beta * (demand - d), d)
        z = np.where(demand, z + alpha * (y - z), z)
    return _flat(d * z, _rms(errors, sigma_window))


def fit_baseline(
    values: np.ndarray,
    method: BaselineMethod | str,
    *,
    season_length: int = 7,
    window: int = 28,
    alpha: float = 0.1,
    beta: float = 0.1,
) -> LinearState:
    """Fit the named baseline (see :data:`BASELINE_METHODS`)."""
    if method == "seasonal_naive":
        return fit_seasonal_naive(values, season_length)
    if method == "moving_average":
        return fit_moving_average(values, window)
    if method == "moving_median":
        return fit_moving_median(values, window)
    if method == "ets":
        return fit_exponential_smoothing(values, season_length, seasonal=season_length > 1)
    if method == "ses":
        return fit_exponential_smoothing(values, season_length, seasonal=False)
    if method in ("croston", "sba"):
        return fit_croston(values, alpha, sba=method == "sba")
    if method == "tsb":
        return fit_tsb(values, alpha, beta)
    raise ForecastingError("method", method, f"must be one of {BASELINE_METHODS}")


def forecast_arrays(
    history: np.ndarray,
    horizon: int,
    *,
    method: BaselineMethod | str = "ets",
    season_length: int = 7,
    window: int = 28,
) -> tuple[np.ndarray, np.ndarray]:
    """Forecast mean and standard deviation of the next ``horizon`` periods, vectorised.

    The entry point for replenishment: ``history`` is ``(n_series, T)`` demand in units per
    period (``NaN`` before a series starts; a 1-D array is one series). Returns ``(mean, std)``,
    each ``(n_series, horizon)`` in units per period, mean clipped at 0. Per-period stds are
    not independent across periods; for lead-time demand of exponential smoothing the sum's
    variance is larger than the sum of variances.

    Raises:
        ForecastingError: unknown ``method``, ``horizon < 1`` or a malformed history.
    """
    state = fit_baseline(history, method, season_length=season_length, window=window)
    mean, std = state.forecast(int(horizon))
    return np.maximum(mean, 0.0), std
