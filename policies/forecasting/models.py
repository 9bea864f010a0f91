"""Forecasters by name, for the CLI, scenarios and benchmarks.

Every name in :data:`MODEL_NAMES` is also registered in :mod:`policies.registry` under kind
``"forecasting"``: ``create("forecasting", "ets", season_length=7)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from policies.forecasting.base import Forecaster
from policies.forecasting.baselines import (
    TSB,
    Croston,
    ExponentialSmoothing,
    MovingAverage,
    MovingMedian,
    SeasonalNaive,
)
from policies.forecasting.ensemble import COMBINES, Ensemble
from policies.forecasting.errors import ForecastingError
from policies.forecasting.gbm import LightGBMForecaster
from policies.forecasting.prophet_model import ProphetForecaster
from policies.forecasting.statsforecast_models import StatsForecastModel
from policies.registry import register

MODEL_NAMES: tuple[str, ...] = (
    "seasonal_naive",
    "moving_average",
    "moving_median",
    "ets",
    "ses",
    "croston",
    "sba",
    "tsb",
    "prophet",
    "auto_ets",
    "auto_arima",
    "lightgbm",
    "ensemble",
)
DEFAULT_ENSEMBLE_MEMBERS: tuple[str, ...] = ("ets", "moving_median", "moving_average", "ses")
DEFAULT_ENSEMBLE_COMBINE = "validated"
DEFAULT_ENSEMBLE_LOSS = "l1"  # weights for absolute error (MASE, WAPE): the predictive median
DEFAULT_VALIDATION_WINDOWS = 6
# Models that take the panel's regressors (their future values are needed to predict).
REGRESSOR_MODELS: tuple[str, ...] = ("prophet", "auto_arima", "lightgbm")


def make_model(
    name: str,
    *,
    season_length: int = 7,
    window: int = 28,
    holidays_country: str | None = None,
    ensemble_members: Sequence[str] = DEFAULT_ENSEMBLE_MEMBERS,
    ensemble_combine: str = DEFAULT_ENSEMBLE_COMBINE,
    horizon: int = 14,
    ensemble_loss: str = DEFAULT_ENSEMBLE_LOSS,
    validation_windows: int = DEFAULT_VALIDATION_WINDOWS,
) -> Forecaster:
    """The forecaster called ``name`` (one of :data:`MODEL_NAMES`).

    ``season_length`` is periods per season (7 for daily data with a weekly cycle, 52 for
    weekly data with a yearly one); ``window`` is the moving average's length in periods
    (the moving median's is twice it: a median needs more points to settle);
    ``horizon`` is the longest forecast LightGBM is trained for and the ensemble's validation
    window length; ``ensemble_loss`` (``l1`` or ``l2``) and ``validation_windows`` set how the
    validated ensemble learns its weights.

    Raises:
        ForecastingError: an unknown name (also inside ``ensemble_members``).
    """
    if name == "seasonal_naive":
        return SeasonalNaive(season_length)
    if name == "moving_average":
        return MovingAverage(window)
    if name == "moving_median":
        return MovingMedian(2 * window)
    if name == "ets":
        return ExponentialSmoothing(season_length)
    if name == "ses":
        return ExponentialSmoothing(1, name="ses")
    if name == "croston":
        return Croston()
    if name == "sba":
        return Croston(sba=True, name="sba")
    if name == "tsb":
        return TSB()
    if name == "prophet":
        return ProphetForecaster(weekly=season_length == 7, holidays_country=holidays_country)
    if name == "auto_ets":
        return StatsForecastModel("auto_ets", season_length, name="auto_ets")
    if name == "auto_arima":
        return StatsForecastModel("auto_arima", season_length, name="auto_arima")
    if name == "lightgbm":
        return LightGBMForecaster(
            season_length=season_length,
            max_horizon=max(horizon, 1),
            n_lags=max(14, min(season_length, 28)),
        )
    if name == "ensemble":
        if "ensemble" in ensemble_members:
            raise ForecastingError("ensemble_members", list(ensemble_members), "cannot nest")
        members = tuple(
            make_model(
                m,
                season_length=season_length,
                window=window,
                holidays_country=holidays_country,
                horizon=horizon,
            )
            for m in ensemble_members
        )
        if ensemble_combine not in COMBINES:
            raise ForecastingError(
                "ensemble_combine", ensemble_combine, f"must be one of {list(COMBINES)}"
            )
        if ensemble_loss not in ("l1", "l2"):
            raise ForecastingError("ensemble_loss", ensemble_loss, "must be 'l1' or 'l2'")
        return Ensemble(
            members,
            combine=ensemble_combine,  # type: ignore[arg-type]
            validation_horizon=max(horizon, 1),
            validation_windows=max(int(validation_windows), 1),
            loss=ensemble_loss,  # type: ignore[arg-type]
        )
    raise ForecastingError("model", name, f"must be one of {', '.join(MODEL_NAMES)}")


def make_models(names: Sequence[str], **kwargs: object) -> list[Forecaster]:
    """Several models by name (see :func:`make_model` for the keyword arguments)."""
    return [make_model(n.strip(), **kwargs) for n in names if n.strip()]  # type: ignore[arg-type]


def _registered_factory(name: str) -> Callable[..., Forecaster]:
    def build(
        season_length: int = 7,
        window: int = 28,
        holidays_country: str | None = None,
        ensemble_members: Sequence[str] = DEFAULT_ENSEMBLE_MEMBERS,
        ensemble_combine: str = DEFAULT_ENSEMBLE_COMBINE,
        horizon: int = 14,
        ensemble_loss: str = DEFAULT_ENSEMBLE_LOSS,
        validation_windows: int = DEFAULT_VALIDATION_WINDOWS,
    ) -> Forecaster:
        return make_model(
            name,
            season_length=season_length,
            window=window,
            holidays_country=holidays_country,
            ensemble_members=ensemble_members,
            ensemble_combine=ensemble_combine,
            horizon=horizon,
            ensemble_loss=ensemble_loss,
            validation_windows=validation_windows,
        )

    build.__name__ = build.__qualname__ = f"forecaster_{name}"
    build.__doc__ = f"The {name!r} forecaster (see :func:`make_model`)."
    return build


for _name in MODEL_NAMES:
    register("forecasting", _name)(_registered_factory(_name))
