"""Input that never misleads: strict dates, reported gaps, closed days, seasonal scaling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from policies.forecasting import ForecastingError, Panel, backtest, make_models
from policies.forecasting.panel import parse_dates
from shopsphere_cli.main import app


def weekly_table(fmt: str) -> pd.DataFrame:
    """Weekly sales of two stores for 30 weeks, dates written with ``fmt``."""
    dates = pd.date_range("2012-01-06", periods=30, freq="W-FRI")
    rows = [
        {"store": s, "date": d.strftime(fmt), "sales": 100 + 10 * s + (i % 4)}
        for s in (1, 2)
        for i, d in enumerate(dates)
    ]
    return pd.DataFrame(rows)


def test_ddmmyy_dates_are_read_day_first_when_only_that_fits() -> None:
    df = weekly_table("%d/%m/%y")  # has days > 12, so only day-first fits every row
    panel = Panel.from_long(df, id_col="store", date_col="date", value_col="sales")
    assert panel.n_periods == 30
    assert panel.step == np.timedelta64(7, "D")
    assert panel.gaps == 0
    assert pd.Timestamp(panel.dates[0]) == pd.Timestamp("2012-01-06")


def test_ambiguous_dates_are_refused_with_the_formats_that_fit() -> None:
    col = pd.Series(["05/02/12", "06/02/12", "07/02/12"])
    with pytest.raises(ForecastingError, match=r"ambiguous.*%d/%m/%y.*%m/%d/%y|ambiguous"):
        parse_dates(col, None)
    parsed = parse_dates(col, "%d/%m/%y")
    assert parsed.iloc[0] == pd.Timestamp("2012-02-05")


def test_a_date_that_does_not_match_the_given_format_is_named() -> None:
    with pytest.raises(ForecastingError, match="2012-13-01"):
        parse_dates(pd.Series(["2012-01-01", "2012-13-01"]), "%Y-%m-%d")


def test_month_first_misreading_shows_up_as_reported_gaps_not_silent_zeros() -> None:
    # Forcing month-first on day-first data scatters the weeks over the year: the grid is daily
    # and mostly empty, and the panel refuses it instead of filling thousands of zeros.
    df = weekly_table("%m/%d/%y")
    df["date"] = pd.to_datetime(df["date"], format="%m/%d/%y").dt.strftime("%d/%m/%y")
    df = df[pd.to_datetime(df["date"], format="%m/%d/%y", errors="coerce").notna()]
    with pytest.raises(ForecastingError, match=r"regular grid.*--date-format"):
        Panel.from_long(
            df, id_col="store", date_col="date", value_col="sales", date_format="%m/%d/%y"
        )
    with pytest.raises(ForecastingError, match=r"gaps.*--fill zero.*--date-format"):
        Panel.from_long(
            df,
            id_col="store",
            date_col="date",
            value_col="sales",
            date_format="%m/%d/%y",
            freq="D",
        )


def test_gaps_are_counted_and_filled_only_as_asked() -> None:
    df = pd.DataFrame(
        {"id": ["a"] * 4, "date": ["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05"],
         "y": [3, 4, 5, 6]}
    )  # fmt: skip
    with pytest.raises(ForecastingError, match=r"1 gaps.*series 'a' on 2024-01-03"):
        Panel.from_long(df, id_col="id", date_col="date", value_col="y")
    zero = Panel.from_long(df, id_col="id", date_col="date", value_col="y", fill="zero")
    nan = Panel.from_long(df, id_col="id", date_col="date", value_col="y", fill="nan")
    assert zero.gaps == nan.gaps == 1
    assert zero.values[0, 2] == 0.0 and np.isnan(nan.values[0, 2])
    with pytest.raises(ForecastingError, match="fill='maybe'"):
        Panel.from_long(df, id_col="id", date_col="date", value_col="y", fill="maybe")


def test_a_given_freq_is_checked_against_the_dates() -> None:
    df = weekly_table("%Y-%m-%d")
    with pytest.raises(ForecastingError, match="not on the 'W-SUN' grid"):
        Panel.from_long(df, id_col="store", date_col="date", value_col="sales", freq="W-SUN")


def closed_sunday_table(weeks: int = 16) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    dates = pd.date_range("2024-01-01", periods=7 * weeks, freq="D")  # starts on a Monday
    sunday = (dates.dayofweek == 6).astype(int)
    demand = rng.poisson(40, size=len(dates)) * (1 - sunday)
    return pd.DataFrame({"id": "s1", "date": dates, "units": demand, "closed": sunday})


def test_closed_days_are_forecast_as_zero_and_not_scored() -> None:
    df = closed_sunday_table()
    panel = Panel.from_long(
        df, id_col="id", date_col="date", value_col="units", closed_col="closed"
    )
    assert panel.closed is not None and int(panel.closed.sum()) == 16
    masked = backtest(panel, make_models(["moving_average"], window=7), horizon=7, folds=3,
                      scale_lag=7)  # fmt: skip
    blind = backtest(
        Panel.from_long(df, id_col="id", date_col="date", value_col="units"),
        make_models(["moving_average"], window=7),
        horizon=7,
        folds=3,
        scale_lag=7,
    )
    # Without the mask the moving average spreads Sunday's zeros over the week and is scored
    # on Sundays; with it the model learns open-day demand.
    assert masked.summary()["wape"].iloc[0] < blind.summary()["wape"].iloc[0]
    fitted = panel.open_values(7)
    assert np.all(fitted[0, panel.closed[0]] > 0)


def test_mase_is_scaled_by_the_season_by_default_on_the_cli(tmp_path: Path) -> None:
    df = closed_sunday_table()
    data = tmp_path / "sales.csv"
    df.to_csv(data, index=False)
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["forecast", "backtest", str(data), "--id-col", "id", "--value-col", "units",
         "--closed", "closed", "--models", "seasonal_naive,moving_average", "--n-jobs", "1",
         "--horizon", "7", "--folds", "2"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "lag-7 naive" in res.output
    assert "wall s" in res.output and "cpu s" in res.output
    assert "16 closed days masked" in res.output


def test_cli_refuses_ambiguous_dates_with_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "sales.csv"
    pd.DataFrame({"series_id": "a", "date": ["05/02/12", "06/02/12"], "units": [1, 2]}).to_csv(
        data, index=False
    )
    res = CliRunner().invoke(app, ["forecast", "backtest", str(data)])
    assert res.exit_code == 2
    assert "ambiguous" in res.output and "--date-format" in res.output
