"""Prophet behind the :class:`Forecaster` protocol: one Prophet model per series.

Weekly and yearly seasonality, a country's public holidays and extra regressors (price,
promotion, weather, holiday flags: any regressor column of the panel) are supported. Prophet
and cmdstanpy are imported on first use; cmdstanpy's per-fit INFO logging is silenced.

Prediction intervals are normal around Prophet's mean, with the RMS of Prophet's in-sample
errors over the last ``sigma_window`` periods (56; recent errors, as for the baselines).
Prophet's own simulated intervals are not used: they draw from NumPy's global random state
(irreproducible here) and cost a simulation per series.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from policies.forecasting.base import Forecast, check_horizon_level, normal_forecast
from policies.forecasting.errors import ForecastingError
from policies.forecasting.panel import Panel

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


def _prophet_class() -> Any:
    # "Importing plotly failed" is logged at ERROR by prophet.plot; plots are not used here.
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    logging.getLogger("prophet").setLevel(logging.WARNING)
    try:
        from cmdstanpy.utils import get_logger
        from prophet import Prophet
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ForecastingError(
            "model", "prophet", "needs `pip install shopsphere[forecast]`"
        ) from exc
    # cmdstanpy configures its logger (DEBUG, own handler) on first use; do that now, then
    # raise its level so the two INFO lines per fit stay quiet.
    get_logger().setLevel(logging.WARNING)
    return Prophet


@dataclass(frozen=True, slots=True)
class ProphetForecaster:
    """Prophet configuration.

    Attributes:
        weekly: weekly seasonality (for daily data).
        yearly: yearly seasonality; ``"auto"`` lets Prophet turn it on with two years of data.
        holidays_country: country code for Prophet's built-in holidays (``None``: none).
        regressors: panel regressors to add; ``None`` adds every regressor in the panel.
        changepoint_prior_scale: trend flexibility (Prophet's default 0.05).
        seasonality_mode: ``"additive"`` or ``"multiplicative"``.
        sigma_window: recent periods whose in-sample errors set the interval width.
    """

    weekly: bool = True
    yearly: bool | Literal["auto"] = "auto"
    holidays_country: str | None = None
    regressors: tuple[str, ...] | None = None
    changepoint_prior_scale: float = 0.05
    seasonality_mode: Literal["additive", "multiplicative"] = "additive"
    sigma_window: int = 56
    name: str = "prophet"

    def fit(self, history: Panel) -> FittedProphet:
        """Fit one Prophet per series (series with < 2 observations get a flat forecast)."""
        names = tuple(history.regressors) if self.regressors is None else self.regressors
        for r in names:
            if r not in history.regressors:
                raise ForecastingError("regressors", r, f"not in panel {list(history.regressors)}")
        prophet_cls = _prophet_class()
        import pandas as pd

        models: list[Any] = []
        for i in range(history.n_series):
            y = history.values[i]
            ok = ~np.isnan(y)
            if ok.sum() < 2 or np.nanmax(y) == np.nanmin(y):
                models.append(float(np.nanmean(y)) if ok.any() else 0.0)
                continue
            frame = pd.DataFrame({"ds": history.dates[ok], "y": y[ok]})
            for r in names:
                frame[r] = history.regressors[r][i, ok]
            m = prophet_cls(
                weekly_seasonality=self.weekly,
                yearly_seasonality=self.yearly,
                daily_seasonality=False,
                changepoint_prior_scale=self.changepoint_prior_scale,
                seasonality_mode=self.seasonality_mode,
                uncertainty_samples=0,
            )
            if self.holidays_country:
                m.add_country_holidays(country_name=self.holidays_country)
            for r in names:
                m.add_regressor(r)
            m.fit(frame)
            models.append(m)
        return FittedProphet(self.name, history, names, tuple(models), self.sigma_window)


@dataclass(frozen=True, slots=True, eq=False)
class FittedProphet:
    """Fitted Prophet models, one per series (a float for a flat fallback series)."""

    model: str
    history: Panel
    regressor_names: tuple[str, ...]
    models: tuple[Any, ...]
    sigma_window: int = 56

    def predict(
        self,
        horizon: int,
        *,
        level: float = 0.8,
        future_regressors: Mapping[str, np.ndarray] | None = None,
    ) -> Forecast:
        """Forecast ``horizon`` periods; every fitted regressor needs its future values.

        Raises:
            ForecastingError: a regressor's future values are missing or mis-shaped.
        """
        check_horizon_level(horizon, level)
        import pandas as pd

        n = self.history.n_series
        future = future_regressors or {}
        for r in self.regressor_names:
            if r not in future:
                raise ForecastingError("future_regressors", r, "is needed by the fitted model")
            if np.shape(future[r]) != (n, horizon):
                raise ForecastingError(
                    f"future_regressors[{r}]", np.shape(future[r]), f"must be ({n}, {horizon})"
                )
        hist = self.history
        tail = slice(max(0, hist.n_periods - self.sigma_window), hist.n_periods)
        dates = np.concatenate([hist.dates[tail], hist.future_dates(horizon)])
        mean = np.zeros((n, horizon))
        std = np.zeros((n, horizon))
        for i, m in enumerate(self.models):
            if isinstance(m, float):
                mean[i] = m
                continue
            # one call predicts the recent history (for the error scale) and the future
            frame: pd.DataFrame = pd.DataFrame({"ds": dates})
            for r in self.regressor_names:
                past = hist.regressors[r][i, tail]
                frame[r] = np.concatenate([past, np.asarray(future[r], dtype=np.float64)[i]])
            yhat = m.predict(frame)["yhat"].to_numpy()
            k = len(yhat) - horizon
            mean[i] = yhat[k:]
            resid = hist.values[i, tail] - yhat[:k]
            ok = ~np.isnan(resid)
            std[i] = (
                np.sqrt(np.mean(resid[ok] ** 2))
                if ok.sum() >= 2
                else float(np.mean(m.params["sigma_obs"])) * float(m.y_scale)
            )
        return normal_forecast(self.model, hist, mean, std, level)
