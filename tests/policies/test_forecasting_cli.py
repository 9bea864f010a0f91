"""``shopsphere forecast``: backtest, predict and the CDNOW export from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from shopsphere_cli.main import app

runner = CliRunner()


def write_sales(path: Path) -> None:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=70, freq="D")
    rows = [
        {"sku": sku, "location": "store-1", "day": d, "qty": int(q), "promo": int(i % 10 == 0)}
        for sku in ("a", "b", "c")
        for i, (d, q) in enumerate(zip(dates, rng.poisson(4.0, 70), strict=True))
    ]
    pd.DataFrame(rows).to_csv(path, index=False)


def test_backtest_prints_a_table_and_writes_per_series_metrics(tmp_path: Path) -> None:
    data, out = tmp_path / "sales.csv", tmp_path / "report.csv"
    write_sales(data)
    result = runner.invoke(
        app,
        [
            "forecast",
            "backtest",
            str(data),
            "--id-col",
            "sku,location",
            "--date-col",
            "day",
            "--value-col",
            "qty",
            "--regressors",
            "promo",
            "--horizon",
            "7",
            "--folds",
            "2",
            "--models",
            "seasonal_naive,ets,ensemble",
            "--n-jobs",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "seasonal_naive" in result.output and "coverage" in result.output
    report = pd.read_csv(out)
    assert set(report["model"]) == {"seasonal_naive", "ets", "ensemble"}
    assert set(report["series"]) == {"a/store-1", "b/store-1", "c/store-1"}
    assert report["mase"].notna().all()


def test_backtest_names_a_missing_column_without_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "sales.csv"
    write_sales(data)
    result = runner.invoke(
        app,
        [
            "forecast",
            "backtest",
            str(data),
            "--id-col",
            "sku",
            "--date-col",
            "day",
            "--value-col",
            "units",
        ],
    )
    assert result.exit_code == 2
    assert "column='units'" in result.output
    assert "Traceback" not in result.output


def test_predict_writes_forecasts_past_the_last_date(tmp_path: Path) -> None:
    data, out = tmp_path / "sales.csv", tmp_path / "fc.csv"
    write_sales(data)
    result = runner.invoke(
        app,
        [
            "forecast",
            "predict",
            str(data),
            "--id-col",
            "sku",
            "--date-col",
            "day",
            "--value-col",
            "qty",
            "--model",
            "tsb",
            "--horizon",
            "5",
            "--n-jobs",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    fc = pd.read_csv(out, parse_dates=["day"])
    assert len(fc) == 15
    assert fc["day"].min() == pd.Timestamp("2024-03-11")  # the day after the 70th
    assert (fc["lower"] <= fc["upper"]).all()


def test_cdnow_export_round_trips_through_backtest(tmp_path: Path) -> None:
    out = tmp_path / "cdnow.parquet"
    result = runner.invoke(app, ["forecast", "cdnow", "--panels", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    df = pd.read_parquet(out)
    assert df["series_id"].nunique() == 3
    result = runner.invoke(
        app, ["forecast", "backtest", str(out), "--models", "ses", "--n-jobs", "1", "--folds", "1"]
    )
    assert result.exit_code == 0, result.output


def promo_table(path: Path, *, plan_days: int = 7) -> None:
    """Two series of 120 daily sales with a promotion lifting sales by 10, plus future rows
    (promo filled, units empty) for ``plan_days`` days; day 3 of the plan is a promotion."""
    rng = np.random.default_rng(4)
    dates = pd.date_range("2024-01-01", periods=120 + plan_days, freq="D")
    rows = []
    for sid in ("a", "b"):
        promo = (rng.random(len(dates)) < 0.25).astype(int)
        promo[120:] = 0
        promo[122] = 1
        units = 20 + 10 * promo + rng.integers(0, 3, len(dates))
        for i, d in enumerate(dates):
            unit = float(units[i]) if i < 120 else None
            rows.append({"series_id": sid, "date": d.date().isoformat(), "units": unit,
                         "promo": promo[i]})  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)


def test_predict_takes_future_regressor_values_from_rows_without_sales(tmp_path: Path) -> None:
    data, out = tmp_path / "sales.csv", tmp_path / "fc.csv"
    promo_table(data)
    result = runner.invoke(
        app,
        ["forecast", "predict", str(data), "--regressors", "promo", "--model", "lightgbm",
         "--horizon", "7", "--n-jobs", "1", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fc = pd.read_csv(out)
    assert len(fc) == 14
    a = fc[fc["series_id"] == "a"]["mean"].to_numpy()
    assert a[2] > np.delete(a, 2).max() + 3.0  # the planned promotion day


def test_predict_refuses_regressors_without_a_complete_plan(tmp_path: Path) -> None:
    data, out = tmp_path / "sales.csv", tmp_path / "fc.csv"
    promo_table(data, plan_days=3)
    result = runner.invoke(
        app,
        ["forecast", "predict", str(data), "--regressors", "promo", "--model", "lightgbm",
         "--horizon", "7", "--n-jobs", "1", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "promo" in result.output and "no planned value" in result.output
