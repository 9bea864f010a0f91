"""Learned dynamic pricing (PPO) as a share of the DP optimum, beside the best fixed price.

Model of ``policies.pricing.dynamic``: ``stock`` units, ``horizon`` periods, Poisson demand
``a * exp(-b * price)``. Each case trains ``configs/rl/pricing.yaml`` (stock, horizon, a, b
substituted) for a wall-clock budget and keeps the checkpoint with the highest exact expected
revenue (backward recursion over the learned price table); cases run in parallel processes.

    python benchmarks/rl_pricing.py --processes 2 --budget 120
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASES = (
    (10, 20, 3.0, 0.5),
    (20, 20, 3.0, 0.5),
    (30, 30, 2.0, 0.5),
    (20, 50, 1.0, 0.5),
    (5, 10, 1.0, 1.0),
    (40, 40, 3.0, 0.5),
)


def run_case(args: tuple[int, int, float, float, float, int, int, str]) -> dict[str, Any]:
    """Train and evaluate one (stock, horizon, a, b) case."""
    stock, horizon, a, b, budget, seed, total_steps, artifacts = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from policies.pricing.dynamic import best_fixed_price, solve_dynamic_pricing
    from policies.rl.train import TrainConfig, load_config, train

    cfg = load_config(ROOT / "configs" / "rl" / "pricing.yaml")
    kwargs = dict(cfg.env_kwargs, stock=stock, horizon=horizon, a=a, b=b)
    cfg = TrainConfig.from_mapping(
        {
            **cfg.to_dict(),
            "name": f"pricing-c{stock}-t{horizon}",
            "env_kwargs": kwargs,
            "seed": seed,
            "episode_length": horizon,
            "time_budget_s": budget,
            "total_timesteps": total_steps,
            "output_dir": f"{artifacts}/c{stock}-t{horizon}",
        }
    )
    t0 = time.monotonic()
    result = train(cfg)
    opt = solve_dynamic_pricing(stock, horizon, a, b).optimum
    fixed = best_fixed_price(stock, horizon, a, b).revenue
    return {
        "stock": stock,
        "horizon": horizon,
        "a": a,
        "b": b,
        "optimal": opt,
        "fixed": fixed,
        "rl": result.best_metric,
        "rl_steps": int(result.model.num_timesteps),
        "train_s": time.monotonic() - t0,
        "history": result.history,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--budget", type=float, default=120.0, help="training seconds per case")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--total-steps", type=int, default=600_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cases", type=int, default=len(CASES), help="first N cases")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--artifacts", default="/tmp/shopsphere-rl-pricing")
    a = ap.parse_args()
    jobs = [(*c, a.budget, a.seed, a.total_steps, a.artifacts) for c in CASES[: a.cases]]
    t0 = time.monotonic()
    with ProcessPoolExecutor(max_workers=a.processes) as pool:
        rows = list(pool.map(run_case, jobs))
    print(
        f"{'stock':>5} {'T':>3} {'a':>4} {'b':>4} {'DP optimum':>10} {'fixed price':>11} "
        f"{'PPO':>8} {'fixed %':>8} {'PPO %':>7} {'steps':>8}"
    )
    for r in rows:
        print(
            f"{r['stock']:>5} {r['horizon']:>3} {r['a']:>4} {r['b']:>4} "
            f"{r['optimal']:10.3f} {r['fixed']:11.3f} "
            f"{r['rl']:8.3f} {100 * r['fixed'] / r['optimal']:7.2f}% "
            f"{100 * r['rl'] / r['optimal']:6.2f}% {r['rl_steps']:>8}"
        )
    ok = sum(r["rl"] >= 0.99 * r["optimal"] for r in rows)
    print(
        f"PPO >= 99% of the DP optimum on {ok}/{len(rows)} cases; {a.budget:.0f} s per case, "
        f"{a.processes} processes, {time.monotonic() - t0:.0f} s wall"
    )
    if a.out:
        a.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
