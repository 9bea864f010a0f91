"""statsforecast's AutoETS and AutoARIMA behind the :class:`Forecaster` protocol.

Both fit one model per series (statsforecast's own automatic order/model selection by AICc).
AutoARIMA takes the panel's regressors as exogenous columns (a regression with ARIMA errors);
their known future values must then be passed to ``predict``. A regressor that is constant over
a series' history carries no information for that series and is left out of its fit (a constant
exogenous column makes the regression singular). Gaps (``NaN`` after a series' start) are
linearly interpolated before fitting; the leading ``NaN`` before the start are dropped.

Intervals are statsforecast's own (normal) ones; ``std`` is recovered from their width. A series
with fewer than ``2 * season_length + 2`` observations, or whose fit fails, falls back to its mean
with the in-sample standard deviation. statsforecast is imported on first use.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, ClassVar, Literal

import numpy as np

from policies.forecasting.base import Forecast, check_horizon_level, normal_forecast
from policies.forecasting.errors import ForecastingError
from policies.forecasting.panel import Panel

Kind = Literal["auto_ets", "auto_arima"]


def _interpolate(y: np.ndarray) -> np.ndarray:
    """``y`` without its leading NaN, inner NaN linearly interpolated."""
    ok = np.flatnonzero(~np.isnan(y))
    if len(ok) == 0:
        return y[:0]
    y = y[ok[0] :]
    bad = np.isnan(y)
    if bad.any():
        idx = np.arange(len(y))
        y = y.copy()
        y[bad] = np.interp(idx[bad], idx[~bad], y[~bad])
    return y


@dataclass(frozen=True, slots=True)
class StatsForecastModel:
    """AutoETS or AutoARIMA (statsforecast), fitted series by series.

    Attributes:
        kind: ``"auto_ets"`` or ``"auto_arima"``.
        season_length: periods per season (7 for daily data).
        regressors: panel regressors used as exogenous columns by AutoARIMA; ``None`` uses
            every regressor of the panel, ``()`` none. AutoETS takes none.
        name: the model's name in results.
    """

    vectorised: ClassVar[bool] = False  # one fit per series

    kind: Kind = "auto_ets"
    season_length: int = 7
    regressors: tuple[str, ...] | None = None
    name: str = "auto_ets"

    def __post_init__(self) -> None:
        if self.kind not in ("auto_ets", "auto_arima"):
            raise ForecastingError("kind", self.kind, "must be auto_ets or auto_arima")
        if self.season_length < 1:
            raise ForecastingError("season_length", self.season_length, "must be >= 1")

    @property
    def uses_regressors(self) -> bool:
        return self.kind == "auto_arima" and self.regressors != ()

    def fit(self, history: Panel) -> FittedStatsForecast:
        """Fit one model per series.

        Raises:
            ForecastingError: a named regressor is not in the panel, or statsforecast is not
                installed.
        """
        names: tuple[str, ...] = ()
        if self.kind == "auto_arima":
            names = tuple(history.regressors) if self.regressors is None else self.regressors
            for r in names:
                if r not in history.regressors:
                    raise ForecastingError(
                        "regressors", r, f"not in panel {list(history.regressors)}"
                    )
        try:
            from statsforecast.models import AutoARIMA, AutoETS
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ForecastingError(
                "model", self.kind, "needs `pip install shopsphere[forecast]`"
            ) from exc
        m = self.season_length
        fitted: list[tuple[Any, tuple[int, ...]] | tuple[float, float]] = []
        for i in range(history.n_series):
            raw = history.values[i]
            y = _interpolate(raw)
            if len(y) < 2 * m + 2 or np.ptp(y) == 0:
                fitted.append(_flat(y))
                continue
            start = history.n_periods - len(y)
            cols: tuple[int, ...] = ()
            x = None
            if names:
                full = np.column_stack([history.regressors[r][i, start:] for r in names])
                cols = tuple(j for j in range(len(names)) if np.ptp(full[:, j]) > 0)
                x = full[:, list(cols)] if cols else None
            model: Any = (
                AutoETS(season_length=m) if self.kind == "auto_ets" else AutoARIMA(season_length=m)
            )
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    model.fit(y, X=x) if x is not None else model.fit(y)
                fitted.append((model, cols))
            except Exception:
                fitted.append(_flat(y))
        return FittedStatsForecast(self.name, history, names, tuple(fitted))


def _flat(y: np.ndarray) -> tuple[float, float]:
    if len(y) == 0:
        return 0.0, 0.0
    return float(np.mean(y)), float(np.std(y))


@dataclass(frozen=True, slots=True, eq=False)
class FittedStatsForecast:
    """Fitted statsforecast models, one per series (``(mean, std)`` for a flat fallback)."""

    model: str
    history: Panel
    regressor_names: tuple[str, ...]
    fitted: tuple[Any, ...]

    def predict(
        self,
        horizon: int,
        *,
        level: float = 0.8,
        future_regressors: Mapping[str, np.ndarray] | None = None,
    ) -> Forecast:
        """Forecast ``horizon`` periods; AutoARIMA with regressors needs their future values.

        Raises:
            ForecastingError: a regressor's future values are missing or mis-shaped.
        """
        check_horizon_level(horizon, level)
        n = self.history.n_series
        future = check_future(self.regressor_names, future_regressors, n, horizon)
        z = NormalDist().inv_cdf(0.5 + level / 2.0)
        pct = round(level * 100, 6)
        mean = np.zeros((n, horizon))
        std = np.zeros((n, horizon))
        for i, item in enumerate(self.fitted):
            if isinstance(item[0], float):
                mean[i], std[i] = item
                continue
            model, cols = item
            kwargs: dict[str, Any] = {"level": [pct]}
            if cols:
                kwargs["X"] = np.column_stack([future[self.regressor_names[j]][i] for j in cols])
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                out = model.predict(horizon, **kwargs)
            mean[i] = out["mean"]
            lo = next(v for k, v in out.items() if k.startswith("lo-"))
            hi = next(v for k, v in out.items() if k.startswith("hi-"))
            std[i] = np.nan_to_num((np.asarray(hi) - np.asarray(lo)) / (2 * z))
        mean = np.nan_to_num(mean)
        return normal_forecast(self.model, self.history, mean, std, level)


def check_future(
    names: tuple[str, ...],
    future_regressors: Mapping[str, np.ndarray] | None,
    n: int,
    horizon: int,
) -> dict[str, np.ndarray]:
    """The future values of ``names`` as float arrays, checked to be ``(n, horizon)``.

    Raises:
        ForecastingError: a regressor is missing or mis-shaped.
    """
    future = future_regressors or {}
    out: dict[str, np.ndarray] = {}
    for r in names:
        if r not in future:
            raise ForecastingError("future_regressors", r, "is needed by the fitted model")
        a = np.asarray(future[r], dtype=np.float64)
        if a.shape != (n, horizon):
            raise ForecastingError(f"future_regressors[{r}]", a.shape, f"must be ({n}, {horizon})")
        out[r] = a
    return out
