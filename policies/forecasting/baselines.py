"""Fast baseline forecasters (vectorised over series) behind the :class:`Forecaster` protocol."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from policies.forecasting import kernels
from policies.forecasting.base import Forecast, check_horizon_level, normal_forecast
from policies.forecasting.panel import Panel


@dataclass(frozen=True, slots=True, eq=False)
class FittedBaseline:
    """A baseline fitted to a panel: its :class:`~kernels.LinearState` and the history."""

    model: str
    history: Panel
    state: kernels.LinearState

    def predict(
        self,
        horizon: int,
        *,
        level: float = 0.8,
        future_regressors: Mapping[str, np.ndarray] | None = None,
    ) -> Forecast:
        """Normal intervals around the baseline's mean (regressors are ignored)."""
        check_horizon_level(horizon, level)
        mean, std = self.state.forecast(horizon)
        return normal_forecast(self.model, self.history, mean, std, level)


@dataclass(frozen=True, slots=True)
class SeasonalNaive:
    """Repeat the last season: ``y[T + j] = y[T - m + j mod m]`` (``m`` periods per season)."""

    vectorised: ClassVar[bool] = True  # one NumPy pass fits every series

    season_length: int = 7
    name: str = "seasonal_naive"

    def fit(self, history: Panel) -> FittedBaseline:
        return FittedBaseline(
            self.name, history, kernels.fit_seasonal_naive(history.values, self.season_length)
        )


@dataclass(frozen=True, slots=True)
class MovingAverage:
    """Flat forecast at the mean of the last ``window`` periods."""

    vectorised: ClassVar[bool] = True  # one NumPy pass fits every series

    window: int = 28
    name: str = "moving_average"

    def fit(self, history: Panel) -> FittedBaseline:
        return FittedBaseline(
            self.name, history, kernels.fit_moving_average(history.values, self.window)
        )


@dataclass(frozen=True, slots=True)
class MovingMedian:
    """Flat forecast at the median of the last ``window`` periods (the MAE-optimal level)."""

    vectorised: ClassVar[bool] = True  # one NumPy pass fits every series

    window: int = 56
    name: str = "moving_median"

    def fit(self, history: Panel) -> FittedBaseline:
        return FittedBaseline(
            self.name, history, kernels.fit_moving_median(history.values, self.window)
        )


@dataclass(frozen=True, slots=True)
class ExponentialSmoothing:
    """Additive ETS(A,N,A) (ETS(A,N,N) when ``season_length`` is 1), parameters per series."""

    vectorised: ClassVar[bool] = True  # one NumPy pass fits every series

    season_length: int = 7
    alphas: tuple[float, ...] = kernels.DEFAULT_ALPHAS
    gammas: tuple[float, ...] = kernels.DEFAULT_GAMMAS
    name: str = "ets"

    def fit(self, history: Panel) -> FittedBaseline:
        state = kernels.fit_exponential_smoothing(
            history.values,
            self.season_length,
            seasonal=self.season_length > 1,
            alphas=self.alphas,
            gammas=self.gammas,
        )
        return FittedBaseline(self.name, history, state)


@dataclass(frozen=True, slots=True)
class Croston:
    """Croston's intermittent-demand method; ``sba=True`` is the Syntetos-Boylan correction."""

    vectorised: ClassVar[bool] = True  # one NumPy pass fits every series

    alpha: float = 0.1
    sba: bool = False
    name: str = "croston"

    def fit(self, history: Panel) -> FittedBaseline:
        state = kernels.fit_croston(history.values, self.alpha, sba=self.sba)
        return FittedBaseline(self.name, history, state)


@dataclass(frozen=True, slots=True)
class TSB:
    """Teunter-Syntetos-Babai intermittent-demand method (decays when demand stops)."""

    vectorised: ClassVar[bool] = True  # one NumPy pass fits every series

    alpha: float = 0.1
    beta: float = 0.1
    name: str = "tsb"

    def fit(self, history: Panel) -> FittedBaseline:
        state = kernels.fit_tsb(history.values, self.alpha, self.beta)
        return FittedBaseline(self.name, history, state)
