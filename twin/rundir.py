"""The run directory: everything needed to inspect, reproduce and replay a run.

Layout::

    <run dir>/
      scenario.yaml    the resolved scenario (defaults filled in, seed and days as run)
      run.json         seed, days, commerce mode, package versions, git commit, wall time,
                       digests of the KPIs and the event log
      kpis.json        headline KPIs and per-method API call statistics
      daily.parquet    one row per (day, location): sales, demand, lost, stock, ...
      sales_by_sku.parquet       one row per (location, SKU): units sold over the whole run
                                 (warm-up included), category, list price, units x list price
      sales_by_category.parquet  the same summed per (location, category)
      events.parquet   the event log (see twin.events)
      traffic.jsonl    every commerce call: timestamp, method, path, body, status, latency_ms
      report.md        Markdown report with stock.png, sales.png, lost_sales.png, availability.png
"""

from __future__ import annotations

import logging
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from scenarios.codes import sku_code
from scenarios.schema import Scenario, dump_scenario
from twin.engine import TwinResult
from twin.report import write_report

if TYPE_CHECKING:
    import pyarrow as pa

logger = logging.getLogger(__name__)

PACKAGES = (
    "shopsphere",
    "numpy",
    "scipy",
    "simpy",
    "mesa",
    "pandas",
    "pyarrow",
    "pydantic",
    "sqlalchemy",
    "fastapi",
    "matplotlib",
)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a run depends on (``"missing"`` if absent)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def git_commit(cwd: Path | None = None) -> str | None:
    """The checked-out commit (with ``-dirty`` if the tree has changes), or None outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _json(path: Path, data: Any) -> None:
    path.write_bytes(
        orjson.dumps(
            data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY
        )
    )


def sales_tables(scenario: Scenario, result: TwinResult) -> tuple[pa.Table, pa.Table]:
    """Units sold per (location, SKU) and per (location, category), from the run's sale flows.

    Units cover the whole run, warm-up included (the flows reconcile with the API's ledger).
    ``list_value_cents`` is units x list price: the value at list price, not the revenue (which
    depends on the prices a pricing policy set during the run).
    """
    import pyarrow as pa

    world = result.world
    # (sites, n_skus): stores and warehouses; transit locations never sell
    sold = np.asarray(result.flows["sale"], dtype=np.int64)[: world.n_sites]
    skus = world.skus
    n_loc, n = sold.shape
    codes = list(world.location_codes[:n_loc])
    loc = np.repeat(np.arange(n_loc), n)
    sku = np.tile(np.arange(n), n_loc)
    cat = skus.category[sku]
    price = skus.list_price_cents[sku]
    units = sold.reshape(-1)
    names = np.asarray(skus.category_names, dtype=object)
    by_sku = pa.table(
        {
            "location": np.asarray(codes, dtype=object)[loc],
            "sku": [sku_code(int(i), n) for i in sku],
            "category": names[cat],
            "units_sold": units,
            "list_price_cents": price,
            "list_value_cents": units * price,
        }
    )
    n_cat = len(skus.category_names)
    key = loc * n_cat + cat
    cat_units = np.zeros(n_loc * n_cat, dtype=np.int64)
    cat_value = np.zeros(n_loc * n_cat, dtype=np.int64)
    np.add.at(cat_units, key, units)  # integer sums: exact, unlike weighted bincount
    np.add.at(cat_value, key, units * price)
    by_category = pa.table(
        {
            "location": np.repeat(np.asarray(codes, dtype=object), n_cat),
            "category": np.tile(names, n_loc),
            "units_sold": cat_units,
            "list_value_cents": cat_value,
        }
    )
    return by_sku, by_category


def write_run_dir(
    run_dir: Path,
    scenario: Scenario,
    result: TwinResult,
    *,
    mode: str,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write every file of the run directory except ``traffic.jsonl`` (streamed during the run).

    ``scenario`` is the scenario exactly as run (seed, days and policies resolved).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = scenario
    seed, days = scenario.seed, scenario.duration_days
    (run_dir / "scenario.yaml").write_text(dump_scenario(resolved), encoding="utf-8")
    _json(run_dir / "kpis.json", result.kpis)
    meta = {
        "scenario": scenario.name,
        "seed": seed,
        "days": days,
        "commerce_mode": mode,
        "policies": resolved.policies.model_dump(mode="json"),
        "versions": package_versions(),
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "wall_seconds": result.wall_seconds,
        "kpis_digest": result.kpis_digest,
        "events_digest": result.events_digest,
        "events": len(result.events),
        **(extra or {}),
    }
    _json(run_dir / "run.json", meta)
    cols = result.book.daily_rows()
    cols["location"] = cols["location"].astype(str)
    pq.write_table(pa.table(cols), run_dir / "daily.parquet")
    by_sku, by_category = sales_tables(scenario, result)
    pq.write_table(by_sku, run_dir / "sales_by_sku.parquet")
    pq.write_table(by_category, run_dir / "sales_by_category.parquet")
    result.events.to_parquet(run_dir / "events.parquet")
    write_report(run_dir, scenario.name, seed, result.kpis, result.daily)
    logger.info("run directory written: %s", run_dir)
