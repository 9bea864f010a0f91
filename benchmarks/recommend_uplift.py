"""Online uplift of recommendations in the twin: revenue and basket size with vs without.

Runs ``CxTwin`` on seeds ``seed .. seed+n-1`` twice each, recommendations off (control: views
still recorded) and on (shown ``k`` SKUs per online session, the API's model retrained every
``--retrain-days`` at 23:30). Same seed, same world, demand, sessions and substitution draws
(common random numbers); the acceptance draws come from their own stream. Prints per KPI the
two means, the paired mean difference with its t-based 95% CI and the relative change, over
the days after the warm-up (max of the scenario's and ``--retrain-days``, before which no
model exists). ``--promotions`` adds the slow-mover promotion plan to both arms.

    python benchmarks/recommend_uplift.py --days 21 --seeds 4
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenarios.schema import load_scenario
from twin.cx import uplift
from twin.promotions import SlowMoverPromotions


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--scenario", default="scenarios/baseline.yaml")
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--retrain-days", type=int, default=7)
    ap.add_argument("--sliced", action="store_true", help="engine mode sliced (faster)")
    ap.add_argument("--promotions", action="store_true", help="slow-mover promotion plan")
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    if args.sliced:
        sc = sc.model_copy(update={"engine": sc.engine.model_copy(update={"mode": "sliced"})})
    plan = None
    if args.promotions:
        from api.client.fake import FakeCommerce
        from api.clock import ManualClock
        from twin.engine import Twin

        world = Twin(sc, FakeCommerce(ManualClock()), ManualClock(), days=args.days).world
        plan = SlowMoverPromotions().plan(world, args.days)
    t0 = time.perf_counter()
    seeds = list(range(args.seed, args.seed + args.seeds))
    res, _ctrl, treat = uplift(
        sc, seeds=seeds, days=args.days, plan=plan, retrain_days=args.retrain_days, k=args.k
    )
    wall = time.perf_counter() - t0
    shown = sum(r.stats.shown for r in treat)
    acc = sum(r.stats.accepted for r in treat)
    sessions = sum(r.stats.sessions for r in treat)
    print(
        f"{args.scenario}, {args.days} days (warm-up {max(sc.warmup_days, args.retrain_days)}), "
        f"seeds {seeds}, k={args.k}, mode {sc.engine.mode}, promotions {'on' if plan else 'off'}"
    )
    print(
        f"recommendations: {sessions} sessions shown {shown} SKUs, {acc} accepted "
        f"({acc / shown if shown else 0:.1%} of shown)"
    )
    print("| KPI | without | with | paired Δ (95% CI) | relative |")
    print("|---|---|---|---|---|")
    for p in res:
        print(
            f"| {p.kpi} | {p.control:,.1f} | {p.treatment:,.1f} | {p.diff:+,.1f} "
            f"[{p.ci_low:+,.1f}, {p.ci_high:+,.1f}] | {p.rel:+.2%} |"
        )
    print(
        f"\n{2 * len(seeds)} runs in {wall:.0f} s; {platform.node()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
