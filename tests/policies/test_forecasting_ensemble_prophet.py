"""The ensemble's combination rules (with fake members) and Prophet on known structure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pytest

from policies.forecasting import (
    Ensemble,
    Forecast,
    Forecaster,
    ForecastingError,
    Panel,
    ProphetForecaster,
)
from policies.forecasting.base import normal_forecast


@dataclass(frozen=True)
class ConstantModel:
    """A fake forecaster: always ``value`` with std ``spread``."""

    value: float
    spread: float = 1.0
    name: str = "constant"

    def fit(self, history: Panel) -> _FittedConstant:
        return _FittedConstant(self, history)


@dataclass(frozen=True)
class _FittedConstant:
    model: ConstantModel
    history: Panel

    def predict(
        self,
        horizon: int,
        *,
        level: float = 0.8,
        future_regressors: Mapping[str, np.ndarray] | None = None,
    ) -> Forecast:
        shape = (self.history.n_series, horizon)
        return normal_forecast(
            self.model.name,
            self.history,
            np.full(shape, self.model.value),
            np.full(shape, self.model.spread),
            level,
        )


def members(*values: float) -> tuple[Forecaster, ...]:
    return tuple(ConstantModel(v, name=f"c{v}") for v in values)


def test_median_ensemble_takes_the_middle_member() -> None:
    panel = Panel.from_arrays(np.ones((2, 30)))
    fc = Ensemble(members(1.0, 2.0, 10.0)).fit(panel).predict(4)
    assert np.all(fc.mean == 2.0)
    assert fc.model == "ensemble" and fc.ids == panel.ids


def test_mean_ensemble_averages_members() -> None:
    panel = Panel.from_arrays(np.ones((1, 30)))
    fc = Ensemble(members(1.0, 2.0, 10.0), combine="mean").fit(panel).predict(2)
    assert fc.mean[0] == pytest.approx([13 / 3, 13 / 3])


def test_inverse_error_ensemble_weights_by_validation_accuracy() -> None:
    # validation actuals are 4: errors 1 (value 3) and 4 (value 8) -> weights 0.8, 0.2
    panel = Panel.from_arrays(np.full((1, 40), 4.0))
    fitted = Ensemble(members(3.0, 8.0), combine="inverse_error", validation_horizon=7).fit(panel)
    assert fitted.weights is not None
    assert fitted.weights[:, 0] == pytest.approx([0.8, 0.2])
    assert fitted.predict(3).mean[0] == pytest.approx([0.8 * 3 + 0.2 * 8] * 3)


def test_empty_ensemble_and_bad_rule_are_refused() -> None:
    with pytest.raises(ForecastingError, match="members"):
        Ensemble(())
    with pytest.raises(ForecastingError, match="combine='vote'"):
        Ensemble(members(1.0), combine="vote")  # type: ignore[arg-type]


def promo_series(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n)
    promo = (rng.random(n) < 0.15).astype(float)
    weekly = np.array([0.0, -3.0, -2.0, -1.0, 1.0, 4.0, 6.0])[t % 7]
    y = 30.0 + weekly + 15.0 * promo + rng.normal(0.0, 1.0, n)
    return y, promo


def test_prophet_learns_weekly_pattern_and_promotion_effect() -> None:
    rng = np.random.default_rng(2024)
    y, promo = promo_series(300 + 28, rng)
    panel = Panel.from_arrays(
        y[None, :300], start="2023-01-02", regressors={"promo": promo[None, :300]}
    )
    future = {"promo": promo[None, 300:]}
    truth = y[300:]
    with_promo = (
        ProphetForecaster(holidays_country=None).fit(panel).predict(28, future_regressors=future)
    )
    without = ProphetForecaster(holidays_country=None, regressors=()).fit(panel).predict(28)
    mae_with = np.mean(np.abs(with_promo.mean[0] - truth))
    mae_without = np.mean(np.abs(without.mean[0] - truth))
    assert mae_with < 1.5  # noise sd 1: MAE of a perfect mean is about 0.8
    assert mae_without > 2 * mae_with
    assert 0.5 < with_promo.std[0, 0] < 2.0
    assert np.all(with_promo.lower <= with_promo.upper)


def test_prophet_needs_future_values_of_its_regressors() -> None:
    rng = np.random.default_rng(1)
    y, promo = promo_series(60, rng)
    panel = Panel.from_arrays(y[None, :], regressors={"promo": promo[None, :]})
    with pytest.raises(ForecastingError, match="regressors"):
        ProphetForecaster(regressors=("price",)).fit(panel)
    fitted = ProphetForecaster(yearly=False, holidays_country="US").fit(panel)
    with pytest.raises(ForecastingError, match="future_regressors"):
        fitted.predict(7)
