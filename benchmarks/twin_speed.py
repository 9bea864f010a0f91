"""Twin speed: simulated shopper sessions per wall second through the real service layer.

Runs scenarios in in-process mode (the SQLite service layer on the simulated clock, one
Python process, so one core) and prints, per scenario, the median over ``--repeats`` runs of
(baseline as shipped, and baseline with every session in store, which isolates the online
channel's per-order API calls: cart, lines, checkout, allocate, ship, deliver):
sessions per wall second, the wall time, the API calls made and the share of the wall time
spent inside API calls (the rest is the twin itself: SimPy, Mesa, kernels, policies).

``large.yaml`` (54 stores, 10,000 SKUs, 90 days) is run for ``--large-days`` days; when that
is fewer than its 90, the full wall time is extrapolated linearly from the measured days
(setup time counted once) and labelled as such.

Usage::

    python benchmarks/twin_speed.py                       # baseline x3, large 3 days
    python benchmarks/twin_speed.py --large-days 90       # the full large run
    python benchmarks/twin_speed.py --skip-large --repeats 5
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def store_only(path: Path) -> Any:
    """The scenario with every session in store (online channels switched off)."""
    from scenarios.load import read_yaml
    from scenarios.schema import parse_scenario

    data, _ = read_yaml(path)
    data["customers"]["channel_mix"] = {"web": 0.0, "app": 0.0, "store": 1.0}
    return parse_scenario(data, source=f"{path} (store only)")


def one_run(path: Path | Any, days: int | None) -> dict[str, Any]:
    from twin.runner import run_scenario

    t0 = time.perf_counter()
    out = run_scenario(path, days=days, write=False)
    wall = time.perf_counter() - t0
    k = out.kpis
    api_ms = sum(s.get("total_ms", 0.0) for s in k["api"].values())
    setup_ms = sum(
        k["api"].get(m, {}).get("total_ms", 0.0)
        for m in ("import_skus", "create_location", "create_category")
    )
    return {
        "days": out.result.book.days,
        "sessions": out.result.book.data["sessions"].sum(),
        "wall_s": wall,
        "engine_s": k["wall_seconds"],
        "api_calls": k["api_calls"],
        "api_share": api_ms / 1000.0 / max(k["wall_seconds"], 1e-9),
        "setup_s": setup_ms / 1000.0,
    }


def bench(path: Path | Any, days: int | None, repeats: int) -> dict[str, Any]:
    runs = [one_run(path, days) for _ in range(repeats)]
    med = {
        key: statistics.median(r[key] for r in runs)
        for key in ("wall_s", "engine_s", "api_share", "setup_s")
    }
    sessions = int(runs[0]["sessions"])
    med["sessions"] = sessions
    med["days"] = runs[0]["days"]
    med["api_calls"] = runs[0]["api_calls"]
    med["sessions_per_s"] = statistics.median(int(r["sessions"]) / r["wall_s"] for r in runs)
    med["repeats"] = repeats
    return med


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--baseline", default=str(ROOT / "scenarios" / "baseline.yaml"))
    ap.add_argument("--large", default=str(ROOT / "scenarios" / "large.yaml"))
    ap.add_argument("--repeats", type=int, default=3, help="runs per figure (median reported)")
    ap.add_argument(
        "--large-days", type=int, default=3, help="days of large.yaml to run (90 = all)"
    )
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument(
        "--large-store-only",
        action="store_true",
        help="run large.yaml with every session in store (no per-order online API calls)",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from scenarios.schema import load_scenario

    print(
        "twin speed, in-process mode (SQLite service layer, simulated clock), one process = one core"
    )
    b = bench(Path(args.baseline), None, args.repeats)
    print(
        f"baseline.yaml: {b['days']} days, {b['sessions']:,} sessions, {b['api_calls']:,} API calls; "
        f"median of {b['repeats']}: wall {b['wall_s']:.1f} s, {b['sessions_per_s']:,.0f} sessions/s "
        f"(target >= 5,000), {100 * b['api_share']:.0f}% of the time inside API calls"
    )
    s = bench(store_only(Path(args.baseline)), None, args.repeats)
    print(
        f"baseline.yaml, store channel only: {s['sessions']:,} sessions, {s['api_calls']:,} API calls; "
        f"median of {s['repeats']}: wall {s['wall_s']:.1f} s, {s['sessions_per_s']:,.0f} sessions/s, "
        f"{100 * s['api_share']:.0f}% inside API calls"
    )
    if args.skip_large:
        return
    sc = load_scenario(args.large)
    days = min(args.large_days, sc.duration_days)
    g = bench(store_only(Path(args.large)) if args.large_store_only else Path(args.large), days, 1)
    per_day = (g["engine_s"] - g["setup_s"]) / days
    full = g["setup_s"] + per_day * sc.duration_days + (g["wall_s"] - g["engine_s"])
    label = "measured" if days == sc.duration_days else f"extrapolated from {days} days"
    what = "large.yaml (store channel only)" if args.large_store_only else "large.yaml"
    print(
        f"{what}: {days} of {sc.duration_days} days, {g['sessions']:,} sessions, "
        f"{g['api_calls']:,} API calls, wall {g['wall_s']:.1f} s ({g['sessions_per_s']:,.0f} sessions/s, "
        f"{100 * g['api_share']:.0f}% inside API calls)"
    )
    print(f"{what} full run: {full:,.0f} s ({label}; target < 300 s)")


if __name__ == "__main__":
    main()
