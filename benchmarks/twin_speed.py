"""Twin speed: simulated shopper sessions per wall second through the real service layer.

Runs scenarios in in-process mode (the SQLite service layer on the simulated clock, one
Python process, so one core) and prints, per scenario and engine mode (``session``: one SimPy
process and its own API calls per session; ``sliced``: sessions per location and hour served
together as batch calls), the median over ``--repeats`` runs of: sessions per wall second, the
wall time, the API calls made, the share of the wall time spent inside API calls (the rest is
the twin itself: SimPy, Mesa, kernels, policies), and the peak resident memory of the process.

``large.yaml`` (54 stores, 10,000 SKUs, 90 days) runs in a child process per run, for
``--large-days`` days (default all 90: a full run, nothing extrapolated); the figure printed is
what was measured for the days run.

Usage::

    python benchmarks/twin_speed.py                           # baseline, both modes, x3
    python benchmarks/twin_speed.py --skip-large --repeats 5
    python benchmarks/twin_speed.py --large-only --large-days 90
    python benchmarks/twin_speed.py --profile sliced          # cProfile of one sliced run
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def scenario(path: Path, mode: str, days: int | None = None) -> Any:
    """The scenario at ``path`` in engine ``mode`` (demand unchanged)."""
    from scenarios.load import read_yaml
    from scenarios.schema import parse_scenario

    data, _ = read_yaml(path)
    data.setdefault("engine", {})["mode"] = mode
    if days is not None:
        data["duration_days"] = days
        data["warmup_days"] = min(int(data.get("warmup_days", 0)), days - 1)
    return parse_scenario(data, source=f"{path} ({mode})")


def one_run(path: Path, mode: str, days: int | None = None) -> dict[str, Any]:
    """Run once in this process; wall time, sessions, calls, API share, peak RSS."""
    from twin.runner import run_scenario

    sc = scenario(path, mode, days)
    t0 = time.perf_counter()
    out = run_scenario(sc, write=False)
    wall = time.perf_counter() - t0
    k = out.kpis
    api_ms = sum(s.get("total_ms", 0.0) for s in k["api"].values())
    return {
        "days": out.result.book.days,
        "sessions": int(out.result.book.data["sessions"].sum()),
        "wall_s": wall,
        "engine_s": k["wall_seconds"],
        "api_calls": k["api_calls"],
        "api_share": api_ms / 1000.0 / max(k["wall_seconds"], 1e-9),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "fill_rate": k["fill_rate"],
        "top_calls": sorted(
            ((m, s["calls"], round(s.get("total_ms", 0.0))) for m, s in k["api"].items()),
            key=lambda x: -x[2],
        )[:5],
    }


def child_run(path: Path, mode: str, days: int | None) -> dict[str, Any]:
    """:func:`one_run` in a fresh interpreter (so peak memory is this run's alone)."""
    cmd = [sys.executable, __file__, "--child", str(path), mode, str(days or 0)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def bench(path: Path, mode: str, repeats: int, days: int | None = None) -> dict[str, Any]:
    runs = [child_run(path, mode, days) for _ in range(repeats)]
    med: dict[str, Any] = {
        key: statistics.median(r[key] for r in runs)
        for key in ("wall_s", "engine_s", "api_share", "peak_rss_mb")
    }
    med.update(
        sessions=runs[0]["sessions"],
        days=runs[0]["days"],
        api_calls=runs[0]["api_calls"],
        fill_rate=runs[0]["fill_rate"],
        top_calls=runs[0]["top_calls"],
        sessions_per_s=statistics.median(r["sessions"] / r["wall_s"] for r in runs),
        repeats=repeats,
    )
    return med


def line(name: str, mode: str, b: dict[str, Any]) -> str:
    return (
        f"{name} [{mode}]: {b['days']} days, {b['sessions']:,} sessions, {b['api_calls']:,} API "
        f"calls; median of {b['repeats']}: wall {b['wall_s']:.1f} s, "
        f"{b['sessions_per_s']:,.0f} sessions/s, {100 * b['api_share']:.0f}% inside API calls, "
        f"peak RSS {b['peak_rss_mb']:,.0f} MB, fill rate {b['fill_rate']:.3f}; "
        f"costliest calls (method, calls, ms): {b['top_calls']}"
    )


def profile(path: Path, mode: str, days: int | None) -> None:
    pr = cProfile.Profile()
    pr.enable()
    one_run(path, mode, days)
    pr.disable()
    pstats.Stats(pr).sort_stats("cumulative").print_stats(30)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--baseline", default=str(ROOT / "scenarios" / "baseline.yaml"))
    ap.add_argument("--large", default=str(ROOT / "scenarios" / "large.yaml"))
    ap.add_argument("--repeats", type=int, default=3, help="runs per figure (median reported)")
    ap.add_argument("--large-days", type=int, default=90, help="days of large.yaml (90 = all)")
    ap.add_argument("--modes", default="session,sliced")
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--large-only", action="store_true")
    ap.add_argument("--profile", choices=("session", "sliced"))
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        path, mode, days = args.child
        print(json.dumps(one_run(Path(path), mode, int(days) or None)))
        return
    if args.profile:
        profile(Path(args.baseline), args.profile, None)
        return
    print(
        f"twin speed, in-process mode (SQLite service layer, simulated clock), one process = one "
        f"core; machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}"
    )
    modes = args.modes.split(",")
    if not args.large_only:
        for mode in modes:
            b = bench(Path(args.baseline), mode, args.repeats)
            print(line("baseline.yaml", mode, b) + "  (target >= 5,000 sessions/s)", flush=True)
    if args.skip_large:
        return
    g = bench(Path(args.large), "sliced", 1, args.large_days)
    full = "full run" if g["days"] == 90 else f"PARTIAL run of {g['days']} days (not the target)"
    print(line("large.yaml", "sliced", g) + f"  ({full}; target 90 days < 300 s, < 4 GB)")


if __name__ == "__main__":
    main()
