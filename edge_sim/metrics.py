"""Scoring ShelfVision against rendered ground truth.

Gap detection is scored like object detection: detections, highest confidence first, are
matched greedily to unmatched ground-truth gaps at IoU >= ``iou_min``. Ground-truth gaps less
than half visible (a shopper in front, off frame) are *ignored*: a detection on one is neither
a true nor a false positive, and missing one is no false negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge_sim.render import FrameTruth
from edge_sim.vision import ShelfReport

__all__ = ["FrameScore", "iou", "score_frame"]


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between boxes ``a (n, 4)`` and ``b (m, 4)`` (x0, y0, x1, y1)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ix = np.clip(
        np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None
    )
    iy = np.clip(
        np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None
    )
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


@dataclass(frozen=True, slots=True)
class FrameScore:
    """Counts for one frame (see the module docstring)."""

    tp: int
    fp: int
    fn: int
    slots_scored: int
    slots_exact: int
    slots_abs_err: int
    misplaced_tp: int
    misplaced_fp: int
    misplaced_fn: int


def score_frame(report: ShelfReport, truth: FrameTruth, iou_min: float = 0.5) -> FrameScore:
    """Score one report. Facings are scored on slots >= 90 % visible that the report observed;
    misplaced items on those slots too."""
    det = sorted(report.gaps, key=lambda g: -g.confidence)
    boxes = np.array([g.box for g in det]).reshape(-1, 4)
    cared = truth.gap_visible >= 0.5
    m = iou(boxes, truth.gap_boxes)
    used = np.zeros(len(truth.gap_boxes), bool)
    tp = fp = 0
    for i in range(len(det)):
        cand = np.where(~used & (m[i] >= iou_min))[0]
        if len(cand) == 0:
            fp += 1
            continue
        best = cand[np.argmax(m[i, cand])]
        used[best] = True
        tp += int(cared[best])
    fn = int((cared & ~used).sum())
    scored = exact = abs_err = 0
    ok_slots = set()
    for r in report.slots:
        if truth.slot_visible[r.slot] >= 0.9 and r.observed:
            ok_slots.add(r.slot)
            scored += 1
            err = abs(r.facings - int(truth.counts[r.slot]))
            exact += int(err == 0)
            abs_err += err
    true_mis = {(j, i) for j, i, _ in truth.misplaced if j in ok_slots}
    got_mis = {(d.slot, d.facing) for d in report.misplaced if d.slot in ok_slots}
    return FrameScore(
        tp=tp,
        fp=fp,
        fn=fn,
        slots_scored=scored,
        slots_exact=exact,
        slots_abs_err=abs_err,
        misplaced_tp=len(true_mis & got_mis),
        misplaced_fp=len(got_mis - true_mis),
        misplaced_fn=len(true_mis - got_mis),
    )
