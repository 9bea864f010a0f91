"""Speed of the RL environments (one core).

- single-SKU ``ShopSphere/Replenishment-v0`` steps/s through the Gymnasium API
  (``gymnasium.make`` with its default wrappers; target >= 20,000);
- batched SKU-location-days/s of ``BatchedReplenishment`` with 6,000 SKU-locations
  (target >= 5 million);
- ``reset()`` time of both (target < 0.1 s);
- the dynamic-pricing env's steps/s, for reference;
- the multi-echelon network kernel (``MultiEchelonReplenishment-v1``: supplier, warehouse,
  stores, per-SKU orders, capacities, rationing, stochastic lead times) in SKU-location-days/s,
  batched (``--net-envs`` copies x 100 SKUs x 11 locations; target >= 5 million; MABIM
  reports about 1.6 million), with fixed orders (kernel alone) and with the echelon
  base-stock policy computing the orders every day.

Every figure is the median of ``--repeats`` runs; the machine and its load average are printed
(the project machine is shared, so figures are lower bounds of an idle core).

    OMP_NUM_THREADS=1 python benchmarks/env_speed.py
    OMP_NUM_THREADS=1 python benchmarks/env_speed.py --only network
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
    """Median wall time of ``repeats`` calls (the name is historical)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def cpu_median(fn: object, repeats: int) -> float:
    """Median CPU time (this process) of ``repeats`` calls: on a shared, loaded machine this is
    closer to what one idle core would take than the wall time."""
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()  # type: ignore[operator]
        times.append(time.process_time() - t)
    return float(np.median(times))


def machine() -> str:
    """CPU model, core count and the 1-minute load average."""
    import platform

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model}, {os.cpu_count()} logical cores, load average {load:.2f}"


def network_speed(n_envs: int, days: int, repeats: int) -> None:
    """Print the network kernel's SKU-location-days/s, alone and with echelon base-stock."""
    from policies.envs.multi_echelon_core import NetworkConfig, NetworkKernel, build_network
    from policies.envs.multi_echelon_policies import global_levels

    params = build_network(NetworkConfig())
    k = NetworkKernel(params, n_envs, seed=0)
    policy = global_levels(params, np.full(n_envs, 1.5), np.full(n_envs, 2.0))
    k.step(policy.orders(k))
    fixed = policy.orders(k)
    cells = n_envs * params.n_locations * params.n_skus

    def kernel_only() -> None:
        for _ in range(days):
            k.step(fixed)

    def with_policy() -> None:
        for _ in range(days):
            k.step(policy.orders(k))

    t_k = best_of(kernel_only, repeats)
    t_p = best_of(with_policy, repeats)
    c_k = cpu_median(kernel_only, repeats)
    c_p = cpu_median(with_policy, repeats)
    t_r = best_of(lambda: k.reset(seed=1), 20)
    shape = f"{n_envs} envs x {params.n_skus} SKUs x {params.n_locations} locations"
    print(
        f"network kernel MultiEchelon-v1 ({shape}): {cells * days / t_k:,.0f} "
        f"SKU-location-days/s wall, {cells * days / c_k:,.0f} per CPU-second "
        "(target >= 5,000,000; MABIM ~1,600,000)"
    )
    print(
        f"network kernel + echelon base-stock policy: {cells * days / t_p:,.0f} "
        f"SKU-location-days/s wall, {cells * days / c_p:,.0f} per CPU-second; "
        f"reset {t_r * 1e3:.3f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--steps", type=int, default=100_000, help="single-env steps per repeat")
    ap.add_argument("--skus", type=int, default=6_000, help="SKU-locations in the batch")
    ap.add_argument("--days", type=int, default=365, help="batched periods per repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--net-envs", type=int, default=32, help="network copies in the batch")
    ap.add_argument("--net-days", type=int, default=100, help="network days per repeat")
    ap.add_argument("--only", choices=("all", "network"), default="all")
    a = ap.parse_args()
    print(f"machine: {machine()}")
    network_speed(a.net_envs, a.net_days, a.repeats)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if a.only == "network":
        return

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
