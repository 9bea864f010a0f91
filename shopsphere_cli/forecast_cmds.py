"""CLI verbs of this area (see shopsphere_cli.main): ``shopsphere forecast ...``.

``backtest`` runs a rolling-origin backtest on any long-format CSV/Parquet table, ``predict``
writes batch forecasts, ``cdnow`` exports the real CDNOW sales series shipped in ``lifetimes``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import typer

from shopsphere_cli.errors import fail

if TYPE_CHECKING:
    import pandas as pd

    from policies.forecasting import Panel

forecast_app = typer.Typer(
    name="forecast",
    help="Demand forecasting: backtest models on a sales table, forecast, export real data.",
    no_args_is_help=True,
)


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _read_table(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise typer.BadParameter(f"{path} does not exist", param_hint="DATA")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise typer.BadParameter(f"{path}: expected a .csv or .parquet file", param_hint="DATA")


DATA = typer.Argument(
    ..., help="Long-format table (.csv or .parquet): one row per series and date."
)
ID_COL = typer.Option(
    "series_id", "--id-col", help="Series id column(s), comma-separated (e.g. sku,location)."
)
DATE_COL = typer.Option("date", "--date-col", help="Date column.")
VALUE_COL = typer.Option("units", "--value-col", help="Demand column (units per period).")
REGRESSORS = typer.Option(
    "",
    "--regressors",
    help="Regressor columns used by prophet, auto_arima and lightgbm, comma-separated (e.g. "
    "price,promo). predict needs their planned values: rows after the last sales date with "
    "the regressors filled and the demand column empty.",
)
FREQ = typer.Option(
    None, "--freq", help="Grid frequency (D, W-SUN); inferred when omitted, checked when given."
)
DATE_FORMAT = typer.Option(
    None,
    "--date-format",
    help="strptime format of the dates (e.g. %d/%m/%y). Default: ISO dates, or the one "
    "day-first/month-first format that fits every row; ambiguous dates are refused.",
)
FILL = typer.Option(
    "none",
    "--fill",
    help="Dates a series lacks after its start: none (refuse and report them), zero (no sales) "
    "or nan (missing, not scored).",
)
CLOSED = typer.Option(
    None,
    "--closed",
    help="0/1 column marking closed days (1 = closed): forecasts are zero there and scoring "
    "skips them.",
)
HOLIDAYS = typer.Option(
    None, "--holidays-country", help="Country code of public holidays for Prophet (e.g. DE, US)."
)
HORIZON = typer.Option(14, "--horizon", min=1, help="Periods ahead.")
SEASON = typer.Option(7, "--season-length", min=1, help="Periods per season (7 for daily data).")
SCALE_LAG = typer.Option(
    None,
    "--scale-lag",
    min=1,
    help="Lag of the naive forecast scaling MASE/RMSSE (default: the season length; 1 for the "
    "one-step naive).",
)
LEVEL = typer.Option(0.8, "--level", min=0.01, max=0.99, help="Prediction interval coverage.")
JOBS = typer.Option(0, "--n-jobs", min=0, help="Worker processes (0: all cores).")


def _panel(
    data: Path,
    id_col: str,
    date_col: str,
    value_col: str,
    regressors: str,
    freq: str | None,
    *,
    date_format: str | None = None,
    fill: str = "none",
    closed: str | None = None,
) -> Panel:
    from policies.forecasting import Panel

    df = _read_table(data)
    ids = _split(id_col)
    panel = Panel.from_long(
        df,
        id_col=ids if len(ids) > 1 else ids[0],
        date_col=date_col,
        value_col=value_col,
        regressors=_split(regressors),
        freq=freq,
        fill=fill,
        date_format=date_format,
        closed_col=closed,
    )
    grid = f"{panel.n_series} series x {panel.n_periods} periods of {_step(panel)}"
    gaps = f", {panel.gaps} gaps filled with {fill}" if panel.gaps else ", no gaps"
    shut = "" if panel.closed is None else f", {int(panel.closed.sum())} closed days masked"
    typer.echo(f"{data}: {grid}{gaps}{shut}", err=True)
    return panel


def _step(panel: Panel) -> str:
    days = panel.step / np.timedelta64(1, "D")
    return {1.0: "1 day", 7.0: "1 week"}.get(float(days), f"{days:g} days")


@forecast_app.command("backtest")
def backtest_cmd(
    data: Path = DATA,
    id_col: str = ID_COL,
    date_col: str = DATE_COL,
    value_col: str = VALUE_COL,
    regressors: str = REGRESSORS,
    freq: str | None = FREQ,
    date_format: str | None = DATE_FORMAT,
    fill: str = FILL,
    closed: str | None = CLOSED,
    horizon: int = HORIZON,
    folds: int = typer.Option(4, "--folds", min=1, help="Rolling origins."),
    step: int | None = typer.Option(
        None, "--step", min=1, help="Periods between origins (default: horizon)."
    ),
    models: str = typer.Option(
        "seasonal_naive,moving_average,ets,croston,tsb,ensemble",
        "--models",
        help=(
            "Comma-separated: seasonal_naive, moving_average, moving_median, ets, ses, croston, "
            "sba, tsb, "
            "prophet, auto_ets, auto_arima, lightgbm, ensemble."
        ),
    ),
    ensemble_members: str = typer.Option(
        "ets,moving_median,moving_average,ses",
        "--ensemble-members",
        help="Members of `ensemble` (weights learnt on validation windows inside each fold's "
        "training data).",
    ),
    season_length: int = SEASON,
    scale_lag: int | None = SCALE_LAG,
    holidays_country: str | None = HOLIDAYS,
    level: float = LEVEL,
    n_jobs: int = JOBS,
    out: Path | None = typer.Option(None, "--out", help="Write per-series metrics to this CSV."),
) -> None:
    """Rolling-origin backtest: MASE, RMSSE (seasonally scaled), WAPE, bias and interval
    coverage per model, with CPU and wall seconds."""
    from rich.console import Console
    from rich.table import Table

    from policies.forecasting import ForecastingError, backtest, default_n_jobs, make_models

    try:
        panel = _panel(
            data, id_col, date_col, value_col, regressors, freq,
            date_format=date_format, fill=fill, closed=closed,
        )  # fmt: skip
        chosen = make_models(
            _split(models),
            season_length=season_length,
            ensemble_members=_split(ensemble_members),
            holidays_country=holidays_country,
            horizon=horizon,
        )
        result = backtest(
            panel,
            chosen,
            horizon=horizon,
            folds=folds,
            step=step,
            level=level,
            scale_lag=scale_lag or season_length,
            n_jobs=n_jobs or default_n_jobs(),
            progress=True,
        )
    except ForecastingError as exc:
        raise fail(str(exc)) from None
    summary = result.summary()
    table = Table(
        title=f"{panel.n_series} series, {folds} folds x {horizon} periods, {level:.0%} intervals"
        f"; MASE/RMSSE scaled by the lag-{result.scale_lag} naive"
    )
    table.add_column("model", no_wrap=True, min_width=14)
    cols = ["mase", "rmsse", "wape", "bias", "pbias", "coverage"]
    for col in ["series", *cols, "cpu s", "wall s"]:
        table.add_column(col, justify="right")
    for row in summary.itertuples(index=False):
        table.add_row(
            str(row.model),
            str(row.n_series),
            *(f"{getattr(row, c):.3f}" for c in cols),
            f"{row.cpu_seconds:.2f}",
            f"{row.wall_seconds:.2f}",
        )
    console = Console()
    console.width = max(console.width, 100)  # keep model names and headers whole
    console.print(table)
    typer.echo(
        f"wall time {result.total_wall_seconds:.1f} s on {n_jobs or default_n_jobs()} workers"
    )
    if out is not None:
        result.per_series().to_csv(out, index=False)
        typer.echo(f"per-series metrics written to {out}")


@forecast_app.command("predict")
def predict_cmd(
    data: Path = DATA,
    id_col: str = ID_COL,
    date_col: str = DATE_COL,
    value_col: str = VALUE_COL,
    regressors: str = REGRESSORS,
    freq: str | None = FREQ,
    date_format: str | None = DATE_FORMAT,
    fill: str = FILL,
    closed: str | None = CLOSED,
    holidays_country: str | None = HOLIDAYS,
    model: str = typer.Option("ensemble", "--model", help="Model name (see `backtest --models`)."),
    horizon: int = HORIZON,
    season_length: int = SEASON,
    level: float = LEVEL,
    n_jobs: int = JOBS,
    out: Path = typer.Option(
        ..., "--out", help="CSV of forecasts: id, date, mean, std, lower, upper."
    ),
) -> None:
    """Forecast every series of a table HORIZON periods past its last date.

    With --regressors, the table must also hold the regressors' planned values for the
    HORIZON periods after the last sales date: rows past it with the regressor columns filled
    and the demand column empty.
    """
    from policies.forecasting import ForecastingError, default_n_jobs, forecast_batch, make_model

    try:
        future = None
        if _split(regressors):
            data, future = _split_future(
                data, id_col, date_col, value_col, _split(regressors), horizon, date_format
            )
        panel = _panel(
            data, id_col, date_col, value_col, regressors, freq,
            date_format=date_format, fill=fill, closed=closed,
        )  # fmt: skip
        plans = None
        if future is not None:
            data.unlink(missing_ok=True)  # the temporary history table
            plans = _align_future(panel, future, horizon)
        fc = forecast_batch(
            panel,
            make_model(
                model,
                season_length=season_length,
                holidays_country=holidays_country,
                horizon=horizon,
            ),
            horizon,
            level=level,
            future_regressors=plans,
            n_jobs=n_jobs or default_n_jobs(),
            progress=True,
        )
    except ForecastingError as exc:
        raise fail(str(exc)) from None
    fc.to_frame(id_col="series_id", date_col=date_col).to_csv(out, index=False)
    typer.echo(f"{panel.n_series} series x {horizon} periods written to {out}")


def _split_future(
    data: Path,
    id_col: str,
    date_col: str,
    value_col: str,
    regressors: list[str],
    horizon: int,
    date_format: str | None,
) -> tuple[Path, dict[str, object]]:
    """Split the table into history (demand given) and future rows (demand empty): the history
    goes to a temporary CSV; the future rows' regressors come back keyed by (id, date)."""
    import tempfile

    from policies.forecasting import ForecastingError
    from policies.forecasting.panel import parse_dates

    df = _read_table(data)
    for col in [value_col, date_col, *regressors]:
        if col not in df.columns:
            raise ForecastingError("column", col, f"not in table columns {list(df.columns)}")
    ids = _split(id_col)
    fut = df[df[value_col].isna()]
    if fut.empty:
        raise ForecastingError(
            value_col,
            "no empty rows",
            f"--regressors needs the next {horizon} periods' regressor values: rows past the "
            f"last sales date with {', '.join(regressors)} filled and {value_col} empty",
        )
    hist = df[df[value_col].notna()]
    tmp = Path(tempfile.mkstemp(suffix=".csv")[1])
    hist.to_csv(tmp, index=False)
    key = fut[ids].astype(str).agg("/".join, axis=1).to_numpy()
    dates = parse_dates(fut[date_col], date_format, name=date_col).to_numpy(dtype="datetime64[ns]")
    return tmp, {
        "key": key,
        "dates": dates,
        **{r: fut[r].to_numpy(dtype=float) for r in regressors},
    }


def _align_future(panel: Panel, future: dict[str, object], horizon: int) -> dict[str, np.ndarray]:
    """``(n_series, horizon)`` regressor plans on the ``horizon`` dates after the panel's last
    date; a missing (series, date) plan is refused, naming it."""
    from policies.forecasting import ForecastingError

    key = np.asarray(future["key"])
    dates = np.asarray(future["dates"], dtype="datetime64[ns]")
    pos = ((dates - panel.dates[-1]) // panel.step).astype(np.int64) - 1
    row_of = {sid: i for i, sid in enumerate(panel.ids)}
    out: dict[str, np.ndarray] = {}
    for r in (k for k in future if k not in ("key", "dates")):
        a = np.full((panel.n_series, horizon), np.nan)
        vals = np.asarray(future[r], dtype=float)
        for k, p, v in zip(key, pos, vals, strict=True):
            if k in row_of and 0 <= p < horizon:
                a[row_of[k], p] = v
        if np.isnan(a).any():
            i, j = np.argwhere(np.isnan(a))[0]
            day = str(panel.future_dates(horizon)[j])[:10]
            raise ForecastingError(
                r, "missing", f"no planned value for series {panel.ids[i]!r} on {day}"
            )
        out[r] = a
    return out


@forecast_app.command("cdnow")
def cdnow_cmd(
    out: Path = typer.Option(..., "--out", help="Output .csv or .parquet."),
    panels: int = typer.Option(20, "--panels", min=1, help="Number of series (customer panels)."),
    freq: str = typer.Option("D", "--freq", help="D (daily) or a weekly frequency such as W-SUN."),
) -> None:
    """Export CDNOW sales (shipped inside the lifetimes package) as a long table."""
    from policies.forecasting import ForecastingError
    from policies.forecasting.datasets import cdnow_daily_sales

    try:
        df = cdnow_daily_sales(panels, freq=freq)
    except (ForecastingError, ValueError) as exc:
        raise fail(str(exc)) from None
    if out.suffix.lower() in (".parquet", ".pq"):
        df.to_parquet(out, index=False)
    else:
        df.to_csv(out, index=False)
    typer.echo(f"{df['series_id'].nunique()} series, {len(df)} rows written to {out}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(forecast_app, name="forecast")
