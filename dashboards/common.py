"""What every dashboard page shares: where runs live, cached readers, KPI formatting.

Pages stay thin: they read run directories through :mod:`twin.reader`, start work through
:mod:`dashboards.jobs` (which calls :mod:`twin.runner`), and format numbers with the same
functions the CLI and the Markdown report use (:func:`twin.report.format_kpi`), so a number on a
page is the number in ``kpis.json``.

Settings (environment, set by ``shopsphere dashboard``):

* ``SHOPSPHERE_RUNS_DIR``: where run directories are listed and written (default ``runs``).
* ``SHOPSPHERE_SCENARIOS_DIR``: shipped scenarios (default: the repository's ``scenarios/``).
* ``SHOPSPHERE_POLICY_REGISTRY_DIR``: the validated policy registry (default ``registry``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from twin.reader import RunReader, RunSummary, list_runs
from twin.report import HEADLINE, format_kpi, kpi_label

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CARD_KPIS",
    "SERIES",
    "cached_daily",
    "cached_reader",
    "cached_runs",
    "format_kpi",
    "kpi_label",
    "policy_registry_dir",
    "runs_dir",
    "scenarios_dir",
    "shipped_scenarios",
]

REPO = Path(__file__).resolve().parent.parent

# KPI cards on the results page, in reading order (a subset of the report's headline KPIs).
CARD_KPIS: tuple[str, ...] = (
    "revenue_cents",
    "gross_margin_cents",
    "units_sold",
    "lost_units",
    "fill_rate",
    "availability",
    "inventory_turns",
    "online_cycle_time_hours_mean",
)
assert set(CARD_KPIS) <= set(HEADLINE)

# Time series offered on the results page: label -> (daily.parquet column(s), aggregation).
SERIES: dict[str, tuple[str, ...]] = {
    "stock (units on hand)": ("on_hand_units",),
    "sales (units)": ("units_sold",),
    "lost sales (units)": ("lost_units",),
    "demand (units)": ("demand_units",),
    "revenue": ("revenue_cents",),
    "availability": ("stockout_skus", "carried_skus"),
    "fill rate": ("units_sold", "demand_units"),
    "online orders": ("online_orders",),
    "write-offs (units)": ("write_off_units",),
}


def runs_dir() -> Path:
    """Where run directories are read and written (``SHOPSPHERE_RUNS_DIR``, default ``runs``)."""
    return Path(os.environ.get("SHOPSPHERE_RUNS_DIR", "runs"))


def scenarios_dir() -> Path:
    """Where shipped scenarios are (``SHOPSPHERE_SCENARIOS_DIR``, default the repo's folder)."""
    return Path(os.environ.get("SHOPSPHERE_SCENARIOS_DIR", REPO / "scenarios"))


def policy_registry_dir() -> Path:
    """The policy registry shown on the policies page."""
    return Path(os.environ.get("SHOPSPHERE_POLICY_REGISTRY_DIR", "registry"))


def shipped_scenarios() -> list[Path]:
    """Scenario files to offer: the shipped ones, then any saved from the editor."""
    found = sorted(scenarios_dir().glob("*.yaml"))
    saved = runs_dir() / "scenarios"
    if saved.is_dir():
        found += sorted(saved.glob("*.yaml"))
    return found


@st.cache_data(ttl=5, show_spinner=False)
def cached_runs(root: str) -> list[RunSummary]:
    """The run directories under ``root``, newest first (re-listed every 5 s)."""
    return list_runs(root)


@st.cache_resource(show_spinner=False, max_entries=32)
def cached_reader(path: str, mtime: float) -> RunReader:
    """A reader per run directory; ``mtime`` (of kpis.json) invalidates a rewritten run."""
    del mtime
    return RunReader(path)


def reader(path: Path) -> RunReader:
    """The cached reader of the run directory ``path``."""
    return cached_reader(str(path), (path / "kpis.json").stat().st_mtime)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_daily(path: str, mtime: float, columns: tuple[str, ...]) -> pd.DataFrame:
    """Network-wide daily totals of ``columns`` (summed over locations), read lazily."""
    del mtime
    df = RunReader(path).daily(columns=("day", *columns))
    return df.groupby("day", as_index=False)[list(columns)].sum()


@st.cache_data(show_spinner=False, max_entries=64)
def cached_daily_by_location(path: str, mtime: float, column: str) -> pd.DataFrame:
    """One daily column per location (rows: day; columns: location)."""
    del mtime
    df = RunReader(path).daily(columns=("day", "location", column))
    return df.pivot_table(index="day", columns="location", values=column, aggfunc="sum")


def series_frame(path: Path, label: str) -> pd.DataFrame:
    """The network-wide daily series ``label`` (see :data:`SERIES`) as columns ``day, value``."""
    cols = SERIES[label]
    mtime = (path / "kpis.json").stat().st_mtime
    df = cached_daily(str(path), mtime, cols)
    if label == "availability":
        value = 1.0 - df["stockout_skus"] / df["carried_skus"].where(df["carried_skus"] > 0)
    elif label == "fill rate":
        value = df["units_sold"] / df["demand_units"].where(df["demand_units"] > 0)
    elif label == "revenue":
        value = df["revenue_cents"] / 100.0
    else:
        value = df[cols[0]]
    return df[["day"]].assign(value=value.astype(float))
