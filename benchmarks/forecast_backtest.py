"""Forecast backtest on real retail sales (CDNOW, shipped inside the ``lifetimes`` wheel).

Prints two markdown tables:

1. accuracy and timing of Prophet, the fast baselines and the ensembles on ``--panels`` daily
   series of CDs sold (rolling origin, ``--folds`` x ``--horizon`` days, 80% intervals); the
   wall time is the median of ``--repeats`` runs of each model's backtest;
2. batch scale: the fast models on ``--many`` intermittent series (the same customers dealt
   into many small panels), with one worker process and with all cores.

MASE/RMSSE are scaled by the lag-7 (weekly) naive. statsforecast's AutoETS and AutoARIMA (one fit
per series, slow) run once each; ``--no-stats`` skips them.

Run: ``.venv/bin/python benchmarks/forecast_backtest.py`` (about 5-10 minutes on 2 cores);
``--no-prophet`` skips the slow Prophet rows.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from policies.forecasting import (
    Ensemble,
    Forecaster,
    Panel,
    ProphetForecaster,
    backtest,
    default_n_jobs,
    make_models,
)
from policies.forecasting.datasets import cdnow_daily_sales

FAST = [
    "seasonal_naive", "moving_average", "ses", "ets", "croston", "sba", "tsb", "lightgbm",
    "ensemble",
]  # fmt: skip
PER_SERIES = ["auto_ets", "auto_arima"]  # statsforecast, one fit per series: run once


def load(panels: int) -> Panel:
    df = cdnow_daily_sales(panels)
    return Panel.from_long(df, id_col="series_id", date_col="date", value_col="units")


def timed_backtest(
    panel: Panel, model: Forecaster, args: argparse.Namespace, n_jobs: int
) -> tuple[dict[str, float], float]:
    walls = []
    row: dict[str, float] = {}
    repeats = 1 if model.name in PER_SERIES else args.repeats
    for _ in range(repeats):
        start = time.perf_counter()
        result = backtest(
            panel, [model], horizon=args.horizon, folds=args.folds, n_jobs=n_jobs, scale_lag=7
        )
        walls.append(time.perf_counter() - start)
        row = result.summary().iloc[0].to_dict()
    return row, statistics.median(walls)


def accuracy_table(args: argparse.Namespace, n_jobs: int) -> None:
    panel = load(args.panels)
    models = make_models(FAST, horizon=args.horizon)
    if not args.no_stats:
        models += make_models(PER_SERIES, horizon=args.horizon)
    if not args.no_prophet:
        prophet = ProphetForecaster()
        fast = make_models(["ets", "moving_average"])
        models.append(prophet)
        models.append(Ensemble((prophet, *fast), name="ensemble+prophet"))
    print(
        f"\nCDNOW daily CDs sold: {panel.n_series} panels x {panel.n_periods} days "
        f"(1997-04-01..1998-06-30), {args.folds} folds x {args.horizon} days, 80% intervals, "
        f"n_jobs={n_jobs}, median of {args.repeats} runs\n"
    )
    print("| model | MASE | RMSSE | bias (scaled) | pbias | coverage (80%) | wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for model in models:
        row, wall = timed_backtest(panel, model, args, n_jobs)
        rows.append((row, wall))
    for row, wall in sorted(rows, key=lambda r: r[0]["mase"]):
        print(
            f"| {row['model']} | {row['mase']:.3f} | {row['rmsse']:.3f} | {row['bias']:+.3f} "
            f"| {row['pbias']:+.3f} | {row['coverage']:.3f} | {wall:.2f} |"
        )


def scale_table(args: argparse.Namespace, n_jobs: int) -> None:
    panel = load(args.many)
    zero_share = float((panel.values == 0).mean())
    print(
        f"\nBatch scale: {panel.n_series} CDNOW panels x {panel.n_periods} days "
        f"({zero_share:.0%} zero days), {args.folds} folds x {args.horizon} days, "
        f"median of {args.repeats} runs\n"
    )
    print(
        "| model | MASE | RMSSE | coverage (80%) | wall s, 1 process | "
        f"wall s, {n_jobs} processes |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for model in make_models(["seasonal_naive", "ets", "croston", "tsb", "lightgbm"]):
        row, one = timed_backtest(panel, model, args, 1)
        _, many = timed_backtest(panel, model, args, n_jobs)
        print(
            f"| {row['model']} | {row['mase']:.3f} | {row['rmsse']:.3f} | {row['coverage']:.3f} "
            f"| {one:.2f} | {many:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=20, help="series in the accuracy table")
    parser.add_argument("--many", type=int, default=2000, help="series in the scale table")
    parser.add_argument("--horizon", type=int, default=14)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=0, help="0: all cores")
    parser.add_argument("--no-prophet", action="store_true")
    parser.add_argument("--no-stats", action="store_true", help="skip AutoETS and AutoARIMA")
    args = parser.parse_args()
    n_jobs = args.n_jobs or default_n_jobs()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    accuracy_table(args, n_jobs)
    scale_table(args, n_jobs)


if __name__ == "__main__":
    main()
