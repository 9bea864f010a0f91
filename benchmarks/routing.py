"""Routing benchmarks: gap to the best-known solutions, one twin day's routes, the green table.

Modes:

* default: the six CVRPLIB X instances in ``data/cvrp/`` (read with ``vrplib``), each solved by
  PyVRP and by OR-Tools guided local search (seed 0, one process, so one core), printing the
  gap to the best-known solution (BKS) after 10 s and after 60 s per instance and the mean.
  Budgets are CPU seconds of this process, read off one 60 s anytime run per (instance,
  solver) (the best cost when the clock passed 10 s, and at the end), so that a shared,
  loaded machine gives the figure of one core; the CPU share the run got is printed.
  ``--wall``: separate runs per budget on the wall clock instead.
* ``--quick``: 2 s per run (about 30 s of CPU in all).
* ``--twin-day``: one day's routes for ``scenarios/large.yaml``'s online order volume (the
  twin's fleet problem, several depots, time slots, shifts), wall time and KPIs.
* ``--green``: the CO2-versus-cost trade-off on that day's problem for a range of CO2 prices.

Usage::

    python benchmarks/routing.py --quick
    taskset -c 0 python benchmarks/routing.py --budgets 10 60 > routing_bench.txt
    python benchmarks/routing.py --twin-day --green
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from policies.routing import (  # noqa: E402
    Depot,
    RoutingProblem,
    SolveOptions,
    Stop,
    VehicleType,
    make_router,
)

CVRP_DIR = ROOT / "data" / "cvrp"
INSTANCES = ("X-n125-k30", "X-n139-k10", "X-n148-k46", "X-n157-k13", "X-n172-k51", "X-n181-k23")
log = logging.getLogger("benchmarks.routing")


@dataclass(frozen=True, slots=True)
class Cvrp:
    name: str
    problem: RoutingProblem
    bks: float


def load_cvrp(name: str) -> Cvrp:
    """A CVRPLIB instance as a RoutingProblem (rounded Euclidean distances, unlimited fleet)."""
    import vrplib

    inst = vrplib.read_instance(str(CVRP_DIR / f"{name}.vrp"))
    sol = vrplib.read_solution(str(CVRP_DIR / f"{name}.sol"))
    xy = np.asarray(inst["node_coord"], dtype=float)
    demand = np.asarray(inst["demand"], dtype=int)
    depot = int(np.asarray(inst["depot"]).ravel()[0])
    order = [depot] + [i for i in range(len(xy)) if i != depot]
    xy, demand = xy[order], demand[order]
    dist = np.rint(np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)))
    problem = RoutingProblem(
        depots=(Depot("depot", float(xy[0, 0]), float(xy[0, 1])),),
        stops=tuple(
            Stop(f"c{i}", float(xy[i, 0]), float(xy[i, 1]), demand=int(demand[i]))
            for i in range(1, len(xy))
        ),
        vehicles=(
            VehicleType(
                "truck", count=len(xy) - 1, capacity=int(inst["capacity"]), cost_per_km_cents=1
            ),
        ),
        distance_km=dist,
    )
    return Cvrp(name, problem, float(sol["cost"]))


def _gap(cost: float, bks: float) -> float:
    return 100.0 * (cost - bks) / bks


def run_cvrp(
    budgets: list[float],
    solvers: list[str],
    seed: int,
    *,
    wall: bool = False,
    instances: tuple[str, ...] = INSTANCES,
) -> dict[str, object]:
    """Gap to the BKS at each budget, per instance and solver.

    Default (anytime, CPU time): one run per (instance, solver) of ``max(budgets)`` CPU seconds
    of this process, the best solution's cost recorded as the search improves it, read off at
    each budget. ``wall``: a separate run per budget on the wall clock instead.
    """
    rows: list[dict[str, object]] = []
    for name in instances:
        inst = load_cvrp(name)
        runs = [[b] for b in budgets] if wall else [sorted(budgets)]
        for marks in runs:
            for solver in solvers:
                log: list[tuple[float, int]] = []
                opts = SolveOptions(
                    time_limit_s=max(marks),
                    seed=seed,
                    cpu_time=not wall,
                    on_progress=lambda t, obj, log=log: log.append((t, obj)),  # type: ignore[misc]
                )
                c0, w0 = time.process_time(), time.perf_counter()
                sol = make_router(solver).solve(inst.problem, opts)
                cpu, w = time.process_time() - c0, time.perf_counter() - w0
                for mark in marks:
                    if mark == max(marks):
                        cost = sol.distance_km
                    else:
                        seen = [obj for t, obj in log if t <= mark]
                        # objective = metres x 10 (1 cent per unit): / 1e4 gives the distance
                        cost = min(seen) / 1e4 if seen else float("nan")
                    row = {
                        "instance": name,
                        "budget_s": mark,
                        "solver": solver,
                        "cost": round(cost),
                        "bks": inst.bks,
                        "gap_pct": round(_gap(cost, inst.bks), 3),
                        "feasible": sol.feasible,
                        "run_cpu_s": round(cpu, 1),
                        "run_wall_s": round(w, 1),
                    }
                    rows.append(row)
                    print(
                        f"{name:12s} {mark:5g}s {solver:8s} cost {row['cost']:>7} "
                        f"bks {inst.bks:>7.0f} gap {row['gap_pct']:6.2f}%  "
                        f"feasible {sol.feasible}  run cpu {cpu:5.1f}s wall {w:6.1f}s",
                        flush=True,
                    )
    summary: dict[str, dict[str, float]] = {}
    clock = "wall" if wall else "CPU"
    print(f"\nmean gap to BKS (%) over the six instances, budgets in {clock} seconds:")
    print(f"{'budget':>8s} " + " ".join(f"{s:>10s}" for s in solvers))
    for budget in budgets:
        line = f"{budget:7g}s "
        for solver in solvers:
            gaps = [
                float(r["gap_pct"])  # type: ignore[arg-type]
                for r in rows
                if r["solver"] == solver and r["budget_s"] == budget
            ]
            m = statistics.fmean(gaps)
            summary.setdefault(solver, {})[f"{budget:g}s"] = round(m, 3)
            line += f"{m:10.3f} "
        print(line)
    last = [r for r in rows if r["budget_s"] == max(budgets)]
    cpu_total = float(sum(r["run_cpu_s"] for r in last))  # type: ignore[misc]
    wall_total = float(sum(r["run_wall_s"] for r in last))  # type: ignore[misc]
    print(f"process CPU share while solving: {cpu_total / max(wall_total, 1e-9):.2f} of one core")
    return {"clock": clock, "rows": rows, "mean_gap_pct": summary}


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load avg {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, python {platform.python_version()}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 s per run instead of 10 and 60")
    ap.add_argument("--budgets", type=float, nargs="+", default=[10.0, 60.0])
    ap.add_argument("--solvers", nargs="+", default=["pyvrp", "ortools"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--twin-day", action="store_true", help="one day of large.yaml's orders")
    ap.add_argument("--green", action="store_true", help="the CO2-versus-cost table")
    ap.add_argument("--wall", action="store_true", help="separate wall-clock runs per budget")
    ap.add_argument("--instances", nargs="+", default=list(INSTANCES), choices=INSTANCES)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(f"machine: {machine()}", flush=True)
    out: dict[str, object] = {"machine": machine()}
    if args.twin_day or args.green:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from routing_twin import run_green, run_twin_day  # type: ignore[import-not-found]

        if args.twin_day:
            out["twin_day"] = run_twin_day(args.seed)
        if args.green:
            out["green"] = run_green(args.seed)
    else:
        budgets = [2.0] if args.quick else args.budgets
        out["cvrp"] = run_cvrp(
            budgets, args.solvers, args.seed, wall=args.wall, instances=tuple(args.instances)
        )
    print(f"machine at end: {machine()}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
