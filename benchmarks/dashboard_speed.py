"""How fast each dashboard page renders on a given run directory (Streamlit AppTest, headless).

    python benchmarks/dashboard_speed.py RUN_DIR [--repeats 5]
    python benchmarks/dashboard_speed.py --make-large /tmp/runs/large-synthetic   # then time it

Renders the Results page (KPI cards, the default time series, drill-down, map) on ``RUN_DIR``
and the Runs page (listing) on its parent, ``--repeats`` times each, and prints the first
(cold: Parquet read) and the median warm render time (cached), with the machine named. The
target is < 2 s per page on the run directory of a 90-day ``large.yaml`` run.

``--make-large DIR`` writes a run directory with the *shape and size* of a 90-day ``large.yaml``
run (its scenario, 90 days x 57 locations of daily rows, 15 M events, sales per SKU and
category for 10,000 SKUs x 57 locations; values drawn at random, seed 0), for when the twin
cannot produce one in reasonable time; the figures then say so.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

VIEWS = Path(__file__).resolve().parents[1] / "dashboards" / "views"


def _render(page: str, run: str | None) -> float:
    at = AppTest.from_file(str(VIEWS / f"{page}.py"), default_timeout=300)
    if run is not None:
        at.query_params["run"] = run
    start = time.perf_counter()
    at.run()
    took = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"{page}: {at.exception[0].value}")
    return took


def make_large(out: Path, events: int = 15_000_000) -> None:
    """Write a synthetic run directory shaped like a 90-day ``large.yaml`` run (see above)."""
    import numpy as np
    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq

    from scenarios.schema import dump_scenario, load_scenario

    rng = np.random.default_rng(0)
    repo = Path(__file__).resolve().parents[1]
    sc = load_scenario(repo / "scenarios" / "large.yaml")
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.yaml").write_text(dump_scenario(sc), encoding="utf-8")
    locs = [s.code for s in sc.world.stores] + [w.code for w in sc.world.warehouses]
    days = sc.duration_days
    n = days * len(locs)
    daily = {
        "day": np.repeat(np.arange(days), len(locs)),
        "location": np.tile(np.asarray(locs, dtype=object), days),
    }
    for col in ("revenue_cents", "cogs_cents", "demand_units", "units_sold", "substituted_units",
                "lost_units", "sessions", "online_orders", "received_units", "write_off_units",
                "on_hand_units", "on_hand_value_cents", "stockout_skus"):  # fmt: skip
        daily[col] = rng.integers(0, 100_000, n)
    daily["carried_skus"] = np.full(n, 10_000)
    daily["holding_cost_cents"] = rng.random(n) * 1e4
    pq.write_table(pa.table(daily), out / "daily.parquet")
    kinds = ["sale", "lost", "online_order", "delivery", "receipt", "dispatch", "write_off"]
    skus = [f"SKU{i:06d}" for i in range(sc.catalog.n_skus)]
    ev = pa.table(
        {
            "t_days": np.sort(rng.random(events) * days),
            "kind": pa.DictionaryArray.from_arrays(
                rng.choice(len(kinds), events, p=[0.7, 0.05, 0.08, 0.08, 0.03, 0.03, 0.03]).astype(
                    np.int32
                ),
                kinds,
            ),
            "location": pa.DictionaryArray.from_arrays(
                rng.integers(0, len(locs), events).astype(np.int32), locs
            ),
            "sku": pa.DictionaryArray.from_arrays(
                rng.integers(0, len(skus), events).astype(np.int32), skus
            ),
            "quantity": rng.integers(1, 5, events),
            "value_cents": rng.integers(0, 3_000, events),
            "ref": np.arange(events),
        }
    )
    pq.write_table(ev, out / "events.parquet")
    m = len(skus) * len(locs)
    pq.write_table(
        pa.table(
            {
                "location": np.repeat(np.asarray(locs, dtype=object), len(skus)),
                "sku": np.tile(np.asarray(skus, dtype=object), len(locs)),
                "units_sold": rng.integers(0, 500, m),
                "revenue_cents": rng.integers(0, 200_000, m),
            }
        ),
        out / "sales_by_sku.parquet",
    )
    cats = sc.catalog.category_names or [f"cat{i}" for i in range(sc.catalog.n_categories)]
    k = len(cats) * len(locs)
    pq.write_table(
        pa.table(
            {
                "location": np.repeat(np.asarray(locs, dtype=object), len(cats)),
                "category": np.tile(np.asarray(cats, dtype=object), len(locs)),
                "units_sold": rng.integers(0, 50_000, k),
                "revenue_cents": rng.integers(0, 20_000_000, k),
            }
        ),
        out / "sales_by_category.parquet",
    )
    kpis = {
        "revenue_cents": int(daily["revenue_cents"].sum()),
        "gross_margin_cents": int(daily["revenue_cents"].sum() - daily["cogs_cents"].sum()),
        "units_sold": int(daily["units_sold"].sum()),
        "lost_units": int(daily["lost_units"].sum()),
        "fill_rate": 0.95,
        "availability": 0.93,
        "inventory_turns": 20.0,
        "online_cycle_time_hours_mean": 12.0,
    }
    (out / "kpis.json").write_bytes(orjson.dumps(kpis))
    meta = {"scenario": sc.name, "seed": sc.seed, "days": days, "commerce_mode": "synthetic",
            "wall_seconds": 0.0, "events": events}  # fmt: skip
    (out / "run.json").write_bytes(orjson.dumps(meta))
    print(f"synthetic large run directory written: {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a run directory (e.g. of large.yaml)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--make-large", action="store_true", help="first write a synthetic large run to RUN_DIR"
    )
    args = parser.parse_args()
    if args.make_large:
        make_large(args.run_dir)
    run_dir: Path = args.run_dir.resolve()
    os.environ["SHOPSPHERE_RUNS_DIR"] = str(run_dir.parent)
    size = sum(f.stat().st_size for f in run_dir.iterdir() if f.is_file()) / 1e6
    print(f"machine: {platform.node()} ({os.cpu_count()} CPUs), load {os.getloadavg()[0]:.1f}")
    print(f"run dir: {run_dir} ({size:.1f} MB)\n")
    print("| page | cold s | warm s (median) |")
    print("|---|---:|---:|")
    for page, run in (("run_results", run_dir.name), ("run_list", None)):
        times = [_render(page, run) for _ in range(args.repeats)]
        warm = statistics.median(times[1:]) if len(times) > 1 else times[0]
        print(f"| {page} | {times[0]:.2f} | {warm:.2f} |")


if __name__ == "__main__":
    main()
