"""Fit the committed cell model (:class:`edge_sim.vision.CellModel`) on rendered frames.

``python -m edge_sim.train --seed 1000 --scenes 60 --out edge_sim/models/cell_model.json``

Training scenes use seeds from ``--seed`` upwards (the benchmark uses seeds below 1000, so the
model never sees a benchmark bay). Cells hidden by a shopper (visible < 70 %) are left out.
The fit is L2-regularised logistic regression by Newton's method (NumPy only).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from edge_sim.render import CONDITIONS
from edge_sim.scenes import random_scene, scene_frames
from edge_sim.vision import FEATURES, CellModel, ShelfVision

log = logging.getLogger(__name__)
_NEUTRAL = CellModel(
    weights=(0.0,) * len(FEATURES),
    bias=0.0,
    mean=(0.0,) * len(FEATURES),
    std=(1.0,) * len(FEATURES),
)


def collect(seed: int, n_scenes: int, frames_per_scene: int) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(n, 5)`` and labels (1 = empty) from ``n_scenes`` scenes over all presets."""
    xs, ys = [], []
    names = sorted(CONDITIONS)
    for k in range(n_scenes):
        rng = np.random.default_rng(seed + k)
        scene = random_scene(rng, names[k % len(names)])
        vision = ShelfVision(scene.planogram, scene.camera, model=_NEUTRAL)
        for fr in scene_frames(scene, rng, frames_per_scene):
            feats, _, _ = vision.features(fr.image)
            empty = np.array([f is None for row in fr.truth.facings for f in row])
            keep = fr.truth.cell_visible >= 0.7
            xs.append(feats[keep])
            ys.append(empty[keep])
    return np.concatenate(xs), np.concatenate(ys).astype(np.float64)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50) -> CellModel:
    """Newton-fitted logistic regression on standardised features."""
    x = np.log(x + 0.02)
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(z @ w)))
        g = z.T @ (p - y) + l2 * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return CellModel(
        weights=tuple(float(v) for v in w[:-1]),
        bias=float(w[-1]),
        mean=tuple(float(v) for v in mean),
        std=tuple(float(v) for v in std),
    )


def main(argv: list[str] | None = None) -> int:
    """CLI entry: collect, fit, report training accuracy, write the JSON model."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--scenes", type=int, default=60)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("edge_sim/models/cell_model.json"))
    a = ap.parse_args(argv)
    x, y = collect(a.seed, a.scenes, a.frames)
    model = fit(x, y)
    acc = float(((model.p_empty(x) > 0.5) == (y > 0.5)).mean())
    print(f"cells {len(y)}  empty {y.mean():.3f}  train accuracy {acc:.4f}")
    print(model.to_json())
    a.out.write_text(model.to_json() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
