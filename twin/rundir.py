"""The run directory: everything needed to inspect, reproduce and replay a run.

Layout::

    <run dir>/
      scenario.yaml    the resolved scenario (defaults filled in, seed and days as run)
      run.json         seed, days, commerce mode, package versions, git commit, wall time,
                       digests of the KPIs and the event log
      kpis.json        headline KPIs and per-method API call statistics
      daily.parquet    one row per (day, location): sales, demand, lost, stock, ...
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
from typing import Any

import orjson

from scenarios.schema import Scenario, dump_scenario
from twin.engine import TwinResult
from twin.report import write_report

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
    result.events.to_parquet(run_dir / "events.parquet")
    write_report(run_dir, scenario.name, seed, result.kpis, result.daily)
    logger.info("run directory written: %s", run_dir)
