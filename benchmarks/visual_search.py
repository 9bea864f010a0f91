"""Visual shopping on real photographs: in-store phone photos against catalog images.

    PYTHONPATH=. python benchmarks/visual_search.py [--step 1] [--colour-weight 4]

Data: ``data/grocery`` (Grocery Store Dataset, Klasson et al. 2019, MIT; see its README): the
catalog ("iconic") image of each of the 31 "Packages" products, and 155 photos of them taken in
stores (clutter, neighbouring products, fridge doors). Every photo is ranked against all 31
products with :class:`edge_sim.visual_search.VisualIndex`; prints top-1 / top-5 accuracy
overall and per coarse class, the coarse-class accuracy of the top match, and the median time
per query (CPU, this machine). A development set: nothing was trained on it, but the matcher's
few constants (ratio 0.8, colour weight 4, keypoint budgets) were chosen looking at it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections import defaultdict
from pathlib import Path

import cv2

from edge_sim.visual_search import VisualIndex, grocery_catalog, grocery_photos

ROOT = Path(__file__).resolve().parents[1] / "data" / "grocery"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--step", type=int, default=1, help="every STEP-th photo (1 = all 155)")
    ap.add_argument("--colour-weight", type=float, default=4.0)
    ap.add_argument("--ratio", type=float, default=0.8)
    a = ap.parse_args()
    t0 = time.perf_counter()
    index = VisualIndex(grocery_catalog(ROOT), colour_weight=a.colour_weight, ratio=a.ratio)
    build_s = time.perf_counter() - t0
    photos = grocery_photos(ROOT)[:: a.step]
    coarse_of = {p.product: p.coarse for p in grocery_photos(ROOT)}
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    top1 = top5 = coarse1 = 0
    times: list[float] = []
    for p in photos:
        img = cv2.imread(str(p.path))
        if img is None:
            raise SystemExit(f"photo {p.path} unreadable")
        t = time.perf_counter()
        ranked = [m.sku for m in index.search(img, k=5)]
        times.append(time.perf_counter() - t)
        hit1, hit5 = ranked[0] == p.product, p.product in ranked
        top1 += hit1
        top5 += hit5
        coarse1 += coarse_of.get(ranked[0]) == p.coarse
        row = per[p.coarse]
        row[0] += 1
        row[1] += hit1
        row[2] += hit5
    n = len(photos)
    print("| class | photos | top-1 | top-5 |")
    print("|---|---|---|---|")
    for c in sorted(per):
        k, h1, h5 = per[c]
        print(f"| {c} | {k} | {h1 / k:.3f} | {h5 / k:.3f} |")
    print(
        f"overall: {n} photos x {len(index)} products: top-1 {top1}/{n} = {top1 / n:.3f}, "
        f"top-5 {top5}/{n} = {top5 / n:.3f}, coarse class of top match {coarse1 / n:.3f} "
        f"(chance top-1 {1 / len(index):.3f}, top-5 {5 / len(index):.3f})"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"time: index build {build_s:.2f} s; per query median "
        f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
        f"({platform.machine()}, {os.cpu_count()} cores, load average {load:.1f})"
    )


if __name__ == "__main__":
    main()
