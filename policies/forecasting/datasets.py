"""Real retail demand shipped inside an installed package: the CDNOW transactions.

The ``lifetimes`` wheel ships ``datasets/CDNOW_master.txt``: 69,659 purchases of compact discs
by 23,570 customers of the online retailer CDNOW who made their first purchase in the first
quarter of 1997, recorded from 1997-01-01 to 1998-06-30 (customer id, date, number of CDs,
dollar value). The file is read directly (``lifetimes.datasets`` itself imports the removed
``pkg_resources``), so nothing is downloaded.

Because every customer was acquired in 1997 Q1, total sales spike then decay until about
April 1997; :func:`cdnow_daily_sales` starts at 1997-04-01 by default. Customers are dealt
into ``n_panels`` panels (by customer id modulo ``n_panels``), like stores each serving a
random share of the customer base, giving that many daily series of CDs sold.
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
