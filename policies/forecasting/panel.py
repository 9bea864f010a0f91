"""A panel of demand series on one regular date grid, built from a long-format table.

Every forecaster here works on a :class:`Panel`: ``values`` is a ``(n_series, n_periods)`` float
array on a shared, regular date grid (one step apart, e.g. one day or one week). A ``NaN`` means
"this series had not started yet" (before its first observation). A grid date missing from the long
table after a series' first observation is a *gap*: :meth:`Panel.from_long` counts the gaps
and, by default, refuses them with a message saying how many and where (``fill="zero"``: fill
with zero sales, the usual reading of sales extracts that omit zero rows; ``fill="nan"``: keep
them missing). Dates are parsed strictly: ISO dates, an explicit ``date_format``, or one
day-first/month-first format that fits every row; an ambiguous column (``05/02/12``) is refused.
``closed`` marks days a series could not sell (a store closed on Sundays): forecasts are zero
there and scoring ignores them. Regressors (price, promotion, weather, holiday flags) are arrays
of the same shape, forward-filled.

Only NumPy is needed to use a panel; pandas is imported inside :meth:`Panel.from_long` and
:meth:`Panel.to_long`, so production code that passes arrays never imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from policies.forecasting.errors import ForecastingError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

FILL_POLICIES = ("none", "zero", "nan")
# Formats tried, in order, when a date column is not ISO 8601 and no format is given.
CANDIDATE_FORMATS = (
    "%d/%m/%Y", "%m/%d/%Y", "%d/%m/%y", "%m/%d/%y",
    "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y", "%m-%d-%Y", "%Y%m%d",
)  # fmt: skip


@dataclass(frozen=True, slots=True, eq=False)
class Panel:
    """Many demand series on one regular date grid.

    Attributes:
        ids: series identifiers, length ``n_series``.
        dates: ``datetime64[ns]`` array of the ``n_periods`` grid dates, strictly increasing
            with a constant step.
        values: float64 ``(n_series, n_periods)`` demand (units per period); ``NaN`` before a
            series' first observation.
        regressors: name -> float64 ``(n_series, n_periods)`` known covariates.
        closed: bool ``(n_series, n_periods)``: True where the series could not sell (closed
            day); ``None`` when every day is open.
        gaps: number of (series, date) cells missing from the source table after a series'
            first observation (filled as ``from_long``'s ``fill`` said).
    """

    ids: tuple[str, ...]
    dates: np.ndarray
    values: np.ndarray
    regressors: Mapping[str, np.ndarray] = field(default_factory=dict)
    closed: np.ndarray | None = None
    gaps: int = 0

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 2:
            raise ForecastingError("values", values.shape, "must be 2-D (n_series, n_periods)")
        n, t = values.shape
        if len(self.ids) != n:
            raise ForecastingError("ids", len(self.ids), f"must have {n} entries, one per row")
        dates = np.asarray(self.dates, dtype="datetime64[ns]")
        if dates.shape != (t,):
            raise ForecastingError("dates", dates.shape, f"must have shape ({t},)")
        if t >= 2:
            steps = np.diff(dates)
            if np.any(steps <= np.timedelta64(0, "ns")) or np.any(steps != steps[0]):
                raise ForecastingError("dates", "irregular", "must be a regular, increasing grid")
        regs: dict[str, np.ndarray] = {}
        for name, arr in self.regressors.items():
            a = np.asarray(arr, dtype=np.float64)
            if a.shape != (n, t):
                raise ForecastingError(f"regressors[{name}]", a.shape, f"must be ({n}, {t})")
            regs[name] = a
        if self.closed is not None:
            closed = np.asarray(self.closed, dtype=bool)
            if closed.shape != (n, t):
                raise ForecastingError("closed", closed.shape, f"must be ({n}, {t})")
            object.__setattr__(self, "closed", closed)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "regressors", regs)

    @property
    def n_series(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_periods(self) -> int:
        return int(self.values.shape[1])

    @property
    def step(self) -> np.timedelta64:
        """The grid step (one day for daily data); one day if the panel has a single date."""
        if self.n_periods >= 2:
            return np.timedelta64(self.dates[1] - self.dates[0], "ns")
        out: np.timedelta64 = np.timedelta64(1, "D").astype("timedelta64[ns]")
        return out

    def future_dates(self, horizon: int) -> np.ndarray:
        """The ``horizon`` grid dates after the last one."""
        if self.n_periods == 0:
            raise ForecastingError("dates", 0, "an empty panel has no future")
        out: np.ndarray = self.dates[-1] + self.step * np.arange(1, horizon + 1)
        return out

    def slice_time(self, start: int, stop: int) -> Panel:
        """Periods ``[start, stop)`` of every series (with their regressors)."""
        return Panel(
            ids=self.ids,
            dates=self.dates[start:stop],
            values=self.values[:, start:stop],
            regressors={k: v[:, start:stop] for k, v in self.regressors.items()},
            closed=None if self.closed is None else self.closed[:, start:stop],
        )

    def select(self, rows: Sequence[int] | np.ndarray) -> Panel:
        """A panel of the given series rows only."""
        idx = np.asarray(rows, dtype=np.int64)
        return Panel(
            ids=tuple(self.ids[i] for i in idx),
            dates=self.dates,
            values=self.values[idx],
            regressors={k: v[idx] for k, v in self.regressors.items()},
            closed=None if self.closed is None else self.closed[idx],
        )

    def open_values(self, season_length: int) -> np.ndarray:
        """``values`` with closed days replaced for fitting (NaN-free where the data is).

        A closed day takes the value of the same season position one season earlier if that day
        was open, else the series' mean over open days: models then learn open-day demand
        instead of the zeros of closed days (their forecasts on closed days are zeroed after).
        """
        if self.closed is None or not self.closed.any():
            return self.values
        v = self.values.copy()
        open_v = np.where(self.closed, np.nan, v)
        with np.errstate(invalid="ignore"):
            means = np.nan_to_num(np.nanmean(open_v, axis=1), nan=0.0)
        for t in np.flatnonzero(self.closed.any(axis=0)):
            rows = self.closed[:, t]
            prev = t - season_length
            fill = means[rows]
            if prev >= 0:
                back = v[rows, prev]
                fill = np.where(np.isfinite(back) & ~self.closed[rows, prev], back, fill)
            v[rows, t] = np.where(np.isnan(v[rows, t]), np.nan, fill)
        return v

    @classmethod
    def from_arrays(
        cls,
        values: np.ndarray,
        *,
        start: str = "2000-01-01",
        step_days: int = 1,
        ids: Sequence[str] | None = None,
        regressors: Mapping[str, np.ndarray] | None = None,
    ) -> Panel:
        """A panel from a ``(n_series, n_periods)`` array on a made-up date grid."""
        v = np.atleast_2d(np.asarray(values, dtype=np.float64))
        dates = np.datetime64(start, "ns") + np.arange(v.shape[1]) * np.timedelta64(
            step_days, "D"
        ).astype("timedelta64[ns]")
        names = tuple(ids) if ids is not None else tuple(str(i) for i in range(v.shape[0]))
        return cls(ids=names, dates=dates, values=v, regressors=dict(regressors or {}))

    @classmethod
    def from_long(
        cls,
        df: pd.DataFrame,
        *,
        id_col: str | Sequence[str],
        date_col: str,
        value_col: str,
        regressors: Sequence[str] = (),
        freq: str | None = None,
        fill: str = "none",
        date_format: str | None = None,
        closed_col: str | None = None,
        day_origin: str = "2000-01-03",
    ) -> Panel:
        """Pivot a long table (one row per series and date) onto a regular grid.

        Args:
            df: the table; rows with the same id and date are summed (values) / averaged
                (regressors).
            id_col: column(s) naming the series; several columns are joined with ``"/"``
                (e.g. ``["sku", "location"]``).
            date_col: date column (anything ``pandas.to_datetime`` reads); an integer column
                is read as day numbers counted from ``day_origin`` (the twin's simulated
                ``day``; the default origin is a Monday).
            value_col: demand column (units per period, non-negative).
            regressors: covariate columns, forward- then backward-filled along time.
            freq: pandas frequency of the grid (``"D"``, ``"W-SUN"``); inferred from the
                dates if omitted, and checked against them if given.
            fill: what a gap (a grid date a series lacks after its first observation) becomes:
                ``"none"`` refuses gaps (the error says how many and the first one),
                ``"zero"`` fills zero sales, ``"nan"`` keeps them missing (not scored).
            date_format: ``strptime`` format of the date column (``"%d/%m/%y"``); when
                omitted, ISO dates or the one unambiguous day-first/month-first format.
            closed_col: optional 0/1 column, 1 on days the series could not sell.

        Raises:
            ForecastingError: a named column is missing, a value is not numeric, a date does
                not parse or is ambiguous, the dates are not on a regular grid or do not match
                ``freq``, or the table has gaps and ``fill`` is ``"none"``.
        """
        import pandas as pd

        if fill not in FILL_POLICIES:
            raise ForecastingError("fill", fill, f"must be one of {list(FILL_POLICIES)}")
        id_cols = [id_col] if isinstance(id_col, str) else list(id_col)
        extra = [closed_col] if closed_col else []
        for col in [*id_cols, date_col, value_col, *regressors, *extra]:
            if col not in df.columns:
                raise ForecastingError("column", col, f"not in table columns {list(df.columns)}")
        if df.empty:
            raise ForecastingError("table", 0, "has no rows")
        work = pd.DataFrame({"__id": df[id_cols].astype(str).agg("/".join, axis=1)})
        if pd.api.types.is_integer_dtype(df[date_col]):
            work["__date"] = pd.Timestamp(day_origin) + pd.to_timedelta(df[date_col], "D")
        else:
            work["__date"] = parse_dates(df[date_col], date_format, name=date_col).to_numpy()
        for col in [value_col, *regressors, *extra]:
            num = pd.to_numeric(df[col], errors="coerce")
            bad = num.isna() & df[col].notna()
            if bad.any():
                raise ForecastingError(col, df[col][bad].iloc[0], "is not a number")
            work[col] = num.to_numpy(dtype=np.float64)
        grid = _regular_grid(pd.DatetimeIndex(work["__date"].unique()).sort_values(), freq)
        if freq is not None and len(grid) >= 2:
            have = pd.DatetimeIndex(work["__date"].unique())
            off = have[grid.get_indexer(have) < 0]
            if len(off):
                raise ForecastingError(
                    date_col, str(off[0].date()), f"is not on the {freq!r} grid (check --freq)"
                )
        pos = grid.get_indexer(pd.DatetimeIndex(work["__date"]))
        if np.any(pos < 0):
            raise ForecastingError(date_col, work["__date"][pos < 0].iloc[0], "is off the grid")
        ids, rows = np.unique(work["__id"].to_numpy(), return_inverse=True)
        n, t = len(ids), len(grid)
        values = np.zeros((n, t))
        np.add.at(values, (rows, pos), np.nan_to_num(work[value_col].to_numpy()))
        seen = np.zeros((n, t), dtype=bool)
        seen[rows, pos] = True
        started = np.maximum.accumulate(seen, axis=1)
        gap = started & ~seen
        n_gaps = int(gap.sum())
        if n_gaps and fill == "none":
            r, c = np.argwhere(gap)[0]
            share = n_gaps / max(int(started.sum()), 1)
            raise ForecastingError(
                "dates",
                f"{n_gaps} gaps",
                f"{share:.1%} of the grid cells after each series' start are missing from the "
                f"table (first: series {ids[r]!r} on {grid[c].date()!s}); if missing rows "
                f"mean no sales pass --fill zero, to leave them unscored pass --fill nan; a "
                f"large share often means misparsed dates (pass --date-format) or a wrong "
                f"--freq",
            )
        gap_value = 0.0 if fill == "zero" else np.nan
        values = np.where(seen, values, np.where(started, gap_value, np.nan))
        if n_gaps:
            log.warning("%d gaps (%s) in %d series filled with %s", n_gaps, date_col, n, fill)
        closed = None
        if closed_col:
            flag = np.zeros((n, t))
            np.add.at(flag, (rows, pos), np.nan_to_num(work[closed_col].to_numpy()))
            closed = flag > 0
            values = np.where(closed & np.isfinite(values), 0.0, values)
        regs: dict[str, np.ndarray] = {}
        for col in regressors:
            total = np.zeros((n, t))
            count = np.zeros((n, t))
            ok = work[col].notna().to_numpy()
            np.add.at(total, (rows[ok], pos[ok]), work[col].to_numpy()[ok])
            np.add.at(count, (rows[ok], pos[ok]), 1.0)
            mean = np.where(count > 0, total / np.maximum(count, 1.0), np.nan)
            filled = pd.DataFrame(mean.T).ffill().bfill().fillna(0.0).to_numpy().T
            regs[col] = np.ascontiguousarray(filled)
        return cls(
            ids=tuple(str(i) for i in ids),
            dates=grid.to_numpy(dtype="datetime64[ns]"),
            values=values,
            regressors=regs,
            closed=closed,
            gaps=n_gaps,
        )

    def to_long(
        self, *, id_col: str = "id", date_col: str = "date", value_col: str = "value"
    ) -> pd.DataFrame:
        """The panel as a long ``pandas.DataFrame`` (NaN cells before a series starts dropped)."""
        import pandas as pd

        n, t = self.values.shape
        out = pd.DataFrame(
            {
                id_col: np.repeat(np.asarray(self.ids, dtype=object), t),
                date_col: np.tile(self.dates, n),
                value_col: self.values.ravel(),
            }
        )
        for name, arr in self.regressors.items():
            out[name] = arr.ravel()
        return out[out[value_col].notna()].reset_index(drop=True)


def _regular_grid(dates: pd.DatetimeIndex, freq: str | None) -> pd.DatetimeIndex:
    import pandas as pd

    if len(dates) == 1:
        return dates
    if freq is None:
        steps = np.diff(dates.to_numpy())
        step = steps.min()
        if np.any(steps % step != np.timedelta64(0, "ns")):
            raise ForecastingError(
                "dates",
                str(pd.Timedelta(step)),
                "do not lie on a regular grid of that step; pass --freq, and check that the "
                "dates were read right (--date-format)",
            )
        return pd.date_range(dates[0], dates[-1], freq=pd.Timedelta(step))
    try:
        return pd.date_range(dates[0], dates[-1], freq=freq)
    except ValueError as exc:
        raise ForecastingError("freq", freq, "is not a pandas frequency") from exc


def parse_dates(col: pd.Series, date_format: str | None, *, name: str = "date") -> pd.Series:
    """Parse a date column strictly: every value, one format, no guessing.

    With ``date_format``, every value must match it. Without, the column must be ISO 8601
    (``2024-03-01``, with or without a time), or exactly one of :data:`CANDIDATE_FORMATS` must
    fit every value; when both a day-first and a month-first format fit (``05/02/12``), the
    column is ambiguous and refused.

    Raises:
        ForecastingError: a value does not parse, or the format is ambiguous.
    """
    import pandas as pd

    text = col.astype(str).str.strip()
    if date_format is not None:
        try:
            return pd.to_datetime(text, format=date_format)
        except (ValueError, TypeError):
            parsed = pd.to_datetime(text, format=date_format, errors="coerce")
            bad = text[parsed.isna()].iloc[0]
            raise ForecastingError(
                name, bad, f"does not match --date-format {date_format!r}"
            ) from None
    try:
        return pd.to_datetime(text, format="ISO8601")
    except (ValueError, TypeError):
        pass
    fits = []
    for fmt in CANDIDATE_FORMATS:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        if not parsed.isna().any():
            fits.append((fmt, parsed))
    if len(fits) == 1:
        return fits[0][1]
    if not fits:
        raise ForecastingError(
            name, text.iloc[0], "is not an ISO date and fits no common format; pass --date-format"
        )
    distinct = [f for i, (f, p) in enumerate(fits) if not any(p.equals(q) for _, q in fits[:i])]
    if len(distinct) == 1:
        return fits[0][1]
    raise ForecastingError(
        name,
        text.iloc[0],
        f"is ambiguous: it fits {', '.join(repr(f) for f in distinct)}; pass --date-format "
        f"(e.g. --date-format '{distinct[0]}')",
    )
