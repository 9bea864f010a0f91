"""The run report: a Markdown page with PNG plots of stock, sales, lost sales and availability.

Written into the run directory by :func:`write_report`; the plots use matplotlib's
non-interactive Agg backend so a report can be written on a machine without a display.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def _money(cents: float) -> str:
    return f"{cents / 100:,.2f}"


def format_kpi(name: str, value: object) -> str:
    """A KPI value as text: cents as money, shares as percentages, floats rounded."""
    if isinstance(value, float | int | np.floating | np.integer):
        v = float(value)
        if name.endswith("_cents"):
            return _money(v)
        if name in {"fill_rate", "service_level", "availability", "gross_margin_pct"}:
            return f"{100 * v:.2f}%"
        if isinstance(value, int | np.integer):
            return f"{int(value):,}"
        return f"{v:,.3f}"
    return str(value)


def kpi_label(name: str) -> str:
    """The display name of a KPI: ``*_cents`` values are shown as money, so drop the suffix."""
    return name.removesuffix("_cents") if name.endswith("_cents") else name


HEADLINE = (
    "revenue_cents",
    "gross_margin_cents",
    "gross_margin_pct",
    "units_sold",
    "demand_units",
    "lost_units",
    "substituted_units",
    "fill_rate",
    "service_level",
    "availability",
    "stockout_sku_days",
    "holding_cost_cents",
    "avg_on_hand_units",
    "inventory_turns",
    "sessions",
    "online_orders",
    "online_cycle_time_hours_mean",
    "online_cycle_time_hours_p95",
    "online_undelivered",
    "write_off_units",
    "api_calls",
    "api_mean_latency_ms",
)


def _plot(
    path: Path, days: np.ndarray, series: Mapping[str, np.ndarray], title: str, ylabel: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    for label, values in series.items():
        ax.plot(days, values, label=label, linewidth=1.5)
    ax.set_title(title)
    ax.set_xlabel("simulated day")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(
    run_dir: Path, name: str, seed: int, kpis: Mapping[str, object], daily: Mapping[str, np.ndarray]
) -> Path:
    """Write ``report.md`` and its plots into ``run_dir``; returns the report's path.

    Args:
        run_dir: the run directory (exists).
        name: scenario name; seed: the run's seed.
        kpis: headline KPIs (``kpis.json`` content).
        daily: per-day network series (``KpiBook.network_daily()``).
    """
    days = np.arange(len(daily["units_sold"]))
    plots = {
        "stock.png": ({"units on hand (close)": daily["on_hand_units"]}, "Stock on hand", "units"),
        "sales.png": (
            {"units sold": daily["units_sold"], "demand": daily["demand_units"]},
            "Sales and demand",
            "units/day",
        ),
        "lost_sales.png": (
            {"lost units": daily["lost_units"], "substituted units": daily["substituted_units"]},
            "Lost and substituted sales",
            "units/day",
        ),
        "availability.png": (
            {"availability": daily["availability"], "fill rate": daily["fill_rate"]},
            "Availability and fill rate",
            "share",
        ),
    }
    for filename, (series, title, ylabel) in plots.items():
        _plot(run_dir / filename, days, series, title, ylabel)
    lines = [
        f"# Run report: {name} (seed {seed})",
        "",
        "| KPI | value |",
        "|---|---:|",
    ]
    for key in HEADLINE:
        if key in kpis:
            lines.append(f"| {kpi_label(key)} | {format_kpi(key, kpis[key])} |")
    lines += ["", "## Over time", ""]
    for filename, (_, title, _) in plots.items():
        lines += [f"### {title}", "", f"![{title}]({filename})", ""]
    api = kpis.get("api")
    if isinstance(api, Mapping) and api:
        lines += [
            "## API calls",
            "",
            "| method | calls | errors | p50 ms | p95 ms |",
            "|---|---:|---:|---:|---:|",
        ]
        for method, s in api.items():
            if isinstance(s, Mapping):
                lines.append(
                    f"| {method} | {int(s.get('calls', 0)):,} | {int(s.get('errors', 0)):,} | "
                    f"{float(s.get('p50_ms', 0.0)):.3f} | {float(s.get('p95_ms', 0.0)):.3f} |"
                )
        lines.append("")
    path = run_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    logger.info("report written to %s", path)
    return path
