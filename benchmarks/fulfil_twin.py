"""Fulfilment KPIs of a twin run, with and without returns flowing back.

Runs a scenario (default ``scenarios/baseline.yaml``) in process on SQLite twice with the same
seed: once with the default returns (``twin.returns.ReturnsSettings``: 5% of delivered orders,
part of their units, back after 1-10 days, 80% restocked) and once with returns off, and
prints the fleet's KPIs (on-time rate, cost per order, km, CO2 per order, van utilisation) and
the returns' KPIs side by side, plus the wall time. Both runs reconcile the twin's stock with
the ledger (the figures are only printed when they do).

    python benchmarks/fulfil_twin.py --days 7
    python benchmarks/fulfil_twin.py --scenario scenarios/baseline.yaml --days 21 --seed 1
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ROWS = (
    ("fleet_orders_delivered", "orders delivered", "{:.0f}"),
    ("fleet_on_time_rate", "on-time rate", "{:.1%}"),
    ("fleet_cost_per_order_cents", "cost per order (EUR)", "{:.2f}", 0.01),
    ("fleet_km", "van km", "{:,.0f}"),
    ("fleet_co2_g_per_order", "CO2 per order (g)", "{:,.0f}"),
    ("fleet_van_utilisation", "van load / capacity", "{:.0%}"),
    ("fleet_van_time_utilisation", "van time / shift time", "{:.0%}"),
    ("fleet_failed_deliveries", "failed attempts (re-delivered)", "{:.0f}"),
    ("fleet_parcel_orders", "orders by parcel (3PL)", "{:.0f}"),
    ("returns_requested", "returns requested", "{:.0f}"),
    ("returns_refunded", "returns refunded", "{:.0f}"),
    ("returns_restocked_units", "units restocked", "{:.0f}"),
    ("returns_written_off_units", "units written off", "{:.0f}"),
    ("returns_refund_cents", "refunded (EUR)", "{:,.2f}", 0.01),
)


def run(path: Path, days: int, seed: int | None, rate: float) -> tuple[dict[str, Any], float]:
    """One in-process run; returns its KPIs and wall seconds. Raises AssertionError when the
    twin and the ledger disagree."""
    from api.client.inprocess import InProcessClient
    from api.clock import ManualClock
    from scenarios.load import read_yaml
    from scenarios.schema import parse_scenario
    from twin.reconcile import check_conservation, reconcile_stock
    from twin.runner import run_scenario

    data, _ = read_yaml(path)
    data.setdefault("returns", {})["rate"] = rate  # the scenario's returns section
    sc = parse_scenario(data, source=str(path))
    from datetime import UTC, datetime

    d = sc.start_date
    clock = ManualClock(datetime(d.year, d.month, d.day, tzinfo=UTC))
    client = InProcessClient.for_sqlite(":memory:", clock)
    try:
        t0 = time.perf_counter()
        out = run_scenario(sc, days=days, seed=seed, write=False, client=client, clock=clock)
        wall = time.perf_counter() - t0
        stock = reconcile_stock(out.result, client)
        cons = check_conservation(out.result, client)
        assert stock.ok and cons.ok, (stock.examples, cons.examples)
        return dict(out.kpis), wall
    finally:
        client.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "baseline.yaml")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    on, wall_on = run(args.scenario, args.days, args.seed, 0.05)
    off, wall_off = run(args.scenario, args.days, args.seed, 0.0)
    print(
        f"{args.scenario.name}, {args.days} days, seed {args.seed or 'scenario'}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print("| KPI | returns on (5%) | returns off |")
    print("|---|---:|---:|")
    for key, label, fmt, *scale in ROWS:
        f = scale[0] if scale else 1.0
        print(f"| {label} | {fmt.format(on[key] * f)} | {fmt.format(off[key] * f)} |")
    print(f"| wall time (s) | {wall_on:.0f} | {wall_off:.0f} |")


if __name__ == "__main__":
    main()
