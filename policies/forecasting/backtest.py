"""Rolling-origin backtests and batch forecasting over many series, on all cores.

Fold ``k`` of ``K`` trains on periods ``[0, c_k)`` and tests on ``[c_k, c_k + horizon)``, with
cutoffs ``c_k = T - horizon - (K - 1 - k) * step`` (the last fold ends at the last period).
Regressor values of the test periods are handed to the models as known future values (price and
promotion plans, holiday calendars, weather forecasts).

Series are split into chunks; each (model, chunk) pair is one task. Models run one after
another (so each gets its own wall time); a model's chunks run in a process pool when
``n_jobs > 1`` and shown with a rich progress bar when ``progress`` is set. Vectorised models
(the baselines) are split only for thousands of series; Prophet, one fit per series, is split
into chunks of at most 25 series (and at least ``4 * n_jobs`` chunks).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.context
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import numpy as np

from policies.forecasting import metrics
from policies.forecasting.base import Forecast, Forecaster, check_horizon_level
from policies.forecasting.errors import ForecastingError
from policies.forecasting.panel import Panel

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

METRICS: tuple[str, ...] = ("mase", "rmsse", "wape", "bias", "pbias", "coverage")


@dataclass(frozen=True, slots=True)
class Fold:
    """One backtest origin: train on periods ``[0, train_end)``, test ``[train_end, test_end)``."""

    index: int
    train_end: int
    test_end: int


def rolling_origin_folds(
    n_periods: int, horizon: int, folds: int, step: int | None = None, min_train: int = 2
) -> tuple[Fold, ...]:
    """The ``folds`` origins, oldest first; ``step`` (default ``horizon``) apart.

    Raises:
        ForecastingError: not enough periods for ``folds`` folds with ``min_train`` training
            periods in the first, or a non-positive horizon, folds or step.
    """
    step = horizon if step is None else step
    for name, val in (("horizon", horizon), ("folds", folds), ("step", step)):
        if val < 1:
            raise ForecastingError(name, val, "must be >= 1")
    first = n_periods - horizon - (folds - 1) * step
    if first < min_train:
        raise ForecastingError(
            "folds",
            folds,
            f"{n_periods} periods leave {first} training periods in the first fold "
            f"(need {min_train}); use fewer folds, a smaller horizon or step",
        )
    return tuple(Fold(k, first + k * step, first + k * step + horizon) for k in range(folds))


VECTORISED_CHUNK = 1000  # series per process below which a vectorised model stays in one piece
PER_SERIES_CHUNK = 25  # most series in one task of a model fitted series by series


def _chunks(n: int, n_chunks: int) -> list[np.ndarray]:
    return [c for c in np.array_split(np.arange(n), max(1, min(n, n_chunks))) if len(c)]


def _model_chunks(model: Forecaster, n: int, n_jobs: int, n_chunks: int | None) -> list[np.ndarray]:
    """Series chunks for one model: a vectorised model is split only across processes, and only
    when each gets ``VECTORISED_CHUNK`` series (smaller pieces lose more to overhead than they
    gain); a per-series model (Prophet) gets at least ``4 * n_jobs`` chunks of at most
    ``PER_SERIES_CHUNK`` series, for an even load and a progress bar that moves. A global model
    (LightGBM, or an ensemble with one) always gets every series in one task."""
    if getattr(model, "global_model", False):
        return _chunks(n, 1)  # learns across series: every series in one piece
    if n_chunks is not None:
        return _chunks(n, n_chunks)
    if getattr(model, "vectorised", False):
        return _chunks(n, min(max(1, n_jobs), max(1, n // VECTORISED_CHUNK)))
    return _chunks(n, max(4 * max(1, n_jobs), -(-n // PER_SERIES_CHUNK)))


def _backtest_task(
    panel: Panel, model: Forecaster, folds: tuple[Fold, ...], level: float, lag: int
) -> tuple[np.ndarray, float]:
    """Metrics ``(n_folds, n_series, len(METRICS))`` of one model on one chunk, and seconds."""
    out = np.full((len(folds), panel.n_series, len(METRICS)), np.nan)
    start = time.process_time()
    closed = panel.closed
    for f in folds:
        train = panel.slice_time(0, f.train_end)
        scored_history = train.values
        if closed is not None:
            # Fit on open-day demand; score without closed days (their zeros are not demand).
            scored_history = np.where(train.closed, np.nan, train.values)  # type: ignore[arg-type]
            train = Panel(
                ids=train.ids,
                dates=train.dates,
                values=train.open_values(lag),
                regressors=train.regressors,
            )
        horizon = f.test_end - f.train_end
        future = {k: v[:, f.train_end : f.test_end] for k, v in panel.regressors.items()}
        fc = model.fit(train).predict(horizon, level=level, future_regressors=future)
        mean, lower, upper = fc.mean, fc.lower, fc.upper
        actual = panel.values[:, f.train_end : f.test_end]
        if closed is not None:
            shut = closed[:, f.train_end : f.test_end]
            mean, lower, upper = (np.where(shut, 0.0, x) for x in (mean, lower, upper))
            actual = np.where(shut, np.nan, actual)
        out[f.index] = np.column_stack(
            [
                metrics.mase(actual, mean, scored_history, lag),
                metrics.rmsse(actual, mean, scored_history, lag),
                metrics.wape(actual, mean),
                metrics.scaled_bias(actual, mean, scored_history, lag),
                metrics.percent_bias(actual, mean),
                metrics.coverage(actual, lower, upper),
            ]
        )
    return out, time.process_time() - start


def _pool_context() -> multiprocessing.context.BaseContext:
    """``forkserver`` workers: forking a process whose OpenMP runtime has started (LightGBM,
    statsforecast) can deadlock the child, so workers are forked from a clean server process
    that has imported this package."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["policies.forecasting"])
    return ctx


def _run_tasks(
    tasks: list[tuple[Callable[..., object], tuple[object, ...]]],
    n_jobs: int,
    progress: bool,
    label: str,
) -> Iterator[tuple[int, object]]:
    """Yield ``(task index, result)`` as tasks finish, in processes when ``n_jobs > 1``."""
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=False)
        bar.start()
        tid = bar.add_task(label, total=len(tasks))
    try:
        if n_jobs <= 1 or len(tasks) == 1:
            for i, (fn, args) in enumerate(tasks):
                yield i, fn(*args)
                if bar is not None:
                    bar.advance(tid)
        else:
            with ProcessPoolExecutor(
                max_workers=min(n_jobs, len(tasks)), mp_context=_pool_context()
            ) as pool:
                futs = {pool.submit(fn, *args): i for i, (fn, args) in enumerate(tasks)}
                for fut in as_completed(futs):
                    yield futs[fut], fut.result()
                    if bar is not None:
                        bar.advance(tid)
    finally:
        if bar is not None:
            bar.stop()


@dataclass(frozen=True, slots=True, eq=False)
class BacktestResult:
    """Metrics of every model, series and fold.

    Attributes:
        folds: the origins used.
        level: nominal coverage of the prediction intervals.
        per_fold: long table ``model, series, fold, train_end_date, mase, rmsse, bias, pbias,
            coverage``.
        seconds: model -> fit + predict CPU seconds summed over its tasks (all workers).
        wall_seconds: model -> wall seconds of its fit + predict (models run one after another,
            each on all workers).
        total_wall_seconds: wall seconds of the whole backtest.
        scale_lag: lag of the naive forecast that scaled MASE, RMSSE and bias.
    """

    folds: tuple[Fold, ...]
    level: float
    per_fold: pd.DataFrame
    seconds: dict[str, float]
    wall_seconds: dict[str, float] = field(default_factory=dict)
    total_wall_seconds: float = float("nan")
    scale_lag: int = 1

    def per_series(self) -> pd.DataFrame:
        """Metrics per model and series, averaged over folds."""
        return (
            self.per_fold.groupby(["model", "series"], sort=False)[list(METRICS)]
            .mean()
            .reset_index()
        )

    def summary(self) -> pd.DataFrame:
        """One row per model: the mean over series of per-series metrics, sorted by MASE.

        ``n_series`` counts series with a defined MASE; ``cpu_seconds`` is the model's fit +
        predict CPU time over all workers, ``wall_seconds`` its span on the wall clock.
        """
        ps = self.per_series()
        g = ps.groupby("model", sort=False)
        out = g[list(METRICS)].mean()
        out.insert(0, "n_series", g["mase"].count())
        out["cpu_seconds"] = [self.seconds.get(m, float("nan")) for m in out.index]
        out["wall_seconds"] = [self.wall_seconds.get(m, float("nan")) for m in out.index]
        return out.sort_values("mase").reset_index()


def backtest(
    panel: Panel,
    models: Sequence[Forecaster],
    *,
    horizon: int,
    folds: int,
    step: int | None = None,
    level: float = 0.8,
    scale_lag: int = 1,
    n_jobs: int = 1,
    n_chunks: int | None = None,
    progress: bool = False,
) -> BacktestResult:
    """Rolling-origin backtest of ``models`` on every series of ``panel``.

    Args:
        panel: the history (see :class:`Panel`, e.g. ``Panel.from_long``).
        models: forecasters with distinct names.
        horizon: periods ahead forecast at each origin.
        folds: number of origins; ``step`` periods apart (default ``horizon``).
        level: central prediction interval coverage to evaluate, in (0, 1).
        scale_lag: lag of the naive forecast that scales MASE, RMSSE and bias.
        n_jobs: worker processes (1 runs in this process).
        n_chunks: series chunks per model (default: see ``_model_chunks``).
        progress: show a rich progress bar on stderr.

    Raises:
        ForecastingError: bad horizon, folds, level or duplicate model names.
    """
    import pandas as pd

    check_horizon_level(horizon, level)
    names = [m.name for m in models]
    if not names or len(set(names)) != len(names):
        raise ForecastingError("models", names, "must be a non-empty list of distinct names")
    fold_list = rolling_origin_folds(panel.n_periods, horizon, folds, step)
    results = np.full((len(models), len(fold_list), panel.n_series, len(METRICS)), np.nan)
    seconds = dict.fromkeys(names, 0.0)
    wall = dict.fromkeys(names, 0.0)
    t0 = time.perf_counter()
    # Models one after another (each model's series chunks in parallel), so each model's wall
    # time is its own.
    for mi, model in enumerate(models):
        chunks = _model_chunks(model, panel.n_series, n_jobs, n_chunks)
        tasks: list[tuple[Callable[..., object], tuple[object, ...]]] = [
            (_backtest_task, (panel.select(rows), model, fold_list, level, scale_lag))
            for rows in chunks
        ]
        start = time.perf_counter()
        label = f"backtest {model.name}: {panel.n_series} series"
        for i, res in _run_tasks(tasks, n_jobs, progress, label):
            arr, secs = cast(tuple[np.ndarray, float], res)
            results[mi][:, chunks[i]] = arr
            seconds[names[mi]] += secs
        wall[names[mi]] = time.perf_counter() - start
    total_wall = time.perf_counter() - t0
    n_m, n_f, n_s = results.shape[:3]
    ids = np.asarray(panel.ids, dtype=object)
    frame = pd.DataFrame(
        {
            "model": np.repeat(np.asarray(names, dtype=object), n_f * n_s),
            "series": np.tile(ids, n_m * n_f),
            "fold": np.tile(np.repeat(np.arange(n_f), n_s), n_m),
            "train_end_date": np.tile(
                np.repeat(panel.dates[[f.train_end - 1 for f in fold_list]], n_s), n_m
            ),
        }
    )
    for j, name in enumerate(METRICS):
        frame[name] = results[..., j].ravel()
    return BacktestResult(fold_list, level, frame, seconds, wall, total_wall, scale_lag=scale_lag)


def _forecast_task(
    panel: Panel, model: Forecaster, horizon: int, level: float, future: dict[str, np.ndarray]
) -> Forecast:
    return model.fit(panel).predict(horizon, level=level, future_regressors=future)


def forecast_batch(
    panel: Panel,
    model: Forecaster,
    horizon: int,
    *,
    level: float = 0.8,
    future_regressors: dict[str, np.ndarray] | None = None,
    n_jobs: int = 1,
    n_chunks: int | None = None,
    progress: bool = False,
) -> Forecast:
    """Fit ``model`` on every series and forecast ``horizon`` periods, chunked over processes.

    ``future_regressors`` maps names to ``(n_series, horizon)`` arrays, as in ``predict``.
    """
    check_horizon_level(horizon, level)
    future = future_regressors or {}
    tasks: list[tuple[Callable[..., object], tuple[object, ...]]] = [
        (
            _forecast_task,
            (panel.select(rows), model, horizon, level, {k: v[rows] for k, v in future.items()}),
        )
        for rows in _model_chunks(model, panel.n_series, n_jobs, n_chunks)
    ]
    parts: list[Forecast | None] = [None] * len(tasks)
    for i, res in _run_tasks(tasks, n_jobs, progress, f"forecast {panel.n_series} series"):
        parts[i] = cast(Forecast, res)
    done = [p for p in parts if p is not None]
    return Forecast(
        model=model.name,
        ids=tuple(i for p in done for i in p.ids),
        dates=done[0].dates,
        mean=np.concatenate([p.mean for p in done]),
        std=np.concatenate([p.std for p in done]),
        lower=np.concatenate([p.lower for p in done]),
        upper=np.concatenate([p.upper for p in done]),
        level=level,
    )


def default_n_jobs() -> int:
    """Worker processes to use by default: every core this process may run on."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)
