"""Joint pricing and replenishment: the exact DP optimum against simple and learned policies.

Instances: ``ShopSphere/JointPricingReplenishment-v0`` defaults (demand Poisson(10 exp(-0.4 p)),
unit cost 2, holding 0.1, 11 prices 2..10, orders up to 16, lost sales, non-perishable) with
lead time 1 and 2, and a 41-price grid at lead time 1.

Rows (long-run profit per period, every policy scored exactly from its Markov chain, so the
figures carry no sampling error; only the training is random):

- **DP optimum**: :func:`policies.exact.joint_dp.solve_joint` (relative value iteration,
  inventory position capped at 48, checked not to bind);
- **static price + base-stock**: the best fixed price and order-up-to level, by exhaustive
  exact search (the strongest policy that does not price on inventory);
- **learned (CEM)**: :class:`policies.envs.joint.PositionPricePolicy` (order-up-to level, a
  price that rises with the shortfall) trained by the cross-entropy method on CRN
  simulations only (never on the exact oracle), ``--seeds`` training seeds: mean ± 95 %
  Student-t interval of its gap to the optimum.

    OMP_NUM_THREADS=1 python benchmarks/joint_dp.py           # ~2-4 min on one core
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

from policies.envs.joint import JointConfig, PositionPricePolicy, train_joint_policy
from policies.exact.joint_dp import JointMDP, evaluate_joint_policy, solve_joint
from policies.stats import mean_ci

MAX_POSITION = 48


def best_static(cfg: JointConfig, mdp: JointMDP) -> tuple[float, float, int]:
    """Best fixed price and order-up-to level by exact evaluation: ``(gain, price, level)``."""
    best = (-np.inf, 0.0, 0)
    for p in range(cfg.n_prices):
        for level in range(0, 2 * cfg.max_order):
            pol = PositionPricePolicy(level=float(level), base=float(p), slope=0.0)
            g = evaluate_joint_policy(mdp, *pol.tables(cfg, MAX_POSITION))
            if g > best[0]:
                best = (g, float(cfg.prices[p]), level)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, default=5, help="training seeds of the learned policy")
    ap.add_argument("--generations", type=int, default=25)
    ap.add_argument("--periods", type=int, default=2000, help="periods per CEM simulation")
    a = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    instances = {
        "L=1, 11 prices": JointConfig(lead_time=1),
        "L=2, 11 prices": JointConfig(lead_time=2),
        "L=1, 41 prices": JointConfig(lead_time=1, n_prices=41),
    }
    for name, cfg in instances.items():
        t0 = time.perf_counter()
        mdp = JointMDP.from_env_config(cfg, max_position=MAX_POSITION)
        sol = solve_joint(mdp)
        t_dp = time.perf_counter() - t0
        g_static, p_static, s_static = best_static(cfg, mdp)
        gaps, gains = [], []
        t1 = time.perf_counter()
        for seed in range(a.seeds):
            pol = train_joint_policy(
                cfg, np.random.default_rng(seed), generations=a.generations, periods=a.periods
            )
            g = evaluate_joint_policy(mdp, *pol.tables(cfg, MAX_POSITION))
            gains.append(g)
            gaps.append(100.0 * (1.0 - g / sol.gain))
        t_train = (time.perf_counter() - t1) / a.seeds
        ci = mean_ci(gaps)
        print(
            f"\n{name}: DP optimum {sol.gain:.4f}/period ({sol.iterations} sweeps, {t_dp:.2f} s, "
            f"position limit binds: {sol.position_binds})"
        )
        print(
            f"  static price {p_static:.1f} + base-stock {s_static}: {g_static:.4f} "
            f"({100 * (1 - g_static / sol.gain):.2f} % below optimum)"
        )
        print(
            f"  learned (CEM, {a.seeds} seeds, {t_train:.0f} s each): mean {np.mean(gains):.4f}, "
            f"gap {ci.mean:.2f} % ± {ci.half_width:.2f} % (worst {max(gaps):.2f} %)"
        )
        if cfg.lead_time == 1:
            y = np.arange(0, 21)
            print("  DP policy by on-hand after arrival y:")
            print("    y     " + " ".join(f"{v:4d}" for v in y))
            print("    price " + " ".join(f"{v:4.1f}" for v in sol.price(mdp)[y]))
            print("    order " + " ".join(f"{v:4d}" for v in sol.order[y]))
    print(f"\nload average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
