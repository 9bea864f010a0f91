"""A shelf camera: a homography from bay units to the image plus one radial distortion term.

Model. A bay point ``c`` (bay units, see :mod:`edge_sim.planogram`) maps to the *undistorted*
image point ``u = H c`` (pixels, homogeneous). With normalised coordinates
``n(p) = (p - centre) / f`` (``f`` = half the image diagonal) the *distorted* pixel ``d`` that the
sensor records satisfies ``n(u) = n(d) * (1 + k1 * |n(d)|^2)``: ``k1 > 0`` is barrel distortion
(straight shelf edges bow outwards), ``k1 < 0`` pincushion. The mounting angle appears as the
keystone of the bay's quadrilateral (pitch: top narrower than bottom; yaw: one side shorter),
roll as its rotation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import numpy as np

from edge_sim.errors import ConfigError
from edge_sim.planogram import CANON_H, CANON_W

__all__ = ["Camera", "random_camera"]

_CANON_CORNERS = np.array(
    [[0, 0], [CANON_W, 0], [CANON_W, CANON_H], [0, CANON_H]], dtype=np.float32
)


@dataclass(frozen=True, slots=True)
class Camera:
    """Where the bay's corners land (undistorted pixels, TL, TR, BR, BL), ``k1``, frame size."""

    corners: tuple[tuple[float, float], ...]
    k1: float
    width: int = 640
    height: int = 480

    def __post_init__(self) -> None:
        if len(self.corners) != 4:
            raise ConfigError(f"corners has {len(self.corners)} points, need 4")
        if not -0.4 <= self.k1 <= 0.4:
            raise ConfigError(f"k1 {self.k1} outside [-0.4, 0.4]")
        if self.width < 16 or self.height < 16:
            raise ConfigError(f"frame size {self.width}x{self.height} below 16x16")

    @property
    def homography(self) -> np.ndarray:
        """``3 x 3`` map from bay units to undistorted pixels."""
        return cv2.getPerspectiveTransform(_CANON_CORNERS, np.array(self.corners, np.float32))

    def _norm(self) -> tuple[float, float, float]:
        return self.width / 2.0, self.height / 2.0, 0.5 * float(np.hypot(self.width, self.height))

    def undistort_points(self, d: np.ndarray) -> np.ndarray:
        """Distorted pixels ``(N, 2)`` to undistorted pixels (closed form)."""
        cx, cy, f = self._norm()
        n = (np.asarray(d, dtype=np.float64) - (cx, cy)) / f
        r2 = (n**2).sum(-1, keepdims=True)
        return n * (1 + self.k1 * r2) * f + (cx, cy)

    def distort_points(self, u: np.ndarray) -> np.ndarray:
        """Undistorted pixels ``(N, 2)`` to distorted pixels (fixed-point inversion)."""
        cx, cy, f = self._norm()
        nu = (np.asarray(u, dtype=np.float64) - (cx, cy)) / f
        nd = nu.copy()
        for _ in range(12):
            nd = nu / (1 + self.k1 * (nd**2).sum(-1, keepdims=True))
        return nd * f + (cx, cy)

    def project(self, pts: np.ndarray) -> np.ndarray:
        """Bay points ``(N, 2)`` to recorded (distorted) pixels ``(N, 2)``."""
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        h = self.homography
        q = p @ h[:, :2].T + h[:, 2]
        return self.distort_points(q[:, :2] / q[:, 2:3])

    def image_to_bay_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """``cv2.remap`` maps (``height x width`` float32) giving each pixel's bay point."""
        ux, uy = _undistorted_grid(self.k1, self.width, self.height)
        hi = np.linalg.inv(self.homography).astype(np.float32)
        den = hi[2, 0] * ux + hi[2, 1] * uy + hi[2, 2]
        mx = (hi[0, 0] * ux + hi[0, 1] * uy + hi[0, 2]) / den
        my = (hi[1, 0] * ux + hi[1, 1] * uy + hi[1, 2]) / den
        return mx, my

    def bay_to_image_maps(self, scale: float) -> tuple[np.ndarray, np.ndarray]:
        """``cv2.remap`` maps that rectify a frame to the bay at ``scale`` pixels per bay unit."""
        w, h = round(CANON_W * scale), round(CANON_H * scale)
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
        pts = np.stack([(xs.ravel() + 0.5) / scale, (ys.ravel() + 0.5) / scale], -1)
        d = self.project(pts)
        return d[:, 0].reshape(h, w).astype(np.float32), d[:, 1].reshape(h, w).astype(np.float32)

    def jittered(self, rng: np.random.Generator, sigma_px: float) -> Camera:
        """The same camera knocked by vibration: each corner moves by N(0, ``sigma_px``)."""
        c = np.asarray(self.corners) + rng.normal(0.0, sigma_px, size=(4, 2))
        return replace(self, corners=tuple((float(x), float(y)) for x, y in c))


@lru_cache(maxsize=8)
def _undistorted_grid(k1: float, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    cam = Camera(corners=((0, 0), (1, 0), (1, 1), (0, 1)), k1=k1, width=width, height=height)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    u = cam.undistort_points(np.stack([xs.ravel(), ys.ravel()], -1)).astype(np.float32)
    ux, uy = u[:, 0].reshape(height, width), u[:, 1].reshape(height, width)
    ux.flags.writeable = False
    uy.flags.writeable = False
    return ux, uy


def random_camera(
    rng: np.random.Generator,
    strength: float = 1.0,
    width: int = 640,
    height: int = 480,
) -> Camera:
    """A mounted camera: bay fills 72-95 % of the frame, keystone from pitch/yaw, roll, ``k1``.

    ``strength`` in ``[0, 1]`` scales the mounting angles and the distortion (0: front-on).
    Raises :class:`ConfigError` if ``strength`` is outside ``[0, 1]``.
    """
    if not 0.0 <= strength <= 1.0:
        raise ConfigError(f"strength {strength} outside [0, 1]")
    fill = rng.uniform(0.74, 0.95)
    bw, bh = width * fill, height * fill
    cx = width / 2 + rng.uniform(-0.5, 0.5) * (width - bw) * 0.8
    cy = height / 2 + rng.uniform(-0.5, 0.5) * (height - bh) * 0.8
    pitch = rng.uniform(-0.16, 0.16) * strength  # top edge shorter or longer than bottom
    yaw = rng.uniform(-0.14, 0.14) * strength  # left edge shorter or longer than right
    roll = np.deg2rad(rng.uniform(-4, 4) * strength)
    sx = np.array([-1, 1, 1, -1]) * bw / 2
    sy = np.array([-1, -1, 1, 1]) * bh / 2
    sx = sx * (1 - pitch * np.array([1, 1, -1, -1]) / 2)
    sy = sy * (1 - yaw * np.array([1, -1, -1, 1]) / 2)
    x = cx + sx * np.cos(roll) - sy * np.sin(roll)
    y = cy + sx * np.sin(roll) + sy * np.cos(roll)
    k1 = float(rng.uniform(-0.08, 0.18) * strength)
    return Camera(
        corners=tuple((float(a), float(b)) for a, b in zip(x, y, strict=True)),
        k1=k1,
        width=width,
        height=height,
    )
