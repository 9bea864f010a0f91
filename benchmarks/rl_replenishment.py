"""Learned replenishment (PPO) on the 16 lost-sales cases, beside the DP optimum and the best
base-stock and capped base-stock policies (all costs exact: relative value iteration on the
DP grid, no simulation noise).

Cases: Poisson(5) demand, holding 1, lost-sales penalty p in {4, 9, 19, 39}, lead time L in
{1, 2, 3, 4} (timing of ``dynamics.inventory``). Each case trains ``configs/rl/
replenishment.yaml`` (penalty and lead time substituted) for a wall-clock budget, keeping the
checkpoint with the lowest exact cost; cases run in parallel processes.

    python benchmarks/rl_replenishment.py                       # all 16 cases, 2 processes
    python benchmarks/rl_replenishment.py --cases 9:2 4:1 --budget 60
    python benchmarks/rl_replenishment.py --processes 16 --budget 420 --out results.json
"""

from __future__ import annotations

import argparse
import json
import logging
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


def run_case(args: tuple[int, int, float, int, str | None, int]) -> dict[str, Any]:
    """Train and evaluate one (p, L) case; returns the row of the table."""
    p, lead, budget, seed, artifacts, total_steps = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from policies.exact.demand import poisson_demand
    from policies.exact.dp import InventoryMDP, solve
    from policies.replenishment.base_stock import best_base_stock, best_capped_base_stock
    from policies.rl.train import load_config, train

    mdp = InventoryMDP(poisson_demand(5.0), lead, 1.0, float(p), lost_sales=True)
    opt = solve(mdp).average_cost
    bs = best_base_stock(mdp)
    cbs = best_capped_base_stock(mdp)
    cfg = load_config(ROOT / "configs" / "rl" / "replenishment.yaml")
    kwargs = dict(cfg.env_kwargs, penalty_cost=float(p), lead_time=lead, demand_mean=5.0)
    out_dir = (artifacts or "/tmp/shopsphere-rl-bench") + f"/p{p}-L{lead}"
    cfg = type(cfg).from_mapping(
        {
            **cfg.to_dict(),
            "name": f"replenishment-p{p}-L{lead}",
            "env_kwargs": kwargs,
            "seed": seed,
            "time_budget_s": budget,
            "eval_every": 100_000 if lead >= 4 else 50_000,
            "total_timesteps": total_steps,
            "output_dir": out_dir,
        }
    )
    t0 = time.monotonic()
    result = train(cfg)
    rl = float(result.best_metric) if result.best_metric is not None else float("nan")
    return {
        "p": p,
        "L": lead,
        "optimal": opt,
        "base_stock": bs.average_cost,
        "base_stock_S": bs.base_stock,
        "capped": cbs.average_cost,
        "capped_S": cbs.base_stock,
        "capped_cap": cbs.cap,
        "rl": rl,
        "rl_steps": int(result.model.num_timesteps),
        "train_s": time.monotonic() - t0,
        "history": result.history,
    }


def gap(value: float, opt: float) -> float:
    """Gap to the optimum, percent."""
    return 100.0 * (value - opt) / opt


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cases", nargs="*", default=None, help="p:L pairs (default: all 16)")
    ap.add_argument("--budget", type=float, default=120.0, help="training seconds per case")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument(
        "--total-steps",
        type=int,
        default=1_000_000,
        help="PPO steps per case (the learning rate decays over them; --budget may stop earlier)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    ap.add_argument("--artifacts", default=None, help="folder for run outputs and artifacts")
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cases = [(p, lead) for p in PENALTIES for lead in LEADS]
    if a.cases:
        cases = [(int(c.split(":")[0]), int(c.split(":")[1])) for c in a.cases]
    jobs = [(p, lead, a.budget, a.seed, a.artifacts, a.total_steps) for p, lead in cases]
    t0 = time.monotonic()
    with ProcessPoolExecutor(max_workers=a.processes) as pool:
        rows = list(pool.map(run_case, jobs))
    header = (
        f"{'p':>3} {'L':>2} {'optimal':>8} {'base-stock':>11} {'capped BS':>10} {'PPO':>8} "
        f"{'BS gap':>7} {'CBS gap':>8} {'PPO gap':>8} {'steps':>9}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['p']:>3} {r['L']:>2} {r['optimal']:8.4f} {r['base_stock']:11.4f} "
            f"{r['capped']:10.4f} "
            f"{r['rl']:8.4f} {gap(r['base_stock'], r['optimal']):6.2f}% "
            f"{gap(r['capped'], r['optimal']):7.2f}% "
            f"{gap(r['rl'], r['optimal']):7.2f}% {r['rl_steps']:>9}"
        )
    within = sum(gap(r["rl"], r["optimal"]) <= 1.0 for r in rows)
    beats = sum(r["rl"] < r["capped"] for r in rows)
    print(
        f"PPO within 1% of optimal on {within}/{len(rows)} cases; beats capped base-stock on "
        f"{beats}/{len(rows)}; {a.budget:.0f} s training per case, {a.processes} processes, "
        f"{time.monotonic() - t0:.0f} s wall"
    )
    if a.out:
        a.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
