"""Random labelled scenes for training, tests and benchmarks: bay, camera, stock, frames.

A *scene* is one bay seen by one camera under one condition preset; each call of
:func:`scene_frames` draws new stock states (some slots out, some partly sold, a few misplaced
items) and renders them. Everything is drawn from the passed ``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from edge_sim.camera import Camera, random_camera
from edge_sim.planogram import Planogram, random_planogram, shelf_state
from edge_sim.render import RenderedFrame, ShelfRenderer

__all__ = ["Scene", "random_scene", "random_stock", "scene_frames"]


@dataclass(frozen=True, slots=True)
class Scene:
    """A bay, its calibrated camera and a renderer under one condition preset."""

    planogram: Planogram
    camera: Camera
    renderer: ShelfRenderer


def random_scene(rng: np.random.Generator, conditions: str = "typical") -> Scene:
    """Draw a bay and a mounted camera; raises ``ConfigError`` on an unknown preset."""
    p = random_planogram(rng)
    cam = random_camera(rng)
    return Scene(planogram=p, camera=cam, renderer=ShelfRenderer(p, cam, conditions))


def random_stock(rng: np.random.Generator, planogram: Planogram) -> np.ndarray:
    """On-hand units per slot: 15 % out, the rest uniform on ``0..capacity + 2``."""
    cap = np.array([s.capacity for s in planogram.slots])
    stock = rng.integers(0, cap + 3)
    stock[rng.random(len(cap)) < 0.15] = 0
    return stock


def scene_frames(
    scene: Scene, rng: np.random.Generator, n: int, misplace_prob: float = 0.03
) -> Iterator[RenderedFrame]:
    """``n`` frames of ``scene`` with fresh stock states."""
    for _ in range(n):
        st = shelf_state(scene.planogram, random_stock(rng, scene.planogram), rng, misplace_prob)
        yield scene.renderer.render(st, rng)
