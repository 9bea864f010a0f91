"""Lost-sales benchmark: DP optimum vs best base-stock and best capped base-stock.

Poisson(5) demand, lost sales, holding 1, penalty p in {4, 9, 19, 39}, lead time L in
{1, 2, 3, 4}; an order placed at the start of period t arrives at the start of t + L before
demand; holding on end-of-period on-hand, penalty per unit lost; long-run average cost per
period. Prints a Markdown table and optionally writes it as JSON.

    python benchmarks/replenishment_gaps.py --out replenishment_gaps.json

Reference (Zipkin 2008, "Old and new methods for lost-sales inventory systems", Table 1):
optimal costs 4.04 (p=4, L=1) ... 10.79 (p=39, L=4).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from policies.exact import (
    InventoryMDP,
    poisson_demand,
    solve,
)
from policies.replenishment.base_stock import best_base_stock, best_capped_base_stock


def run_case(mean: float, penalty: float, lead_time: int, tolerance: float) -> dict[str, Any]:
    """Solve one case and return its row."""
    mdp = InventoryMDP(poisson_demand(mean), lead_time, 1.0, penalty)
    t0 = time.perf_counter()
    opt = solve(mdp, tolerance=tolerance)
    t1 = time.perf_counter()
    bs = best_base_stock(mdp)
    cbs = best_capped_base_stock(mdp)
    t2 = time.perf_counter()
    g = opt.average_cost
    return {
        "penalty": penalty,
        "lead_time": lead_time,
        "optimal_cost": g,
        "optimal_bounds": [opt.lower_bound, opt.upper_bound],
        "base_stock_level": bs.base_stock,
        "base_stock_cost": bs.average_cost,
        "base_stock_gap_pct": 100.0 * (bs.average_cost - g) / g,
        "capped_level": cbs.base_stock,
        "capped_cap": cbs.cap if cbs.cap is not None else -1,
        "capped_cost": cbs.average_cost,
        "capped_gap_pct": 100.0 * (cbs.average_cost - g) / g,
        "dp_seconds": t1 - t0,
        "search_seconds": t2 - t1,
        "dp_iterations": opt.iterations,
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    head = (
        "| p | L | optimal (DP) | best base-stock (S) | gap "
        "| best capped base-stock (S, cap) | gap |\n"
        "|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {r['penalty']:g} | {r['lead_time']} | {r['optimal_cost']:.4f} | "
        f"{r['base_stock_cost']:.4f} ({r['base_stock_level']}) | {r['base_stock_gap_pct']:.2f}% | "
        f"{r['capped_cost']:.4f} ({r['capped_level']}, {r['capped_cap']}) | "
        f"{r['capped_gap_pct']:.2f}% |"
        for r in rows
    ]
    return head + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    parser.add_argument("--mean", type=float, default=5.0, help="Poisson demand mean")
    parser.add_argument("--penalties", type=float, nargs="+", default=[4, 9, 19, 39])
    parser.add_argument("--lead-times", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument(
        "--tolerance",
        type=float,
        default=1e-5,
        help="width of the Odoni bounds at which value iteration stops",
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    rows = []
    for p in args.penalties:
        for lt in args.lead_times:
            row = run_case(args.mean, p, lt, args.tolerance)
            rows.append(row)
            print(
                f"p={p:g} L={lt}: optimal {row['optimal_cost']:.4f}, "
                f"base-stock {row['base_stock_cost']:.4f}, capped {row['capped_cost']:.4f} "
                f"({row['dp_seconds']:.1f}s DP, {row['search_seconds']:.1f}s search)",
                file=sys.stderr,
                flush=True,
            )
    total = time.perf_counter() - start
    print(markdown(rows))
    print(
        f"\n{len(rows)} cases in {total:.1f} s on {platform.machine()} "
        f"({platform.python_implementation()} {platform.python_version()})"
    )
    if args.out:
        args.out.write_text(
            json.dumps({"mean": args.mean, "rows": rows, "total_seconds": total}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
