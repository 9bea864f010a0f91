"""Speed of the RL environments (one core).

- single-SKU ``ShopSphere/Replenishment-v0`` steps/s through the Gymnasium API
  (``gymnasium.make`` with its default wrappers; target >= 20,000);
- batched SKU-location-days/s of ``BatchedReplenishment`` with 6,000 SKU-locations
  (target >= 5 million);
- ``reset()`` time of both (target < 0.1 s);
- the dynamic-pricing env's steps/s, for reference.

    OMP_NUM_THREADS=1 python benchmarks/env_speed.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def best_of(fn: object, repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--steps", type=int, default=100_000, help="single-env steps per repeat")
    ap.add_argument("--skus", type=int, default=6_000, help="SKU-locations in the batch")
    ap.add_argument("--days", type=int, default=365, help="batched periods per repeat")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()

    import gymnasium as gym

    import policies.envs  # noqa: F401
    from policies.envs.replenishment import BatchedReplenishment

    env = gym.make("ShopSphere/Replenishment-v0", penalty_cost=9.0, lead_time=2)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(10, 25, a.steps).tolist()

    def single() -> None:
        step = env.step
        for act in actions:
            _, _, term, trunc, _ = step(act)
            if term or trunc:
                env.reset()

    t_single = best_of(single, a.repeats)
    t_reset = best_of(lambda: env.reset(seed=1), 20)

    batch = BatchedReplenishment(
        a.skus, penalty_cost=9.0, lead_time=2, episode_length=10**9, seed=0
    )
    batch.reset()
    act = np.full(a.skus, 20)

    def batched() -> None:
        for _ in range(a.days):
            batch.step(act)

    t_batch = best_of(batched, a.repeats)
    t_breset = best_of(lambda: batch.reset(seed=1), 20)

    pricing = gym.make("ShopSphere/DynamicPricing-v0")
    pricing.reset(seed=0)
    n_p = a.steps // 2

    def price_steps() -> None:
        for _ in range(n_p):
            _, _, term, trunc, _ = pricing.step(20)
            if term or trunc:
                pricing.reset()

    t_price = best_of(price_steps, a.repeats)
    print(
        f"single-SKU Replenishment-v0 (gymnasium.make, wrappers on): "
        f"{a.steps / t_single:,.0f} steps/s (target >= 20,000)"
    )
    print(
        f"batched Replenishment, {a.skus:,} SKU-locations: "
        f"{a.skus * a.days / t_batch:,.0f} SKU-location-days/s (target >= 5,000,000)"
    )
    print(
        f"reset: single {t_reset * 1e3:.3f} ms, batched ({a.skus:,}) {t_breset * 1e3:.3f} ms "
        "(target < 100 ms)"
    )
    print(f"single DynamicPricing-v0: {n_p / t_price:,.0f} steps/s")


if __name__ == "__main__":
    main()
