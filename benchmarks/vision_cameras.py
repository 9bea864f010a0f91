"""The value of shelf cameras: availability and lost sales with and without them.

    PYTHONPATH=. python benchmarks/vision_cameras.py --replications 30 --seed 0

Store model and camera loop: :mod:`edge_sim.restock` (200 SKUs, 28 days, hourly steps, shrink
making phantom inventory, daily ledger-driven ordering, a daily restock walk). Both arms of
every row share the seed (common random numbers); CIs are 95 % t-intervals on the paired
per-store differences. ``recall`` defaults to the gap-detection recall measured by
``benchmarks/vision.py``.
"""

from __future__ import annotations

import argparse
import time

from edge_sim.restock import MonitorConfig, StoreShelfConfig, compare_cameras


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replications", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--recall", type=float, default=0.96)
    a = ap.parse_args()
    store = StoreShelfConfig()
    rows = [
        ("hourly scan, 1.5 h restock", MonitorConfig(recall=a.recall)),
        ("hourly scan, 4 h restock", MonitorConfig(recall=a.recall, restock_delay_h=4.0)),
        ("4-hourly scan, 1.5 h restock", MonitorConfig(recall=a.recall, scan_interval_h=4)),
        ("hourly scan, recall 0.80", MonitorConfig(recall=0.80)),
    ]
    print(
        f"store: {store.n_skus} SKUs, {store.days} days, shrink {store.shrink_per_day}/SKU/day, "
        f"audit every {store.audit_days} days; {a.replications} stores per arm, seed {a.seed}"
    )
    print(
        "| cameras | availability without | with | gain (95% CI) | lost sales without | with | "
        "lost units saved / store-day (95% CI) | revenue saved / store-day | "
        "phantom SKU-hours cut |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, mon in rows:
        t0 = time.perf_counter()
        v = compare_cameras(store, mon, replications=a.replications, seed=a.seed)
        g, glo, ghi = v.availability_gain
        s, slo, shi = v.lost_units_saved_per_store_day
        rev = v.lost_revenue_saved_cents_per_store_day
        print(
            f"| {name} | {v.availability_without:.4f} | {v.availability_with:.4f} | "
            f"{g:+.4f} ({glo:+.4f}, {ghi:+.4f}) | {v.lost_share_without:.4f} | "
            f"{v.lost_share_with:.4f} | {s:.1f} ({slo:.1f}, {shi:.1f}) | "
            f"{rev[0] / 100:.2f} ({rev[1] / 100:.2f}, {rev[2] / 100:.2f}) | "
            f"{v.phantom_hours_cut:.0%} |  [{time.perf_counter() - t0:.1f} s]"
        )


if __name__ == "__main__":
    main()
