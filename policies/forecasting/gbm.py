"""A global gradient-boosted forecaster: one LightGBM model across all series.

Direct multi-step: each training row is a (series, origin ``t``, step ``k``) triple whose target
is ``y[t + k] / s_t``, where ``s_t`` is the series' mean over the ``scale_window`` periods up to
the origin (so series of every size share one model). Features, all known at the origin:

* ``k`` (periods ahead) and ``log1p(s_t)``;
* the last ``n_lags`` values ``y[t], y[t-1], ...`` and the two values one and two seasons before
  the target (``y[t + k - m * ceil(k / m)]``, ``... - m``), divided by ``s_t``;
* rolling means over ``m`` and ``4 m`` periods and the rolling standard deviation over the scale
  window, divided by ``s_t``;
* the target date's calendar: day of week, day of month, month, week of year;
* every regressor of the panel at the target date, and its change since the origin (a promotion
  that starts, a price cut). Their future values are passed to ``predict``.

Intervals are split-conformal: the model is trained on targets before the last ``calibration``
periods, and the ``level`` quantile of its absolute scaled errors on those periods, per step
ahead (pooled over series), times ``s_t``, is the interval's half-width. The model is not
refitted on the calibration periods; the forecast's features still use the whole history.
Deterministic: fixed ``seed``, ``deterministic=True`` and ``num_threads`` threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, ClassVar

import numpy as np

from policies.forecasting.base import Forecast, check_horizon_level
from policies.forecasting.errors import ForecastingError
from policies.forecasting.panel import Panel
from policies.forecasting.statsforecast_models import check_future


def _rolling_nanmean(y: np.ndarray, w: int) -> np.ndarray:
    """``(n, T)`` mean of the last ``w`` non-NaN values up to and including each period."""
    ok = ~np.isnan(y)
    c = np.cumsum(np.where(ok, y, 0.0), axis=1)
    k = np.cumsum(ok, axis=1).astype(np.float64)
    c = np.concatenate([np.zeros((y.shape[0], 1)), c], axis=1)
    k = np.concatenate([np.zeros((y.shape[0], 1)), k], axis=1)
    t = np.arange(1, y.shape[1] + 1)
    lo = np.maximum(t - w, 0)
    s = c[:, t] - c[:, lo]
    cnt = k[:, t] - k[:, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, s / np.maximum(cnt, 1.0), np.nan)


def _calendar(dates: np.ndarray, season_length: int) -> np.ndarray:
    """``(len(dates), 4)``: day of week, day of month, month, ISO-like week of year."""
    d = np.asarray(dates, dtype="datetime64[D]")
    dow = (d.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    month_start = d.astype("datetime64[M]")
    dom = (d - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    month = month_start.astype(np.int64) % 12 + 1
    year_start = d.astype("datetime64[Y]").astype("datetime64[D]")
    woy = (d - year_start).astype(np.int64) // 7 + 1
    return np.column_stack([dow, dom, month, woy]).astype(np.float64)


@dataclass(frozen=True, slots=True)
class LightGBMForecaster:
    """Global LightGBM forecaster configuration (see the module docstring).

    Attributes:
        season_length: periods per season ``m`` (7 for daily data, 52 for weekly).
        max_horizon: most steps ahead it is trained for (``predict`` beyond it is refused).
        n_lags: recent values used as features.
        scale_window: periods of the per-origin scale ``s_t``.
        max_origins: most recent training origins per series (older ones are dropped).
        calibration: recent periods held out for the conformal intervals.
        regressors: panel regressors used; ``None`` uses all, ``()`` none.
        objective: LightGBM objective (``"l2"``, ``"l1"``, ``"tweedie"``...).
        n_estimators, learning_rate, num_leaves, min_child_samples: LightGBM settings.
        num_threads: LightGBM threads; seed: its random seed.
    """

    vectorised: ClassVar[bool] = True  # one model fits every series
    global_model: ClassVar[bool] = True  # learns across series: backtests never split the panel

    season_length: int = 7
    max_horizon: int = 14
    n_lags: int = 14
    scale_window: int = 28
    max_origins: int = 182
    calibration: int = 28
    regressors: tuple[str, ...] | None = None
    objective: str = "l1"
    n_estimators: int = 150
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 100
    num_threads: int = 1
    seed: int = 0
    name: str = "lightgbm"

    @property
    def uses_regressors(self) -> bool:
        return self.regressors != ()

    def _features(
        self,
        y: np.ndarray,
        scale: np.ndarray,
        regs: list[np.ndarray],
        dates: np.ndarray,
        origins: np.ndarray,
        k: int,
    ) -> np.ndarray:
        """Feature rows for every series at ``origins`` (indices into the ``T`` axis of ``y``)
        and step ``k``; ``regs`` and ``dates`` must extend at least ``k`` past each origin."""
        m = self.season_length
        n = y.shape[0]
        o = origins
        s = scale[:, o]
        cols: list[np.ndarray] = [np.full((n, len(o)), float(k)), np.log1p(s)]
        for j in range(self.n_lags):
            cols.append(y[:, o - j] / s)
        c = -(-k // m)
        for back in (m * c, m * (c + 1)):
            idx = o + k - back
            cols.append(np.where(idx >= 0, y[:, np.maximum(idx, 0)], np.nan) / s)
        roll = self._rolling
        for w in (m, 4 * m):
            cols.append(roll(y, w)[:, o] / s)
        cols.append(self._rolling_std(y)[:, o] / s)
        cols.append(roll(y, 16 * m)[:, o] / s)
        # the cross-series total's recent shape (all series' histories up to the origin)
        total = np.nansum(y, axis=0, keepdims=True)
        total_scale = np.maximum(roll(total, self.scale_window)[:, o], 1e-9)
        for w in (1, m, 4 * m):
            cols.append(np.broadcast_to(roll(total, w)[:, o] / total_scale, (n, len(o))))
        idx = o + k - m * c
        cols.append(
            np.broadcast_to(
                np.where(idx >= 0, total[:, np.maximum(idx, 0)], np.nan) / total_scale, (n, len(o))
            )
        )
        cal = _calendar(dates[o + k], m)
        for j in range(cal.shape[1]):
            cols.append(np.broadcast_to(cal[:, j], (n, len(o))))
        for r in regs:
            cols.append(r[:, o + k])
            cols.append(r[:, o + k] - r[:, o])
        return np.stack(cols, axis=-1).reshape(n * len(o), len(cols))

    @staticmethod
    def _rolling(y: np.ndarray, w: int) -> np.ndarray:
        return _rolling_nanmean(y, w)

    def _rolling_std(self, y: np.ndarray) -> np.ndarray:
        w = self.scale_window
        mean = _rolling_nanmean(y, w)
        sq = _rolling_nanmean(y * y, w)
        out: np.ndarray = np.sqrt(np.maximum(sq - mean * mean, 0.0))
        return out

    def _scale(self, y: np.ndarray) -> np.ndarray:
        s = _rolling_nanmean(y, self.scale_window)
        long = _rolling_nanmean(y, 10**9)
        floor = np.maximum(0.1 * np.nan_to_num(long), 1e-3)
        out: np.ndarray = np.maximum(np.nan_to_num(s), floor)
        return out

    def fit(self, history: Panel) -> FittedLightGBM:
        """Train the global model on every series of ``history``.

        Raises:
            ForecastingError: a named regressor is missing, too little history, or LightGBM
                is not installed.
        """
        try:
            import lightgbm as lgb
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ForecastingError("model", self.name, "needs `pip install lightgbm`") from exc
        names = tuple(history.regressors) if self.regressors is None else self.regressors
        for r in names:
            if r not in history.regressors:
                raise ForecastingError("regressors", r, f"not in panel {list(history.regressors)}")
        y = history.values
        t_all = history.n_periods
        first = self.n_lags - 1
        cal = min(self.calibration, max(0, t_all - first - self.max_horizon - 8))
        train_end = t_all - cal  # targets of training rows lie before this period
        if train_end - first - 1 < 2:
            raise ForecastingError(
                "history", t_all, f"too short for a LightGBM model with {self.n_lags} lags"
            )
        scale = self._scale(y)
        regs = [history.regressors[r] for r in names]
        xs: list[np.ndarray] = []
        ts: list[np.ndarray] = []
        calib: list[tuple[int, np.ndarray, np.ndarray]] = []
        lo_origin = max(first, train_end - 1 - self.max_origins - self.max_horizon)
        for k in range(1, self.max_horizon + 1):
            origins = np.arange(lo_origin, train_end - k)
            if len(origins):
                xs.append(self._features(y, scale, regs, history.dates, origins, k))
                ts.append((y[:, origins + k] / scale[:, origins]).ravel())
            c_orig = np.arange(max(first, train_end - k), t_all - k)
            if len(c_orig):
                cx = self._features(y, scale, regs, history.dates, c_orig, k)
                cy = (y[:, c_orig + k] / scale[:, c_orig]).ravel()
                calib.append((k, cx, cy))
        x = np.concatenate(xs)
        target = np.concatenate(ts)
        ok = np.isfinite(target) & np.isfinite(x[:, 2])
        params: dict[str, Any] = {
            "objective": self.objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.8,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        booster = lgb.train(params, lgb.Dataset(x[ok], target[ok]), self.n_estimators)
        # split-conformal: absolute scaled errors on the held-out periods, per step ahead
        errors: dict[int, np.ndarray] = {}
        for k, cx, cy in calib:
            good = np.isfinite(cy) & np.isfinite(cx[:, 2])
            if good.any():
                errors[k] = np.abs(booster.predict(cx[good]) - cy[good])
        return FittedLightGBM(self, history, names, booster, scale, errors)


@dataclass(frozen=True, slots=True, eq=False)
class FittedLightGBM:
    """A trained global model plus what ``predict`` needs from the history."""

    config: LightGBMForecaster
    history: Panel
    regressor_names: tuple[str, ...]
    booster: Any
    scale: np.ndarray
    errors: dict[int, np.ndarray]

    @property
    def model(self) -> str:
        return self.config.name

    def predict(
        self,
        horizon: int,
        *,
        level: float = 0.8,
        future_regressors: Mapping[str, np.ndarray] | None = None,
    ) -> Forecast:
        """Forecast ``horizon <= max_horizon`` periods of every series.

        Raises:
            ForecastingError: ``horizon`` exceeds ``max_horizon``, or a regressor's future
                values are missing or mis-shaped.
        """
        check_horizon_level(horizon, level)
        cfg = self.config
        if horizon > cfg.max_horizon:
            raise ForecastingError("horizon", horizon, f"exceeds max_horizon={cfg.max_horizon}")
        hist = self.history
        n, t = hist.n_series, hist.n_periods
        future = check_future(self.regressor_names, future_regressors, n, horizon)
        y = np.concatenate([hist.values, np.full((n, horizon), np.nan)], axis=1)
        scale = np.concatenate([self.scale, np.ones((n, horizon))], axis=1)
        regs = [
            np.concatenate([hist.regressors[r], future[r]], axis=1) for r in self.regressor_names
        ]
        dates = np.concatenate([hist.dates, hist.future_dates(horizon)])
        origin = np.array([t - 1])
        s = self.scale[:, -1]
        mean = np.zeros((n, horizon))
        half = np.zeros((n, horizon))
        z = NormalDist().inv_cdf(0.5 + level / 2.0)
        all_err = np.concatenate(list(self.errors.values())) if self.errors else np.zeros(1)
        for k in range(1, horizon + 1):
            x = cfg._features(y, scale, regs, dates, origin, k)
            mean[:, k - 1] = self.booster.predict(x) * s
            err = self.errors.get(k, all_err)
            q = float(np.quantile(err, level)) if len(err) else 0.0
            half[:, k - 1] = q * s
        mean = np.maximum(np.nan_to_num(mean), 0.0)
        lower = np.maximum(mean - half, 0.0)
        upper = mean + half
        return Forecast(
            model=cfg.name,
            ids=hist.ids,
            dates=hist.future_dates(horizon),
            mean=mean,
            std=half / z,
            lower=lower,
            upper=upper,
            level=level,
        )
