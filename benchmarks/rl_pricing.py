"""Learned dynamic pricing as a share of the continuous DP optimum, over several training seeds,
beside the best fixed price, the re-solved fluid price and the optimum on the environment's
41-price grid (which caps any grid-action learner).

Model of ``policies.pricing.dynamic``: ``stock`` units, ``horizon`` periods, Poisson demand
``a * exp(-b * price)``. Learner (``policies.rl.pricing_search``): a continuous-price policy in
dimensionless units, ``b * price = max(t0, t1 + t2 * log(a n / x)) + t3 / sqrt(x)``, trained by
a cross-entropy method on common random numbers; the checkpoint is the generation whose mean
does best on simulated validation customers (seeds disjoint from training). Exact expected
revenues (backward recursion over the policy) are for reporting only.

    python benchmarks/rl_pricing.py                 # 6 cases x 5 seeds
    python benchmarks/rl_pricing.py --seeds 3 --markdown
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from policies.envs.pricing import PricingConfig  # noqa: E402
from policies.pricing.dynamic import best_fixed_price, solve_dynamic_pricing  # noqa: E402
from policies.rl.exact_eval import exact_pricing_revenue  # noqa: E402
from policies.rl.pricing_search import (  # noqa: E402
    FLUID_THETA,
    FluidPricePolicy,
    train_pricing_policy,
)
from policies.stats import mean_ci  # noqa: E402

CASES = (
    (10, 20, 3.0, 0.5),
    (20, 20, 3.0, 0.5),
    (30, 30, 2.0, 0.5),
    (20, 50, 1.0, 0.5),
    (5, 10, 1.0, 1.0),
    (40, 40, 3.0, 0.5),
)


def exact_revenue(policy: FluidPricePolicy, stock: int, horizon: int) -> float:
    """Exact expected revenue of ``policy`` from the full stock."""

    def fn(obs: np.ndarray) -> np.ndarray:
        return policy.price(obs[:, 1].astype(np.float64) * horizon, obs[:, 0] * stock)

    return exact_pricing_revenue(fn, stock, horizon, policy.a, policy.b)


def run_case(stock: int, horizon: int, a: float, b: float, seeds: int) -> dict[str, Any]:
    """Train ``seeds`` policies on one case; everything reported exactly."""
    opt = solve_dynamic_pricing(stock, horizon, a, b).optimum
    grid = PricingConfig(stock=stock, horizon=horizon, a=a, b=b).prices
    grid_opt = solve_dynamic_pricing(stock, horizon, a, b, price_grid=grid).optimum
    fixed = best_fixed_price(stock, horizon, a, b).revenue
    fluid = exact_revenue(FluidPricePolicy(FLUID_THETA, a, b), stock, horizon)
    t0 = time.monotonic()
    learned = []
    for seed in range(seeds):
        res = train_pricing_policy(stock=stock, horizon=horizon, a=a, b=b, seed=seed)
        rev = exact_revenue(res.policy, stock, horizon)
        learned.append(
            {
                "seed": seed,
                "theta": res.policy.theta,
                "validation": res.validation_revenue,
                "exact": rev,
                "share": 100 * rev / opt,
            }
        )
    ci = mean_ci([r["share"] for r in learned])
    return {
        "stock": stock,
        "horizon": horizon,
        "a": a,
        "b": b,
        "optimal": opt,
        "grid41": grid_opt,
        "fixed": fixed,
        "fluid": fluid,
        "share_mean": ci.mean,
        "share_ci": ci.half_width,
        "share_min": min(r["share"] for r in learned),
        "train_s_per_seed": (time.monotonic() - t0) / seeds,
        "seeds": learned,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--cases", type=int, default=len(CASES), help="first N cases")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    t0 = time.monotonic()
    rows = [run_case(*c, a.seeds) for c in CASES[: a.cases]]
    print(
        f"{'stock':>5} {'T':>3} {'a':>4} {'b':>4} {'DP opt':>8} {'41-grid DP':>10} "
        f"{'fixed':>7} {'fluid':>7} {'learned % (mean ± CI)':>22} {'worst':>7}"
    )
    for r in rows:
        o = r["optimal"]
        print(
            f"{r['stock']:>5} {r['horizon']:>3} {r['a']:>4} {r['b']:>4} {o:8.3f} "
            f"{100 * r['grid41'] / o:9.2f}% {100 * r['fixed'] / o:6.2f}% "
            f"{100 * r['fluid'] / o:6.2f}% {r['share_mean']:14.3f} ± {r['share_ci']:5.3f} "
            f"{r['share_min']:6.3f}%"
        )
    ok = sum(r["share_min"] >= 99.0 for r in rows)
    print(
        f"every seed >= 99% of the DP optimum on {ok}/{len(rows)} cases; {a.seeds} seeds, one "
        f"process, {time.monotonic() - t0:.0f} s wall, load average {os.getloadavg()[0]:.1f}"
    )
    if a.markdown:
        print()
        print(
            "| stock | T | a | b | DP optimum | 41-price-grid DP | best fixed price | fluid price "
            "| learned (mean ± 95% CI) | worst seed |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            o = r["optimal"]
            print(
                f"| {r['stock']} | {r['horizon']} | {r['a']} | {r['b']} | {o:.3f} | "
                f"{100 * r['grid41'] / o:.2f}% | {100 * r['fixed'] / o:.2f}% | "
                f"{100 * r['fluid'] / o:.2f}% | {r['share_mean']:.2f}% ± {r['share_ci']:.2f} | "
                f"{r['share_min']:.2f}% |"
            )
    if a.out:
        a.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
