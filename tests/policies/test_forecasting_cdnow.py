"""Forecasting real retail sales: the CDNOW transactions shipped inside the lifetimes wheel."""

from __future__ import annotations

import numpy as np
import pytest

from policies.forecasting import Panel, backtest, make_models
from policies.forecasting.datasets import cdnow_daily_sales, load_cdnow_transactions


@pytest.fixture(scope="module")
def cdnow_panel() -> Panel:
    df = cdnow_daily_sales(20)
    return Panel.from_long(df, id_col="series_id", date_col="date", value_col="units")


def test_cdnow_transactions_are_the_published_dataset() -> None:
    tx = load_cdnow_transactions()
    assert len(tx) == 69_659
    assert tx["customer_id"].nunique() == 23_570
    assert str(tx["date"].min().date()) == "1997-01-01"
    assert str(tx["date"].max().date()) == "1998-06-30"


def test_daily_panels_partition_every_sale(cdnow_panel: Panel) -> None:
    tx = load_cdnow_transactions()
    kept = tx[tx["date"] >= "1997-04-01"]["cds"].sum()
    assert cdnow_panel.n_series == 20
    assert cdnow_panel.n_periods == 456  # 1997-04-01 .. 1998-06-30
    assert np.nansum(cdnow_panel.values) == kept


def test_weekly_panels_keep_whole_weeks_only() -> None:
    weekly = cdnow_daily_sales(5, freq="W-SUN")
    dates = weekly["date"].drop_duplicates()
    # 1997-04-01 is a Tuesday: the week ending Sunday 6 April is partial and dropped
    assert dates.min().strftime("%Y-%m-%d") == "1997-04-13"
    assert dates.max().strftime("%Y-%m-%d") == "1998-06-28"


@pytest.mark.slow
def test_ensemble_beats_seasonal_naive_on_real_sales(cdnow_panel: Panel) -> None:
    result = backtest(cdnow_panel, make_models(["seasonal_naive", "ensemble"]), horizon=14, folds=4)
    summary = result.summary().set_index("model")
    assert summary.loc["ensemble", "n_series"] == 20
    assert summary.loc["ensemble", "mase"] < 0.9 * summary.loc["seasonal_naive", "mase"]
    assert summary.loc["ensemble", "rmsse"] < summary.loc["seasonal_naive", "rmsse"]
    # the 80% intervals cover at least 70% and not everything
    assert 0.7 <= summary.loc["ensemble", "coverage"] <= 0.95


def test_prophet_beats_seasonal_naive_on_one_real_series(cdnow_panel: Panel) -> None:
    result = backtest(
        cdnow_panel.select([0]), make_models(["seasonal_naive", "prophet"]), horizon=14, folds=2
    )
    summary = result.summary().set_index("model")
    assert summary.loc["prophet", "mase"] < summary.loc["seasonal_naive", "mase"]
