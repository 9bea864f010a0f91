"""Demand forecasting: the demand agent's models, backtests and real retail data.

Quick use::

    from policies.forecasting import Panel, backtest, make_models
    panel = Panel.from_long(df, id_col="sku", date_col="date", value_col="units")
    result = backtest(panel, make_models(["seasonal_naive", "ets", "ensemble"]),
                      horizon=14, folds=4, n_jobs=2)
    print(result.summary())

For replenishment, :func:`forecast_arrays` maps a ``(n_series, T)`` history to the mean and
standard deviation of the next periods with the vectorised baselines (NumPy only).
Importing this package needs only NumPy; pandas, Prophet and rich are imported by
the functions that use them.
"""

from policies.forecasting.backtest import (
    METRICS,
    BacktestResult,
    Fold,
    backtest,
    default_n_jobs,
    forecast_batch,
    rolling_origin_folds,
)
from policies.forecasting.base import FittedForecaster, Forecast, Forecaster
from policies.forecasting.baselines import (
    TSB,
    Croston,
    ExponentialSmoothing,
    FittedBaseline,
    MovingAverage,
    SeasonalNaive,
)
from policies.forecasting.ensemble import Ensemble
from policies.forecasting.errors import ForecastingError
from policies.forecasting.gbm import LightGBMForecaster
from policies.forecasting.hierarchy import (
    RECONCILE_METHODS,
    Hierarchy,
    forecast_hierarchy,
    reconcile,
)
from policies.forecasting.kernels import (
    BASELINE_METHODS,
    LinearState,
    fit_baseline,
    forecast_arrays,
)
from policies.forecasting.models import (
    DEFAULT_ENSEMBLE_MEMBERS,
    MODEL_NAMES,
    REGRESSOR_MODELS,
    make_model,
    make_models,
)
from policies.forecasting.panel import Panel
from policies.forecasting.prophet_model import ProphetForecaster
from policies.forecasting.statsforecast_models import StatsForecastModel

__all__ = [
    "BASELINE_METHODS",
    "DEFAULT_ENSEMBLE_MEMBERS",
    "METRICS",
    "MODEL_NAMES",
    "RECONCILE_METHODS",
    "REGRESSOR_MODELS",
    "TSB",
    "BacktestResult",
    "Croston",
    "Ensemble",
    "ExponentialSmoothing",
    "FittedBaseline",
    "FittedForecaster",
    "Fold",
    "Forecast",
    "Forecaster",
    "ForecastingError",
    "Hierarchy",
    "LightGBMForecaster",
    "LinearState",
    "MovingAverage",
    "Panel",
    "ProphetForecaster",
    "SeasonalNaive",
    "StatsForecastModel",
    "backtest",
    "default_n_jobs",
    "fit_baseline",
    "forecast_arrays",
    "forecast_batch",
    "forecast_hierarchy",
    "make_model",
    "make_models",
    "reconcile",
    "rolling_origin_folds",
]
