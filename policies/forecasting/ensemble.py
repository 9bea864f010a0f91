"""A simple forecast combination: the median, mean or inverse-error weighted mean of members."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from policies.forecasting.base import FittedForecaster, Forecast, Forecaster, check_horizon_level
from policies.forecasting.errors import ForecastingError
from policies.forecasting.panel import Panel

Combine = Literal["median", "mean", "inverse_error"]


@dataclass(frozen=True, slots=True)
class Ensemble:
    """Combine member forecasts period by period.

    ``median`` and ``mean`` combine the members' means, stds and interval bounds with the same
    statistic. ``inverse_error`` weights member ``k`` for series ``i`` by ``1 / MAE_ki`` measured
    on the last ``validation_horizon`` periods of the history (members refitted without them),
    then refits every member on the full history.
    """

    members: tuple[Forecaster, ...]
    combine: Combine = "median"
    validation_horizon: int = 14
    name: str = "ensemble"

    def __post_init__(self) -> None:
        if not self.members:
            raise ForecastingError("members", self.members, "an ensemble needs at least one")
        if self.combine not in ("median", "mean", "inverse_error"):
            raise ForecastingError("combine", self.combine, "must be median, mean or inverse_error")

    @property
    def vectorised(self) -> bool:
        """True when every member fits all series in one vectorised pass."""
        return all(getattr(m, "vectorised", False) for m in self.members)

    def fit(self, history: Panel) -> FittedEnsemble:
        weights = None
        if self.combine == "inverse_error":
            weights = self._weights(history)
        fitted = tuple(m.fit(history) for m in self.members)
        return FittedEnsemble(self.name, self.combine, fitted, weights)

    def _weights(self, history: Panel) -> np.ndarray:
        v = self.validation_horizon
        t = history.n_periods
        if v < 1 or t - v < 2:
            raise ForecastingError("validation_horizon", v, f"needs 1 <= v <= {t - 2} periods")
        train = history.slice_time(0, t - v)
        actual = history.values[:, t - v :]
        future = {k: a[:, t - v :] for k, a in history.regressors.items()}
        maes = []
        for m in self.members:
            fc = m.fit(train).predict(v, future_regressors=future)
            maes.append(np.nanmean(np.abs(fc.mean - actual), axis=1))
        mae = np.nan_to_num(np.asarray(maes), nan=np.inf)
        inv = 1.0 / np.maximum(mae, 1e-9)
        total = inv.sum(axis=0, keepdims=True)
        return np.where(total > 0, inv / np.where(total > 0, total, 1.0), 1.0 / len(maes))


@dataclass(frozen=True, slots=True, eq=False)
class FittedEnsemble:
    """Fitted members plus, for ``inverse_error``, weights ``(n_members, n_series)``."""

    model: str
    combine: Combine
    members: tuple[FittedForecaster, ...]
    weights: np.ndarray | None

    def predict(
        self,
        horizon: int,
        *,
        level: float = 0.8,
        future_regressors: Mapping[str, np.ndarray] | None = None,
    ) -> Forecast:
        check_horizon_level(horizon, level)
        fcs = [
            m.predict(horizon, level=level, future_regressors=future_regressors)
            for m in self.members
        ]

        def comb(attr: str) -> np.ndarray:
            stack = np.stack([getattr(f, attr) for f in fcs])
            out: np.ndarray
            if self.combine == "median":
                out = np.median(stack, axis=0)
            elif self.combine == "mean" or self.weights is None:
                out = stack.mean(axis=0)
            else:
                out = np.einsum("kn,knh->nh", self.weights, stack)
            return out

        first = fcs[0]
        return Forecast(
            model=self.model,
            ids=first.ids,
            dates=first.dates,
            mean=comb("mean"),
            std=comb("std"),
            lower=comb("lower"),
            upper=comb("upper"),
            level=level,
        )
