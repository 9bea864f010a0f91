"""The generalising replenishment policy (``policies.rl.sku_policy``, one rule conditioned on
the SKU's demand rate, lead time and costs) on instances it was not fitted on, against the DP
optimum and the best capped base-stock policy of each instance (exact costs).

    python benchmarks/rl_generalise.py
    python benchmarks/rl_generalise.py --fit /tmp/rl_replenishment.json   # refit the rule first
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from policies.exact.demand import poisson_demand  # noqa: E402
from policies.exact.dp import InventoryMDP, solve  # noqa: E402
from policies.exact.markov import stationary_metrics  # noqa: E402
from policies.replenishment.base_stock import best_capped_base_stock  # noqa: E402
from policies.rl.sku_policy import DEFAULT_RULE, SkuProjectedPolicy, fit_fractile_rule  # noqa: E402

#: (mean demand, penalty, lead time): penalties and demand rates outside the fitted cells.
HELD_OUT = (
    (5.0, 2.0, 2),
    (5.0, 6.0, 1),
    (5.0, 6.0, 3),
    (5.0, 14.0, 2),
    (5.0, 25.0, 4),
    (5.0, 60.0, 2),
    (2.0, 9.0, 3),
    (3.0, 19.0, 4),
    (8.0, 4.0, 2),
    (10.0, 9.0, 1),
)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--fit", type=Path, default=None, help="rl_replenishment.py --out JSON")
    a = ap.parse_args()
    rule = DEFAULT_RULE
    if a.fit:
        rows = [
            (1.0, float(r["p"]), int(r["L"]), s["fractile"], int(s["cap"]), 5.0)
            for r in json.loads(a.fit.read_text())
            for s in r["seeds"]
        ]
        rule = fit_fractile_rule(rows)
        print(f"fitted on {len(rows)} learned policies: {rule}")
    policy = SkuProjectedPolicy(rule=rule)
    t0 = time.monotonic()
    print(f"{'mean':>5} {'p':>4} {'L':>2} {'optimal':>8} {'rule gap':>9} {'capped BS gap':>14}")
    for mean, p, lead in HELD_OUT:
        mdp = InventoryMDP(poisson_demand(mean), lead, 1.0, p, lost_sales=True)
        opt = solve(mdp).average_cost
        wide = dataclasses.replace(mdp, max_position=mdp.grid[1] + 4)
        pol = policy.policy_for(mean, lead, 1.0, p)
        cost = stationary_metrics(wide, pol.grid_policy()).average_cost
        cbs = best_capped_base_stock(mdp).average_cost
        print(
            f"{mean:5.1f} {p:4.0f} {lead:>2} {opt:8.4f} {100 * (cost / opt - 1):8.3f}% "
            f"{100 * (cbs / opt - 1):13.3f}%",
            flush=True,
        )
    print(f"{time.monotonic() - t0:.0f} s wall, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
