"""Regressors reach every model that claims to use them (fit and predict), and the new models."""

from __future__ import annotations

import numpy as np
import pytest

from policies.forecasting import (
    REGRESSOR_MODELS,
    ForecastingError,
    LightGBMForecaster,
    Panel,
    StatsForecastModel,
    make_model,
)

T = 150
H = 7


def promo_panel(n: int = 3) -> tuple[Panel, np.ndarray]:
    """Daily series that sell 10 more units on promotion days; the promotion's future plan."""
    rng = np.random.default_rng(5)
    week = np.array([5.0, 1.0, 2.0, 3.0, 4.0, 8.0, 9.0])
    promo = (rng.random((n, T + H)) < 0.25).astype(float)
    y = 20.0 + week[np.arange(T + H) % 7] + 10.0 * promo + rng.normal(0, 1.0, (n, T + H))
    return Panel.from_arrays(y[:, :T], regressors={"promo": promo[:, :T]}), promo[:, T:]


def shift_of(model_name: str, **kwargs: object) -> float:
    """Mean change of the forecast when every future day is a promotion instead of none."""
    panel, _ = promo_panel()
    fitted = make_model(model_name, horizon=H, **kwargs).fit(panel)  # type: ignore[arg-type]
    on = fitted.predict(H, future_regressors={"promo": np.ones((3, H))}).mean
    off = fitted.predict(H, future_regressors={"promo": np.zeros((3, H))}).mean
    return float(np.mean(on - off))


def test_regressor_models_are_the_documented_ones() -> None:
    assert set(REGRESSOR_MODELS) == {"prophet", "auto_arima", "lightgbm"}


def test_lightgbm_forecast_rises_with_a_planned_promotion() -> None:
    assert shift_of("lightgbm") > 5.0


@pytest.mark.slow
def test_auto_arima_forecast_rises_with_a_planned_promotion() -> None:
    assert shift_of("auto_arima") == pytest.approx(10.0, abs=1.5)


def test_ensemble_with_a_regressor_member_passes_regressors_on() -> None:
    members = ("lightgbm", "moving_average")
    assert shift_of("ensemble", ensemble_members=members) > 1.0


def test_lightgbm_is_deterministic_and_learns_the_weekly_pattern() -> None:
    panel, plan = promo_panel()
    a = LightGBMForecaster(max_horizon=H).fit(panel).predict(H, future_regressors={"promo": plan})
    b = LightGBMForecaster(max_horizon=H).fit(panel).predict(H, future_regressors={"promo": plan})
    assert np.array_equal(a.mean, b.mean)
    assert np.all(a.lower <= a.mean) and np.all(a.mean <= a.upper)
    assert a.dates[0] == panel.dates[-1] + np.timedelta64(1, "D")


def test_models_with_regressors_refuse_a_missing_future_plan() -> None:
    panel, _ = promo_panel()
    fitted = LightGBMForecaster(max_horizon=H).fit(panel)
    with pytest.raises(ForecastingError, match="promo"):
        fitted.predict(H)
    with pytest.raises(ForecastingError, match="max_horizon"):
        fitted.predict(H + 1, future_regressors={"promo": np.zeros((3, H + 1))})


def test_auto_ets_follows_a_weekly_pattern() -> None:
    week = np.array([5.0, 1.0, 2.0, 3.0, 4.0, 8.0, 9.0])
    rng = np.random.default_rng(2)
    y = 30.0 + week[np.arange(70) % 7] + rng.normal(0, 0.1, 70)
    fc = StatsForecastModel("auto_ets", 7).fit(Panel.from_arrays(y[None, :63])).predict(7)
    assert fc.mean[0] == pytest.approx(y[63:], abs=1.0)


def test_statsforecast_model_refuses_an_unknown_kind_and_regressor() -> None:
    with pytest.raises(ForecastingError, match="kind"):
        StatsForecastModel("theta", 7)  # type: ignore[arg-type]
    panel, _ = promo_panel()
    with pytest.raises(ForecastingError, match="price"):
        StatsForecastModel("auto_arima", 7, regressors=("price",)).fit(panel)
