"""Rolling-origin folds, the backtest harness and building panels from long tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from policies.forecasting import (
    Fold,
    Forecast,
    ForecastingError,
    Panel,
    SeasonalNaive,
    backtest,
    forecast_batch,
    make_models,
    metrics,
    rolling_origin_folds,
)
from policies.forecasting.base import normal_forecast


def test_folds_are_horizon_apart_and_end_at_the_last_period() -> None:
    assert rolling_origin_folds(100, 14, 4) == (
        Fold(0, 44, 58),
        Fold(1, 58, 72),
        Fold(2, 72, 86),
        Fold(3, 86, 100),
    )


def test_folds_with_a_shorter_step_overlap() -> None:
    assert rolling_origin_folds(100, 14, 3, step=7) == (
        Fold(0, 72, 86),
        Fold(1, 79, 93),
        Fold(2, 86, 100),
    )


def test_too_many_folds_is_refused_with_the_numbers() -> None:
    with pytest.raises(ForecastingError, match="folds=10"):
        rolling_origin_folds(50, 7, 10)


@dataclass(frozen=True)
class LinearExtrapolation:
    """A fake that continues ``last + slope * j`` and records the training lengths it saw."""

    seen: list[int]
    name: str = "linear"

    def fit(self, history: Panel) -> _FittedLinear:
        self.seen.append(history.n_periods)
        return _FittedLinear(history)


@dataclass(frozen=True)
class _FittedLinear:
    history: Panel

    def predict(
        self,
        horizon: int,
        *,
        level: float = 0.8,
        future_regressors: Mapping[str, np.ndarray] | None = None,
    ) -> Forecast:
        v = self.history.values
        slope = v[:, -1] - v[:, -2]
        mean = v[:, -1:] + slope[:, None] * np.arange(1, horizon + 1)
        return normal_forecast("linear", self.history, mean, np.full_like(mean, 0.1), level)


def test_backtest_trains_on_each_fold_prefix_and_scores_the_next_window() -> None:
    # series i is i + 2t: linear extrapolation is exact only on the exact test window
    t = np.arange(60.0)
    panel = Panel.from_arrays(np.vstack([i + 2 * t for i in range(3)]))
    seen: list[int] = []
    result = backtest(panel, [LinearExtrapolation(seen)], horizon=7, folds=3, n_chunks=1)
    assert seen == [39, 46, 53]
    assert np.all(result.per_fold["mase"] == 0.0)
    assert np.all(result.per_fold["coverage"] == 1.0)
    assert list(result.per_fold["train_end_date"].unique()) == list(panel.dates[[38, 45, 52]])


def test_backtest_metrics_equal_a_direct_computation() -> None:
    rng = np.random.default_rng(9)
    panel = Panel.from_arrays(rng.poisson(6.0, size=(4, 80)).astype(float))
    result = backtest(panel, [SeasonalNaive(7)], horizon=10, folds=2)
    train, test = panel.values[:, :70], panel.values[:, 70:80]
    fc = SeasonalNaive(7).fit(panel.slice_time(0, 70)).predict(10)
    last = result.per_fold[result.per_fold["fold"] == 1]
    assert last["mase"].to_numpy() == pytest.approx(metrics.mase(test, fc.mean, train))
    assert last["rmsse"].to_numpy() == pytest.approx(metrics.rmsse(test, fc.mean, train))
    summary = result.summary()
    assert summary.loc[0, "mase"] == pytest.approx(result.per_series()["mase"].mean())
    assert summary.loc[0, "n_series"] == 4


@pytest.mark.slow
def test_two_processes_give_the_same_result_as_one() -> None:
    rng = np.random.default_rng(4)
    panel = Panel.from_arrays(rng.poisson(3.0, size=(12, 90)).astype(float))
    models = make_models(["seasonal_naive", "ets", "tsb", "ensemble"])
    one = backtest(panel, models, horizon=7, folds=2, n_jobs=1)
    two = backtest(panel, models, horizon=7, folds=2, n_jobs=2, n_chunks=3)
    pd.testing.assert_frame_equal(one.per_fold, two.per_fold)
    batch = forecast_batch(panel, models[1], 7, n_jobs=2, n_chunks=3)
    direct = models[1].fit(panel).predict(7)
    assert batch.ids == panel.ids
    assert np.array_equal(batch.mean, direct.mean)


def test_duplicate_model_names_are_refused() -> None:
    panel = Panel.from_arrays(np.ones((1, 40)))
    with pytest.raises(ForecastingError, match="models"):
        backtest(panel, [SeasonalNaive(), SeasonalNaive()], horizon=7, folds=1)


def long_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": ["a", "a", "a", "b", "b", "b"],
            "store": ["s1"] * 6,
            "day": [
                "2024-01-01",
                "2024-01-03",
                "2024-01-03",
                "2024-01-02",
                "2024-01-03",
                "2024-01-04",
            ],
            "units": [1, 2, 3, 5, 0, 7],
            "price": [10.0, 11.0, 13.0, 20.0, None, 22.0],
        }
    )


def test_from_long_fills_gaps_with_zero_after_start_and_nan_before() -> None:
    panel = Panel.from_long(
        long_table(),
        id_col=["sku", "store"],
        date_col="day",
        value_col="units",
        regressors=["price"],
        fill="zero",
    )
    assert panel.gaps == 2
    assert panel.ids == ("a/s1", "b/s1")
    assert panel.dates[0] == np.datetime64("2024-01-01")
    np.testing.assert_array_equal(panel.values[0], [1.0, 0.0, 5.0, 0.0])  # duplicates summed
    np.testing.assert_array_equal(panel.values[1], [np.nan, 5.0, 0.0, 7.0])
    # price: duplicates averaged, gaps carried forward, leading gap carried back
    np.testing.assert_array_equal(panel.regressors["price"][0], [10.0, 10.0, 12.0, 12.0])
    np.testing.assert_array_equal(panel.regressors["price"][1], [20.0, 20.0, 20.0, 22.0])
    back = panel.to_long()
    assert len(back) == 7 and back["value"].sum() == 18.0


def test_from_long_names_the_bad_column_or_value() -> None:
    df = long_table()
    with pytest.raises(ForecastingError, match="column='qty'"):
        Panel.from_long(df, id_col="sku", date_col="day", value_col="qty")
    df["units"] = df["units"].astype(object)
    df.loc[2, "units"] = "lots"
    with pytest.raises(ForecastingError, match="units='lots'"):
        Panel.from_long(df, id_col="sku", date_col="day", value_col="units")


def test_from_long_refuses_dates_off_a_regular_grid() -> None:
    df = pd.DataFrame({"id": "x", "date": ["2024-01-01", "2024-01-03", "2024-01-06"], "y": 1})
    with pytest.raises(ForecastingError, match="regular grid"):
        Panel.from_long(df, id_col="id", date_col="date", value_col="y")


def test_integer_day_numbers_become_daily_dates() -> None:
    df = pd.DataFrame({"location": ["s1"] * 3, "day": [0, 1, 2], "demand_units": [4, 5, 6]})
    panel = Panel.from_long(
        df, id_col="location", date_col="day", value_col="demand_units", day_origin="2025-01-06"
    )
    assert list(panel.dates) == list(pd.date_range("2025-01-06", periods=3).to_numpy())
    assert panel.step == np.timedelta64(1, "D")
