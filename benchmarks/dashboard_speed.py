"""How fast each dashboard page renders on a given run directory (Streamlit AppTest, headless).

    python benchmarks/dashboard_speed.py RUN_DIR [--repeats 5]

Renders the Results page (KPI cards, the default time series, drill-down, map) on ``RUN_DIR``
and the Runs page (listing) on its parent, ``--repeats`` times each, and prints the first
(cold: Parquet read) and the median warm render time (cached), with the machine named. The
target is < 2 s per page on the run directory of a 90-day ``large.yaml`` run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

VIEWS = Path(__file__).resolve().parents[1] / "dashboards" / "views"


def _render(page: str, run: str | None) -> float:
    at = AppTest.from_file(str(VIEWS / f"{page}.py"), default_timeout=300)
    if run is not None:
        at.query_params["run"] = run
    start = time.perf_counter()
    at.run()
    took = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"{page}: {at.exception[0].value}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a run directory (e.g. of large.yaml)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    run_dir: Path = args.run_dir.resolve()
    os.environ["SHOPSPHERE_RUNS_DIR"] = str(run_dir.parent)
    size = sum(f.stat().st_size for f in run_dir.iterdir() if f.is_file()) / 1e6
    print(f"machine: {platform.node()} ({os.cpu_count()} CPUs), load {os.getloadavg()[0]:.1f}")
    print(f"run dir: {run_dir} ({size:.1f} MB)\n")
    print("| page | cold s | warm s (median) |")
    print("|---|---:|---:|")
    for page, run in (("run_results", run_dir.name), ("run_list", None)):
        times = [_render(page, run) for _ in range(args.repeats)]
        warm = statistics.median(times[1:]) if len(times) > 1 else times[0]
        print(f"| {page} | {times[0]:.2f} | {warm:.2f} |")


if __name__ == "__main__":
    main()
