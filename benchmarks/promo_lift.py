"""Demand effect of a promotion plan in the twin: the same seeds with and without the plan.

The plan (``--percent`` off the ``--n-skus`` fastest (``--pick fast``) or slowest SKUs
online, days ``--start`` to ``--end``) is published to the API (the discount is charged on
online orders) and lifts the promoted SKUs' online demand by the kernel's price response.
Both arms run the same seeds (common random numbers). Prints, per arm, the promoted SKUs'
online units and net revenue inside the window, all online revenue and units, and the paired
differences with t-based 95% CIs.

    python benchmarks/promo_lift.py --days 14 --seeds 3
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.clock import ManualClock
from scenarios.schema import Scenario, load_scenario
from twin.cx import CxTwin, online_kpis, paired
from twin.promotions import PromotionPlan, PromotionWindow
from twin.runner import open_commerce, resolve


def one(sc: Scenario, seed: int, days: int, args: argparse.Namespace, on: bool) -> dict[str, float]:
    """One run: promoted SKUs' online units/revenue in the window, online revenue."""
    sc = resolve(sc, seed=seed, days=days)
    start = datetime(sc.start_date.year, sc.start_date.month, sc.start_date.day, tzinfo=UTC)
    clock = ManualClock(start)
    client, close, _ = open_commerce(sc, clock, database=":memory:")
    try:
        twin = CxTwin(sc, client, clock, seed=seed, days=days)
        w = twin.world
        rate = w.demand.base_rate[:, w.n_stores : w.n_sites].sum(axis=1)
        order = rate.argsort(kind="stable")
        pick = order[: args.n_skus] if args.pick == "slow" else order[::-1][: args.n_skus]
        codes = tuple(w.skus.codes[i] for i in sorted(pick.tolist()))
        if on:
            twin.plan = PromotionPlan((PromotionWindow(codes, args.start, args.end, args.percent),))
        result = twin.run()
        units = revenue = 0.0
        cursor = None
        chosen = set(codes)
        while True:
            page = client.list_orders(cursor=cursor, limit=500)
            for o in page.items:
                day = (o.created_at - start).total_seconds() / 86400.0
                if not args.start <= day < args.end:
                    continue
                promoted = sum(
                    ln.quantity * ln.unit_price_cents for ln in o.lines if ln.sku in chosen
                )
                units += sum(ln.quantity for ln in o.lines if ln.sku in chosen)
                # the plan's promotion is the only one and covers only these SKUs
                revenue += promoted - o.discount_cents
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    finally:
        close()
    k = online_kpis(result, 0)
    return {
        "promoted_units_in_window": units,
        "promoted_net_revenue_in_window_cents": revenue,
        "online_revenue_cents": k["online_revenue_cents"],
        "online_units": k["online_units"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--scenario", default="scenarios/baseline.yaml")
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n-skus", type=int, default=20)
    ap.add_argument("--percent", type=int, default=20)
    ap.add_argument("--pick", choices=("slow", "fast"), default="fast", help="which SKUs")
    ap.add_argument("--start", type=int, default=7)
    ap.add_argument("--end", type=int, default=14)
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    sc = sc.model_copy(update={"engine": sc.engine.model_copy(update={"mode": "sliced"})})
    seeds = list(range(args.seed, args.seed + args.seeds))
    t0 = time.perf_counter()
    off = [one(sc, s, args.days, args, False) for s in seeds]
    on = [one(sc, s, args.days, args, True) for s in seeds]
    print(
        f"{args.scenario} (sliced), {args.days} days, seeds {seeds}: {args.percent}% off the "
        f"{args.n_skus} {'slowest' if args.pick == 'slow' else 'fastest'} online SKUs, days "
        f"[{args.start}, {args.end})"
    )
    print("| KPI | without plan | with plan | paired Δ (95% CI) | relative |")
    print("|---|---|---|---|---|")
    for name in off[0]:
        p = paired(name, [r[name] for r in off], [r[name] for r in on])
        print(
            f"| {name} | {p.control:,.1f} | {p.treatment:,.1f} | {p.diff:+,.1f} "
            f"[{p.ci_low:+,.1f}, {p.ci_high:+,.1f}] | {p.rel:+.2%} |"
        )
    print(
        f"\n{2 * len(seeds)} runs in {time.perf_counter() - t0:.0f} s; {platform.node()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
