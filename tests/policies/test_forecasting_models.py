"""Each baseline model on synthetic series whose right forecast is known."""

from __future__ import annotations

import numpy as np
import pytest

from policies.forecasting import (
    MODEL_NAMES,
    TSB,
    Croston,
    ExponentialSmoothing,
    ForecastingError,
    MovingAverage,
    Panel,
    SeasonalNaive,
    forecast_arrays,
    kernels,
    make_model,
)

WEEK = np.array([5.0, 1.0, 2.0, 3.0, 4.0, 8.0, 9.0])


def weekly(n_periods: int, level: float = 0.0) -> np.ndarray:
    return level + WEEK[np.arange(n_periods) % 7]


def test_seasonal_naive_is_exact_on_a_pure_weekly_pattern() -> None:
    history = Panel.from_arrays(weekly(59)[None, :])
    fc = SeasonalNaive(7).fit(history).predict(14, level=0.9)
    expected = weekly(59 + 14)[59:]
    assert np.array_equal(fc.mean[0], expected)
    assert np.array_equal(fc.lower, fc.mean) and np.array_equal(fc.upper, fc.mean)
    assert fc.dates[0] == history.dates[-1] + np.timedelta64(1, "D")


def test_seasonal_naive_std_grows_with_each_season_ahead() -> None:
    rng = np.random.default_rng(3)
    values = weekly(70) + rng.normal(0, 1, 70)
    state = kernels.fit_seasonal_naive(values, 7)
    _, std = state.forecast(15)
    assert std[0, 6] == pytest.approx(std[0, 0])
    assert std[0, 7] == pytest.approx(std[0, 0] * np.sqrt(2))
    assert std[0, 14] == pytest.approx(std[0, 0] * np.sqrt(3))


def test_moving_average_is_the_mean_of_the_last_window() -> None:
    history = Panel.from_arrays(np.array([[9.0, 9.0, 1.0, 2.0, 3.0, 4.0]]))
    fc = MovingAverage(window=4).fit(history).predict(3)
    assert fc.mean[0] == pytest.approx([2.5, 2.5, 2.5])


def test_ets_is_exact_on_level_plus_weekly_pattern() -> None:
    values = weekly(100, level=20.0)
    fc = ExponentialSmoothing(7).fit(Panel.from_arrays(values[None, :])).predict(10)
    assert fc.mean[0] == pytest.approx(weekly(110, level=20.0)[100:], abs=1e-9)
    assert fc.std[0] == pytest.approx(np.zeros(10), abs=1e-9)


def test_ets_picks_fast_smoothing_for_a_random_walk_and_slow_for_noise() -> None:
    rng = np.random.default_rng(7)
    walk = 100 + np.cumsum(rng.normal(0, 1, 400))
    noise = 100 + rng.normal(0, 1, 400)
    state = kernels.fit_exponential_smoothing(np.vstack([walk, noise]), 1, seasonal=False)
    alpha = np.sqrt(state.var_step)
    assert alpha[0] >= 0.5
    assert alpha[1] <= 0.1
    # h-step variance of SES: sigma^2 (1 + (h-1) alpha^2)
    _, std = state.forecast(5)
    assert std[0, 4] == pytest.approx(state.sigma[0] * np.sqrt(1 + 4 * alpha[0] ** 2))


def test_ets_follows_a_level_shift() -> None:
    values = np.concatenate([np.full(150, 10.0), np.full(60, 30.0)])
    values += weekly(210) - WEEK.mean()
    fc = ExponentialSmoothing(7).fit(Panel.from_arrays(values[None, :])).predict(7)
    assert np.mean(fc.mean) == pytest.approx(30.0, abs=0.5)


def test_croston_smooths_sizes_and_intervals_at_demands() -> None:
    values = np.array([[0.0, 0.0, 3.0, 0.0, 5.0, 0.0, 0.0, 0.0]])
    # first demand at period 3: z=3, p=3; then size 5 after 2 periods: z=3.2, p=2.9
    croston = Croston(alpha=0.1).fit(Panel.from_arrays(values)).predict(2)
    assert croston.mean[0] == pytest.approx([3.2 / 2.9] * 2)
    sba = Croston(alpha=0.1, sba=True).fit(Panel.from_arrays(values)).predict(1)
    assert sba.mean[0, 0] == pytest.approx(0.95 * 3.2 / 2.9)


def test_tsb_updates_probability_every_period() -> None:
    values = np.array([[0.0, 4.0, 0.0, 0.0]])
    # d: 0.25 -> 0.125 -> 0.5625 -> 0.28125 -> 0.140625; z stays 4
    fc = TSB(alpha=0.5, beta=0.5).fit(Panel.from_arrays(values)).predict(1)
    assert fc.mean[0, 0] == pytest.approx(0.140625 * 4)


def test_tsb_decays_when_demand_stops_but_croston_does_not() -> None:
    values = np.concatenate([np.tile([0.0, 2.0], 30), np.zeros(60)])[None, :]
    panel = Panel.from_arrays(values)
    assert TSB().fit(panel).predict(1).mean[0, 0] < 0.01
    assert Croston().fit(panel).predict(1).mean[0, 0] == pytest.approx(1.0, rel=0.05)


def test_series_that_start_late_are_forecast_from_their_own_data() -> None:
    late = np.full(60, np.nan)
    late[-21:] = weekly(60)[-21:]
    panel = Panel.from_arrays(np.vstack([weekly(60), late]))
    for model in (SeasonalNaive(7), ExponentialSmoothing(7)):
        fc = model.fit(panel).predict(7)
        assert fc.mean[1] == pytest.approx(fc.mean[0], abs=1e-9), model.name
        assert np.all(np.isfinite(fc.std))


def test_forecast_arrays_is_vectorised_and_matches_single_series() -> None:
    rng = np.random.default_rng(11)
    history = rng.poisson(5.0, size=(50, 120)).astype(float)
    for method in kernels.BASELINE_METHODS:
        mean, std = forecast_arrays(history, 4, method=method)
        assert mean.shape == std.shape == (50, 4)
        one_mean, one_std = forecast_arrays(history[7], 4, method=method)
        assert one_mean[0] == pytest.approx(mean[7])
        assert one_std[0] == pytest.approx(std[7])
        assert np.all(mean >= 0) and np.all(std >= 0)


def test_unknown_method_and_bad_horizon_are_named() -> None:
    with pytest.raises(ForecastingError, match="method='arima'"):
        forecast_arrays(np.ones((1, 10)), 3, method="arima")
    with pytest.raises(ForecastingError, match="horizon=0"):
        forecast_arrays(np.ones((1, 10)), 0)
    with pytest.raises(ForecastingError, match="model='lstm'"):
        make_model("lstm")


def test_intervals_widen_with_level_and_contain_the_mean() -> None:
    rng = np.random.default_rng(5)
    panel = Panel.from_arrays(weekly(84, 20.0) + rng.normal(0, 2, 84))
    fitted = ExponentialSmoothing(7).fit(panel)
    narrow, wide = fitted.predict(7, level=0.5), fitted.predict(7, level=0.95)
    assert np.all(wide.lower < narrow.lower) and np.all(wide.upper > narrow.upper)
    assert np.all(narrow.lower <= narrow.mean) and np.all(narrow.mean <= narrow.upper)


def test_every_model_name_is_in_the_policy_registry() -> None:
    from policies.registry import PolicyError, available, create

    assert set(available("forecasting")["forecasting"]) >= set(MODEL_NAMES)
    model = create("forecasting", "ensemble", {"ensemble_members": ["ets", "tsb"]})
    assert [m.name for m in model.members] == ["ets", "tsb"]
    with pytest.raises(PolicyError, match="model='x'"):
        create("forecasting", "ensemble", ensemble_members=["x"])


def test_normal_interval_half_width_is_z_times_std() -> None:
    rng = np.random.default_rng(8)
    panel = Panel.from_arrays(weekly(84, 50.0) + rng.normal(0, 2, 84))
    fc = ExponentialSmoothing(7).fit(panel).predict(7, level=0.8)
    assert fc.upper - fc.mean == pytest.approx(1.2815515655446004 * fc.std)
    assert fc.mean - fc.lower == pytest.approx(1.2815515655446004 * fc.std)
