"""A panel of demand series on one regular date grid, built from a long-format table.

Every forecaster here works on a :class:`Panel`: ``values`` is a ``(n_series, n_periods)`` float
array on a shared, regular date grid (one step apart, e.g. one day or one week). A ``NaN`` means
"this series had not started yet" (before its first observation); a date missing from the long
table after a series' first observation is filled with ``fill_value`` (zero sales by default:
in sales data a missing row means nothing was sold). Regressors (price, promotion, weather,
holiday flags) are arrays of the same shape, forward-filled.

Only NumPy is needed to use a panel; pandas is imported inside :meth:`Panel.from_long` and
:meth:`Panel.to_long`, so production code that passes arrays never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from policies.forecasting.errors import ForecastingError

if TYPE_CHECKING:
    import pandas as pd


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
    """

    ids: tuple[str, ...]
    dates: np.ndarray
    values: np.ndarray
    regressors: Mapping[str, np.ndarray] = field(default_factory=dict)

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
        )

    def select(self, rows: Sequence[int] | np.ndarray) -> Panel:
        """A panel of the given series rows only."""
        idx = np.asarray(rows, dtype=np.int64)
        return Panel(
            ids=tuple(self.ids[i] for i in idx),
            dates=self.dates,
            values=self.values[idx],
            regressors={k: v[idx] for k, v in self.regressors.items()},
        )

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
        fill_value: float = 0.0,
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
            freq: pandas frequency of the grid (``"D"``, ``"W-SUN"``); inferred if omitted.
            fill_value: demand on grid dates a series lacks after its first observation.

        Raises:
            ForecastingError: a named column is missing, a value is not numeric, or the
                dates are not on a regular grid.
        """
        import pandas as pd

        id_cols = [id_col] if isinstance(id_col, str) else list(id_col)
        for col in [*id_cols, date_col, value_col, *regressors]:
            if col not in df.columns:
                raise ForecastingError("column", col, f"not in table columns {list(df.columns)}")
        if df.empty:
            raise ForecastingError("table", 0, "has no rows")
        work = pd.DataFrame({"__id": df[id_cols].astype(str).agg("/".join, axis=1)})
        try:
            if pd.api.types.is_integer_dtype(df[date_col]):
                work["__date"] = pd.Timestamp(day_origin) + pd.to_timedelta(df[date_col], "D")
            else:
                work["__date"] = pd.to_datetime(df[date_col])
        except (ValueError, TypeError) as exc:
            raise ForecastingError(date_col, df[date_col].iloc[0], "is not a date") from exc
        for col in [value_col, *regressors]:
            num = pd.to_numeric(df[col], errors="coerce")
            bad = num.isna() & df[col].notna()
            if bad.any():
                raise ForecastingError(col, df[col][bad].iloc[0], "is not a number")
            work[col] = num.to_numpy(dtype=np.float64)
        grid = _regular_grid(pd.DatetimeIndex(work["__date"].unique()).sort_values(), freq)
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
        values = np.where(seen, values, np.where(started, fill_value, np.nan))
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
            raise ForecastingError("dates", str(step), "do not lie on a regular grid; pass freq")
        return pd.date_range(dates[0], dates[-1], freq=pd.Timedelta(step))
    try:
        return pd.date_range(dates[0], dates[-1], freq=freq)
    except ValueError as exc:
        raise ForecastingError("freq", freq, "is not a pandas frequency") from exc
