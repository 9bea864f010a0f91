"""Multi-echelon network: a learned feature-conditioned policy against echelon base-stock.

Instance: ``MultiEchelonReplenishment-v1`` with 60 SKUs, 2 warehouses and 10 stores (the
default costs, capacities and stochastic lead times of
:class:`~policies.envs.multi_echelon_core.NetworkConfig`).

Protocol (each of ``--runs`` independent runs, one training seed each):

- **echelon base-stock**: one safety factor per echelon (stores on local position, warehouses
  on echelon position), tuned by a CRN grid search (coarse 11 x 11 from -0.5 to 4.5,
  then 5 x 5 at 0.1) on the
  run's own training simulations;
- **learned**: the feature-conditioned policy of
  :func:`~policies.envs.multi_echelon_policies.feature_levels` (safety factors linear in SKU
  features, order caps, truck dispatch thresholds; 16 parameters shared by every SKU),
  trained by the cross-entropy method on fresh CRN training simulations, started from the
  run's tuned base-stock + dispatch heuristic below (so it learns a feature-dependent
  residual on top of it); the checkpoint is selected on separate validation simulations;
- **base-stock + dispatch**: the same levels plus a truck dispatch threshold per echelon (a
  location orders only when its order fills enough of its truck), thresholds and safety
  factors tuned by CRN grid search on the same training simulations: the strongest
  hand-built heuristic here, to show how much of the learned policy's gain is structure;
- all are then scored on the same held-out test simulations (never used in training or
  selection), paired. The table gives the mean over runs and its 95 % Student-t interval.
- **transfer**: each run's learned parameters, unchanged, on a network with a different
  catalog (another ``catalog_seed``), against echelon base-stock tuned on that network.

    OMP_NUM_THREADS=1 python benchmarks/multi_echelon.py            # ~5-10 min, 1 core
    OMP_NUM_THREADS=1 python benchmarks/multi_echelon.py --runs 2 --generations 5  # smoke
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies.envs.multi_echelon_core import NetworkConfig, build_network
from policies.envs.multi_echelon_policies import (
    dispatch_levels,
    evaluate_levels,
    feature_levels,
    global_levels,
    initial_theta,
    search_dispatch_levels,
    search_global_levels,
    stack_policies,
    train_feature_policy,
)
from policies.stats import mean_ci

INSTANCE = NetworkConfig(n_skus=60, n_warehouses=2, n_stores=10, catalog_seed=0)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=5, help="independent training runs (seeds)")
    ap.add_argument("--generations", type=int, default=25)
    ap.add_argument("--population", type=int, default=32)
    ap.add_argument("--days", type=int, default=120, help="scored days per simulation")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--test-seeds", type=int, default=8)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    a = ap.parse_args()
    t0 = time.time()
    params = build_network(INSTANCE)
    other = build_network(replace(INSTANCE, catalog_seed=1))
    test = tuple(900_000 + j for j in range(a.test_seeds))
    val = (800_000, 800_001)
    print(
        f"instance: {INSTANCE.n_skus} SKUs, {INSTANCE.n_warehouses} warehouses, "
        f"{INSTANCE.n_stores} stores; {a.runs} runs, CEM {a.generations} x {a.population}, "
        f"{a.days} days (+{a.warmup} warm-up), {len(test)} test simulations; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    ks_o, kw_o, _ = search_global_levels(other, [700_000, 700_001], a.days, a.warmup)
    base_other = global_levels(other, np.array([ks_o]), np.array([kw_o]))
    ds_o = search_dispatch_levels(other, [700_000, 700_001], ks_o, kw_o, a.days, a.warmup)
    disp_other = dispatch_levels(other, *(np.array([v]) for v in ds_o[:4]))
    rows = []
    for r in range(a.runs):
        train = [1_000 * (r + 1), 1_000 * (r + 1) + 1]
        ks, kw, _ = search_global_levels(params, train, a.days, a.warmup)
        ds = search_dispatch_levels(params, train, ks, kw, a.days, a.warmup)
        res = train_feature_policy(
            params,
            np.random.default_rng(r),
            generations=a.generations,
            population=a.population,
            days=a.days,
            warmup=a.warmup,
            validation_seeds=val,
            theta0=initial_theta(ds[0], ds[1], cap_days=50.0, frac_store=ds[2], frac_wh=ds[3]),
        )
        base = global_levels(params, np.array([ks]), np.array([kw]))
        disp = dispatch_levels(params, *(np.array([v]) for v in ds[:4]))
        trio = stack_policies(base, feature_levels(params, res.theta), disp)
        cost = evaluate_levels(params, trio, test, a.days, a.warmup)  # (seeds, 3)
        trio_o = stack_policies(base_other, feature_levels(other, res.theta), disp_other)
        cost_o = evaluate_levels(other, trio_o, test, a.days, a.warmup)
        row = {
            "run": r,
            "k_store": ks,
            "k_wh": kw,
            "base": float(cost[:, 0].mean()),
            "learned": float(cost[:, 1].mean()),
            "gap_pct": float(100 * (cost[:, 1] / cost[:, 0] - 1).mean()),
            "dispatch": float(cost[:, 2].mean()),
            "dispatch_params": [round(v, 3) for v in ds[:4]],
            "gap_vs_dispatch_pct": float(100 * (cost[:, 1] / cost[:, 2] - 1).mean()),
            "selected_generation": res.generation,
            "transfer_base": float(cost_o[:, 0].mean()),
            "transfer_learned": float(cost_o[:, 1].mean()),
            "transfer_gap_pct": float(100 * (cost_o[:, 1] / cost_o[:, 0] - 1).mean()),
            "transfer_dispatch": float(cost_o[:, 2].mean()),
            "transfer_gap_vs_dispatch_pct": float(100 * (cost_o[:, 1] / cost_o[:, 2] - 1).mean()),
            "theta": res.theta.round(3).tolist(),
        }
        rows.append(row)
        print(
            f"run {r}: base-stock (k_s={ks:.1f}, k_w={kw:.1f}) {row['base']:.1f}/day, "
            f"base-stock + dispatch {row['dispatch']:.1f}/day, "
            f"learned {row['learned']:.1f}/day ({row['gap_pct']:+.2f} %, gen "
            f"{res.generation}); other catalog: {row['transfer_base']:.1f} vs "
            f"{row['transfer_learned']:.1f} ({row['transfer_gap_pct']:+.2f} %)",
            flush=True,
        )
    summary = {}
    labels = {
        "base": "echelon base-stock (CRN grid search), cost/day",
        "dispatch": "base-stock + tuned dispatch thresholds, cost/day",
        "learned": "learned (CEM, feature-conditioned), cost/day",
        "gap_pct": "learned vs echelon base-stock, paired, %",
        "gap_vs_dispatch_pct": "learned vs base-stock + dispatch, paired, %",
        "transfer_base": "other catalog: base-stock tuned there, cost/day",
        "transfer_dispatch": "other catalog: base-stock + dispatch tuned there",
        "transfer_learned": "other catalog: learned, unchanged, cost/day",
        "transfer_gap_pct": "other catalog: learned vs base-stock, %",
        "transfer_gap_vs_dispatch_pct": "other catalog: learned vs base-stock + dispatch, %",
    }
    for key in labels:
        values = [row[key] for row in rows]
        ci = mean_ci(values)
        summary[key] = {"mean": ci.mean, "half_width": ci.half_width, "n": ci.n}
    print(f"\nmean over {len(rows)} runs ± 95 % CI (currency units per day):")
    for key, label in labels.items():
        m = summary[key]
        print(f"  {label:<52} {m['mean']:10.2f} ± {m['half_width']:.2f}")
    print(f"wall {time.time() - t0:.0f} s, load average {os.getloadavg()[0]:.1f}")
    if a.out:
        a.out.write_text(json.dumps({"runs": rows, "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
