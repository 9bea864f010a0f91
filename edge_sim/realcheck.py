"""Agreement of the uncalibrated reader with hand labels on real photos.

Labels (``data/grocery/labels.json``) give each visible shelf front as a band between its upper
and lower edge. A detected shelf edge *matches* a front when, at 80 % or more of its sampled
columns inside the front's x-range (which must cover 40 % of the detection), it lies inside
the band widened by ``tol_px``. Precision: detections that match a front; recall: fronts
matched by a detection. Void boxes are counted against the labelled voids (IoU 0.3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge_sim.errors import ConfigError
from edge_sim.metrics import iou
from edge_sim.uncalibrated import EdgeLine, find_shelf_edges, find_voids, line_y

__all__ = ["PhotoScore", "edge_matches_front", "score_photos"]


@dataclass(frozen=True, slots=True)
class PhotoScore:
    """Counts for one labelled photo."""

    name: str
    detections: int
    detections_matched: int
    fronts: int
    fronts_found: int
    voids_detected: int
    voids_labelled: int
    voids_matched: int


def edge_matches_front(e: EdgeLine, front: dict[str, list[float]], tol_px: float = 6.0) -> bool:
    """Whether edge ``e`` lies on the labelled shelf front (see the module docstring)."""
    top, bot = front["top"], front["bottom"]
    lo = max(e.x0, min(top[0], bot[0]))
    hi = min(e.x1, max(top[2], bot[2]))
    if hi - lo < 0.4 * max(e.x1 - e.x0, 1.0):
        return False
    xs = np.linspace(lo, hi, 20)
    y = line_y(e, xs)
    inside = (y >= line_y(tuple(top), xs) - tol_px) & (y <= line_y(tuple(bot), xs) + tol_px)  # type: ignore[arg-type]
    return bool(inside.mean() >= 0.8)


def score_photos(folder: Path, labels_path: Path) -> list[PhotoScore]:
    """Run the reader on every labelled photo and score it. Raises ConfigError on a missing
    photo or a malformed label file."""
    try:
        labels = json.loads(labels_path.read_text())["photos"]
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise ConfigError(f"label file {str(labels_path)!r} unreadable: {exc}") from exc
    out: list[PhotoScore] = []
    for name, lab in sorted(labels.items()):
        img = cv2.imread(str(folder / name))
        if img is None:
            raise ConfigError(f"photo {name!r} missing in {str(folder)!r}")
        edges = find_shelf_edges(img)
        voids = find_voids(img, edges)
        fronts = lab["fronts"]
        m = [[edge_matches_front(e, f) for f in fronts] for e in edges]
        det_ok = sum(any(row) for row in m)
        found = sum(any(m[i][j] for i in range(len(edges))) for j in range(len(fronts)))
        vb = np.array([v.box for v in voids]).reshape(-1, 4)
        lb = np.array(lab["voids"], dtype=np.float64).reshape(-1, 4)
        vm = int((iou(vb, lb) >= 0.3).any(0).sum()) if len(vb) and len(lb) else 0
        out.append(
            PhotoScore(
                name=name,
                detections=len(edges),
                detections_matched=det_ok,
                fronts=len(fronts),
                fronts_found=found,
                voids_detected=len(voids),
                voids_labelled=len(lb),
                voids_matched=vm,
            )
        )
    return out
