"""Reading a shelf photo with no planogram and no calibration (real, hand-held or new cameras).

What can be said about an arbitrary shelf photo without knowing the bay:

- :func:`find_shelf_edges` - shelf lips / price rails: long, near-horizontal straight edges
  (Canny, probabilistic Hough, then collinear segments merged), each with a confidence from its
  length and straightness;
- :func:`find_voids` - between consecutive shelf edges, stretches of columns whose texture and
  colour say *empty shelf* (the flat back panel, or the dark inside of a fridge) rather than
  packages: low gradient energy and low saturation over most of the band height.

This is the degraded mode of :class:`edge_sim.vision.ShelfVision`: a calibrated camera with a
planogram should use that (it also counts facings and checks compliance). ``docs/vision.md``
reports how this mode fares on hand-labelled real photographs (``data/grocery/labels.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np

from edge_sim.errors import ConfigError

__all__ = ["EdgeLine", "VoidBox", "find_shelf_edges", "find_voids", "line_y"]


@dataclass(frozen=True, slots=True)
class EdgeLine:
    """A shelf edge from ``(x0, y0)`` to ``(x1, y1)`` (pixels, ``x0 <= x1``)."""

    x0: float
    y0: float
    x1: float
    y1: float
    confidence: float


@dataclass(frozen=True, slots=True)
class VoidBox:
    """An apparently empty stretch of shelf: box ``(x0, y0, x1, y1)`` pixels."""

    box: tuple[float, float, float, float]
    confidence: float


def line_y(line: EdgeLine | tuple[float, float, float, float], x: np.ndarray) -> np.ndarray:
    """``y`` of the (extended) line at columns ``x``."""
    if isinstance(line, EdgeLine):
        x0, y0, x1, y1 = line.x0, line.y0, line.x1, line.y1
    else:
        x0, y0, x1, y1 = line
    slope = (y1 - y0) / (x1 - x0) if x1 != x0 else 0.0
    return y0 + slope * (np.asarray(x, np.float64) - x0)


def _check(frame: np.ndarray) -> None:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] < 32 or frame.shape[1] < 32:
        raise ConfigError(f"frame shape {frame.shape} is not an H x W x 3 image of 32 px or more")


def find_shelf_edges(
    frame: np.ndarray, max_angle_deg: float = 25.0, min_len_frac: float = 0.3
) -> list[EdgeLine]:
    """Near-horizontal long straight edges, merged, top to bottom.

    Raises :class:`ConfigError` on a frame that is not a colour image.
    """
    _check(frame)
    h, w = frame.shape[:2]
    gray = cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (5, 5), 0)
    med = float(np.median(gray))
    edges = cv2.Canny(gray, max(10.0, 0.5 * med), min(255.0, 1.2 * med + 30))
    segs = cv2.HoughLinesP(
        edges,
        1,
        np.pi / 360,
        threshold=int(0.15 * w),
        minLineLength=int(min_len_frac * w / 2),
        maxLineGap=int(0.04 * w) + 2,
    )
    if segs is None:
        return []
    s = np.asarray(segs).reshape(-1, 4).astype(np.float64)
    flip = s[:, 0] > s[:, 2]
    s[flip] = s[flip][:, [2, 3, 0, 1]]
    ang = np.degrees(np.arctan2(s[:, 3] - s[:, 1], s[:, 2] - s[:, 0]))
    s = s[np.abs(ang) <= max_angle_deg]
    if len(s) == 0:
        return []
    # merge segments that lie on one line (same y at the image centre, similar slope)
    order = np.argsort(-(s[:, 2] - s[:, 0]))  # longest first: they anchor the groups
    groups: list[list[np.ndarray]] = []
    for i in order:
        r = s[i]
        yc = float(line_y(tuple(r), np.array([w / 2]))[0])
        slope = (r[3] - r[1]) / max(r[2] - r[0], 1e-9)
        for g in groups:
            g0 = g[0]
            gy = float(line_y(tuple(g0), np.array([w / 2]))[0])
            gs = (g0[3] - g0[1]) / max(g0[2] - g0[0], 1e-9)
            if abs(gy - yc) < 0.02 * h + 3 and abs(gs - slope) < 0.06:
                g.append(r)
                break
        else:
            groups.append([r])
    out: list[EdgeLine] = []
    for g in groups:
        a = np.array(g)
        xs = np.concatenate([a[:, 0], a[:, 2]])
        ys = np.concatenate([a[:, 1], a[:, 3]])
        coef = np.polyfit(xs, ys, 1) if np.ptp(xs) > 0 else np.array([0.0, ys.mean()])
        x0, x1 = float(xs.min()), float(xs.max())
        covered = float(np.minimum((a[:, 2] - a[:, 0]).sum(), x1 - x0)) / w
        if x1 - x0 < min_len_frac * w:
            continue
        resid = float(np.abs(np.polyval(coef, xs) - ys).mean())
        conf = float(np.clip(covered, 0, 1) * np.exp(-resid / 3.0))
        out.append(EdgeLine(x0, float(np.polyval(coef, x0)), x1, float(np.polyval(coef, x1)), conf))
    out.sort(key=lambda e: (e.y0 + e.y1) / 2)
    return out


def find_voids(
    frame: np.ndarray,
    edges: list[EdgeLine] | None = None,
    min_band_px: int = 25,
    min_width_frac: float = 0.08,
) -> list[VoidBox]:
    """Empty-looking stretches between consecutive shelf edges (see the module docstring)."""
    _check(frame)
    h, w = frame.shape[:2]
    lines = find_shelf_edges(frame) if edges is None else edges
    hsv = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grad = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(
        cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    )
    grad /= gray + 20.0
    flat = (grad < 0.08) & (hsv[..., 1] < 60)
    xs = np.arange(w)
    out: list[VoidBox] = []
    for top, bot in pairwise(lines):
        yt = np.clip(line_y(top, xs), 0, h - 1)
        yb = np.clip(line_y(bot, xs), 0, h - 1)
        if float(np.median(yb - yt)) < min_band_px:
            continue
        rows = np.arange(h)[:, None]
        inside = (rows > yt[None, :] + 3) & (rows < yb[None, :] - 3)
        frac = (flat & inside).sum(0) / np.maximum(inside.sum(0), 1)
        empty = frac > 0.85
        x = 0
        while x < w:
            if empty[x]:
                e = x
                while e + 1 < w and empty[e + 1]:
                    e += 1
                if e - x + 1 >= min_width_frac * w:
                    box = (
                        float(x),
                        float(yt[x : e + 1].min()),
                        float(e),
                        float(yb[x : e + 1].max()),
                    )
                    out.append(VoidBox(box=box, confidence=float(frac[x : e + 1].mean())))
                x = e + 1
            else:
                x += 1
    return out
