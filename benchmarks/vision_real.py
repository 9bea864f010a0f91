"""What shelf vision says about real shelf photographs, against hand labels.

    PYTHONPATH=. python benchmarks/vision_real.py [--save-overlays DIR]

Photos: ``data/grocery/photos`` (Grocery Store Dataset, MIT; see its README). Labels:
``data/grocery/labels.json``. Prints per photo and overall shelf-edge precision / recall and
void counts for the uncalibrated reader (:mod:`edge_sim.uncalibrated`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from edge_sim.realcheck import score_photos
from edge_sim.uncalibrated import find_shelf_edges, find_voids

ROOT = Path(__file__).resolve().parents[1] / "data" / "grocery"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--save-overlays", type=Path, default=None)
    a = ap.parse_args()
    scores = score_photos(ROOT / "photos", ROOT / "labels.json")
    print(
        "| photo | edges found | on a shelf front | fronts labelled | fronts found | voids found |"
    )
    print("|---|---|---|---|---|---|")
    for s in scores:
        print(
            f"| {s.name} | {s.detections} | {s.detections_matched} | {s.fronts} | "
            f"{s.fronts_found} | {s.voids_detected} |"
        )
    d = sum(s.detections for s in scores)
    dm = sum(s.detections_matched for s in scores)
    f = sum(s.fronts for s in scores)
    ff = sum(s.fronts_found for s in scores)
    v = sum(s.voids_detected for s in scores)
    print(
        f"overall: shelf-edge precision {dm}/{d} = {dm / max(d, 1):.2f}, "
        f"front recall {ff}/{f} = {ff / max(f, 1):.2f}, "
        f"void boxes on photos labelled with no voids: {v}"
    )
    if a.save_overlays is not None:
        a.save_overlays.mkdir(parents=True, exist_ok=True)
        for s in scores:
            img = cv2.imread(str(ROOT / "photos" / s.name))
            if img is None:
                continue
            edges = find_shelf_edges(img)
            for e in edges:
                cv2.line(img, (int(e.x0), int(e.y0)), (int(e.x1), int(e.y1)), (0, 0, 255), 2)
            for vb in find_voids(img, edges):
                x0, y0, x1, y1 = (int(t) for t in vb.box)
                cv2.rectangle(img, (x0, y0), (x1, y1), (0, 255, 0), 2)
            cv2.imwrite(str(a.save_overlays / s.name.replace(".jpg", ".png")), img)


if __name__ == "__main__":
    main()
