"""Learned lost-sales replenishment on the 16 Zipkin (2008) cells against the DP optimum, over
several training seeds, beside capped base-stock and the myopic (projected-inventory) policy.

Cells: Poisson(5) demand, holding 1, lost-sales penalty p in {4, 9, 19, 39}, lead time L in
{1, 2, 3, 4} (timing of ``dynamics.inventory``), long-run average cost per period.

Learner (``policies.rl.projected``): a projected-inventory quantile policy ``(alpha, cap)``
trained by a cross-entropy method on common random numbers (batched shared kernel); the
checkpoint is the generation whose mean does best on simulated **validation** demand paths
(seeds disjoint from training). The exact solvers are used only to *report* costs: the DP
optimum, the exact cost of every selected policy, the best capped base-stock policy (exact
search, so the baseline is at its strongest) and Zipkin's myopic policy
(``alpha = p / (p + h)``, uncapped). Learned figures are the mean and 95% Student-t CI over
training seeds of the exact gap of each seed's selected policy.

    python benchmarks/rl_replenishment.py                       # 16 cells x 5 seeds
    python benchmarks/rl_replenishment.py --cases 4:4 39:4 --seeds 3
    python benchmarks/rl_replenishment.py --processes 2 --out results.json --markdown
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PENALTIES = (4, 9, 19, 39)
LEADS = (1, 2, 3, 4)
MEAN = 5.0


def run_case(args: tuple[int, int, int]) -> dict[str, Any]:
    """Train ``seeds`` policies on one (p, L) cell and evaluate everything exactly."""
    p, lead, seeds = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from policies.exact.demand import poisson_demand
    from policies.exact.dp import InventoryMDP, solve
    from policies.exact.markov import stationary_metrics
    from policies.replenishment.base_stock import best_capped_base_stock
    from policies.rl.projected import (
        OrderTable,
        ProjectedQuantilePolicy,
        default_limits,
        train_projected_policy,
    )
    from policies.stats import mean_ci

    mdp = InventoryMDP(poisson_demand(MEAN), lead, 1.0, float(p), lost_sales=True)
    opt = solve(mdp).average_cost
    cbs = best_capped_base_stock(mdp)
    # Learned and myopic policies may raise the position above the DP grid's default bound;
    # evaluate them on a wider grid so they are never clipped.
    _, top, _ = mdp.grid
    wide = dataclasses.replace(mdp, max_position=top + 8)
    myopic = ProjectedQuantilePolicy.myopic(MEAN, lead, 1.0, float(p))
    myopic_cost = stationary_metrics(wide, myopic.grid_policy()).average_cost
    table = OrderTable(MEAN, lead, *default_limits(MEAN, lead))
    learned: list[dict[str, Any]] = []
    t0 = time.monotonic()
    for seed in range(seeds):
        res = train_projected_policy(
            demand_mean=MEAN, lead_time=lead, holding=1.0, penalty=float(p), seed=seed, table=table
        )
        exact = stationary_metrics(wide, res.policy.grid_policy()).average_cost
        learned.append(
            {
                "seed": seed,
                "fractile": res.policy.fractile,
                "cap": res.policy.cap,
                "validation_cost": res.validation_cost,
                "exact": exact,
                "gap": gap(exact, opt),
                "simulated_periods": res.simulated_periods,
            }
        )
    ci = mean_ci([r["gap"] for r in learned])
    return {
        "p": p,
        "L": lead,
        "optimal": opt,
        "capped": cbs.average_cost,
        "capped_S": cbs.base_stock,
        "capped_cap": cbs.cap,
        "myopic": myopic_cost,
        "learned_gap_mean": ci.mean,
        "learned_gap_ci": ci.half_width,
        "learned_gap_max": max(r["gap"] for r in learned),
        "learned_mean_cost": sum(r["exact"] for r in learned) / len(learned),
        "train_s_per_seed": (time.monotonic() - t0) / seeds,
        "table_clipped_rows": table.clipped,
        "seeds": learned,
    }


def gap(value: float, opt: float) -> float:
    """Gap to the optimum, percent."""
    return 100.0 * (value - opt) / opt


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cases", nargs="*", default=None, help="p:L pairs (default: all 16)")
    ap.add_argument("--seeds", type=int, default=5, help="training seeds per cell")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    ap.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    a = ap.parse_args()
    cases = [(p, lead) for p in PENALTIES for lead in LEADS]
    if a.cases:
        cases = [(int(c.split(":")[0]), int(c.split(":")[1])) for c in a.cases]
    # Longest cells first so the pool finishes together.
    jobs = sorted(((p, lead, a.seeds) for p, lead in cases), key=lambda j: -j[1])
    t0 = time.monotonic()
    with ProcessPoolExecutor(max_workers=a.processes) as pool:
        rows = sorted(pool.map(run_case, jobs), key=lambda r: (r["p"], r["L"]))
    print(
        f"{'p':>3} {'L':>2} {'optimal':>8} {'learned gap % (mean ± CI)':>26} {'worst':>6} "
        f"{'capped BS gap':>13} {'myopic gap':>10}"
    )
    for r in rows:
        print(
            f"{r['p']:>3} {r['L']:>2} {r['optimal']:8.4f} "
            f"{r['learned_gap_mean']:17.3f} ± {r['learned_gap_ci']:5.3f} "
            f"{r['learned_gap_max']:6.3f} {gap(r['capped'], r['optimal']):12.3f}% "
            f"{gap(r['myopic'], r['optimal']):9.3f}%"
        )
    within = sum(r["learned_gap_max"] <= 0.5 for r in rows)
    beats = sum(r["learned_mean_cost"] < r["capped"] for r in rows)
    print(
        f"every seed within 0.5% of optimal on {within}/{len(rows)} cells; learned mean beats "
        f"capped base-stock on {beats}/{len(rows)}; {a.seeds} seeds per cell, "
        f"{a.processes} processes, {time.monotonic() - t0:.0f} s wall, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    if a.markdown:
        print()
        print(
            "| p | L | DP optimum | learned gap (mean ± 95% CI, 5 seeds) | worst seed | "
            "capped base-stock gap | myopic gap |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['p']} | {r['L']} | {r['optimal']:.4f} | {r['learned_gap_mean']:.3f}% ± "
                f"{r['learned_gap_ci']:.3f} | {r['learned_gap_max']:.3f}% | "
                f"{gap(r['capped'], r['optimal']):.3f}% | {gap(r['myopic'], r['optimal']):.3f}% |"
            )
    if a.out:
        a.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
