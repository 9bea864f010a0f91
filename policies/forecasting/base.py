"""The forecaster protocol and the forecast it returns.

A :class:`Forecaster` is a small, picklable configuration (a frozen dataclass). ``fit`` takes a
:class:`~policies.forecasting.panel.Panel` of history and returns a :class:`FittedForecaster`,
whose ``predict`` gives the next ``horizon`` periods of every series as a :class:`Forecast`:
the mean, a standard deviation and a central prediction interval at ``level``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from policies.forecasting.errors import ForecastingError
from policies.forecasting.panel import Panel

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True, eq=False)
class Forecast:
    """Forecasts of ``n_series`` series for ``horizon`` periods.

    Attributes:
        model: name of the model that made it.
        ids: series identifiers (rows).
        dates: ``datetime64[ns]`` dates of the ``horizon`` forecast periods.
        mean: ``(n_series, horizon)`` expected demand per period (units).
        std: ``(n_series, horizon)`` forecast standard deviation per period (units).
        lower: ``(n_series, horizon)`` lower bound of the central ``level`` interval.
        upper: ``(n_series, horizon)`` upper bound of the central ``level`` interval.
        level: interval coverage probability in (0, 1), e.g. 0.8.
    """

    model: str
    ids: tuple[str, ...]
    dates: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float

    @property
    def horizon(self) -> int:
        return int(self.mean.shape[1])

    def to_frame(self, *, id_col: str = "id", date_col: str = "date") -> pd.DataFrame:
        """Long table: one row per series and date with mean, std, lower, upper."""
        import pandas as pd

        n, h = self.mean.shape
        return pd.DataFrame(
            {
                "model": self.model,
                id_col: np.repeat(np.asarray(self.ids, dtype=object), h),
                date_col: np.tile(self.dates, n),
                "mean": self.mean.ravel(),
                "std": self.std.ravel(),
                "lower": self.lower.ravel(),
                "upper": self.upper.ravel(),
                "level": self.level,
            }
        )


@runtime_checkable
class FittedForecaster(Protocol):
    """A model fitted to one panel's history."""

    def predict(
        self,
        horizon: int,
        *,
        level: float = 0.8,
        future_regressors: Mapping[str, np.ndarray] | None = None,
    ) -> Forecast:
        """Forecast the next ``horizon`` periods.

        ``future_regressors`` maps a regressor name to its ``(n_series, horizon)`` known future
        values; models without regressors ignore it.
        """
        ...


@runtime_checkable
class Forecaster(Protocol):
    """A forecasting model configuration: ``fit(history) -> FittedForecaster``."""

    @property
    def name(self) -> str: ...

    def fit(self, history: Panel) -> FittedForecaster: ...


def check_horizon_level(horizon: int, level: float) -> None:
    """Raise :class:`ForecastingError` unless ``horizon >= 1`` and ``0 < level < 1``."""
    if not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ForecastingError("horizon", horizon, "must be a positive integer")
    if not 0.0 < level < 1.0:
        raise ForecastingError("level", level, "must lie strictly between 0 and 1")


def normal_forecast(
    model: str,
    history: Panel,
    mean: np.ndarray,
    std: np.ndarray,
    level: float,
    *,
    nonnegative: bool = True,
) -> Forecast:
    """A :class:`Forecast` with the normal interval ``mean +- z * std``.

    With ``nonnegative`` (demand cannot be negative) the mean and both bounds are clipped at 0.
    """
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    lower = mean - z * std
    upper = mean + z * std
    if nonnegative:
        mean, lower, upper = (np.maximum(a, 0.0) for a in (mean, lower, upper))
    return Forecast(
        model=model,
        ids=history.ids,
        dates=history.future_dates(mean.shape[1]),
        mean=mean,
        std=std,
        lower=lower,
        upper=upper,
        level=level,
    )
