"""Render camera frames of a shelf bay from a planogram and its stock, with exact ground truth.

:class:`ShelfRenderer` draws the canonical front-on bay (fixture, price labels, packages from
cached sprites), warps it through the camera (perspective, mounting angle, lens distortion,
per-frame vibration the vision module is not told about), then degrades the image: a shopper
occluding part of the bay, lighting (gain, colour cast, spatial gradient, vignetting), motion
blur, sensor noise, JPEG compression. Conditions are ranges drawn per frame
(:class:`Conditions`, presets in :data:`CONDITIONS`).

Ground truth (:class:`FrameTruth`), in recorded-image pixels:

- ``gap_boxes`` - one box per maximal run of empty facings inside a slot: the bounding box of
  the run's cells (zone top to shelf lip) as the camera sees them, with ``gap_visible`` the
  fraction not hidden by a shopper or the frame edge;
- ``facings`` - per slot and facing, the SKU standing there (``None``: empty); ``counts``;
- ``slot_visible`` - per slot, the visible fraction of its cells; ``cell_visible`` per facing
  (in :meth:`edge_sim.planogram.Planogram.facing_cells` order);
- ``misplaced`` - ``(slot, facing, sku)`` for every facing holding another slot's SKU.

All randomness comes from the ``numpy.random.Generator`` passed to :meth:`ShelfRenderer.render`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge_sim.camera import Camera
from edge_sim.errors import ConfigError
from edge_sim.planogram import CANON_H, CANON_W, HEADROOM_FRAC, Planogram, ShelfState
from edge_sim.sprites import draw_package

__all__ = ["CONDITIONS", "Conditions", "FrameTruth", "RenderedFrame", "ShelfRenderer"]


@dataclass(frozen=True, slots=True)
class Conditions:
    """Per-frame ranges of image effects (each drawn uniformly from ``[0, max]`` or a range)."""

    name: str
    gain: tuple[float, float] = (0.85, 1.15)
    cast: float = 0.05
    gradient: float = 0.15
    vignette: float = 0.1
    blur_px: int = 3
    noise_sigma: float = 4.0
    jpeg_quality: tuple[int, int] = (70, 95)
    shopper_prob: float = 0.2
    jitter_px: float = 1.5

    def __post_init__(self) -> None:
        if not 0 < self.gain[0] <= self.gain[1]:
            raise ConfigError(f"gain {self.gain} is not an increasing positive range")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ConfigError(f"jpeg_quality {self.jpeg_quality} outside 1..100")
        if not 0.0 <= self.shopper_prob <= 1.0:
            raise ConfigError(f"shopper_prob {self.shopper_prob} outside [0, 1]")
        if self.blur_px < 0 or self.noise_sigma < 0 or self.jitter_px < 0:
            raise ConfigError(f"negative effect in {self}")


CONDITIONS: dict[str, Conditions] = {
    "clean": Conditions(
        "clean",
        gain=(1.0, 1.0),
        cast=0.0,
        gradient=0.0,
        vignette=0.0,
        blur_px=0,
        noise_sigma=0.0,
        jpeg_quality=(95, 95),
        shopper_prob=0.0,
        jitter_px=0.0,
    ),
    "typical": Conditions("typical"),
    "dim": Conditions(
        "dim", gain=(0.45, 0.7), cast=0.1, gradient=0.3, vignette=0.25, noise_sigma=8.0
    ),
    "bright": Conditions("bright", gain=(1.2, 1.5), cast=0.08, gradient=0.25, vignette=0.05),
    "blur": Conditions("blur", blur_px=9, noise_sigma=6.0, jpeg_quality=(40, 70)),
    "crowded": Conditions("crowded", shopper_prob=0.9),
}


@dataclass(frozen=True, slots=True)
class FrameTruth:
    """Exact ground truth for one frame (image pixels; see the module docstring)."""

    gap_boxes: np.ndarray
    gap_slot: np.ndarray
    gap_visible: np.ndarray
    facings: tuple[tuple[str | None, ...], ...]
    counts: np.ndarray
    slot_visible: np.ndarray
    misplaced: tuple[tuple[int, int, str], ...]
    camera: Camera
    cell_visible: np.ndarray


@dataclass(frozen=True, slots=True)
class RenderedFrame:
    """A recorded BGR frame (``height x width x 3`` uint8) and its ground truth."""

    image: np.ndarray
    truth: FrameTruth
    conditions: str


def _edge_points(box: np.ndarray, n: int = 6) -> np.ndarray:
    x0, y0, x1, y1 = box
    t = np.linspace(0.0, 1.0, n)
    xs = np.concatenate([x0 + (x1 - x0) * t, np.full(n, x1), x1 - (x1 - x0) * t, np.full(n, x0)])
    ys = np.concatenate([np.full(n, y0), y0 + (y1 - y0) * t, np.full(n, y1), y1 - (y1 - y0) * t])
    return np.stack([xs, ys], -1)


class ShelfRenderer:
    """Renders frames of one bay seen by one mounted camera.

    Arguments: ``planogram``; ``camera`` (the nominal, calibrated mounting); ``conditions``
    (a :class:`Conditions` or a name in :data:`CONDITIONS`). Raises :class:`ConfigError` on
    an unknown condition name.
    """

    def __init__(
        self, planogram: Planogram, camera: Camera, conditions: Conditions | str = "typical"
    ) -> None:
        if isinstance(conditions, str):
            if conditions not in CONDITIONS:
                raise ConfigError(f"conditions {conditions!r} not one of {sorted(CONDITIONS)}")
            conditions = CONDITIONS[conditions]
        self.planogram = planogram
        self.camera = camera
        self.conditions = conditions
        self._sprites: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._size: dict[str, tuple[float, float]] = {}
        for s in planogram.slots:
            sh = planogram.shelves[s.shelf]
            look = planogram.looks[s.sku]
            self._size.setdefault(
                s.sku, (s.facing_w * look.width_frac, (sh.lip_y - sh.top_y) * look.height_frac)
            )
        self._cells = planogram.facing_cells()
        self._fixture = self._draw_fixture()

    def _draw_fixture(self) -> np.ndarray:
        p = self.planogram
        canvas = np.empty((CANON_H, CANON_W, 3), np.uint8)
        canvas[:] = p.fixture.back_bgr
        back = np.asarray(p.fixture.back_bgr, np.float32)
        for sh in p.shelves:
            top, lip = int(sh.top_y), int(sh.lip_y)
            # the shelf above shades the top of each zone a little; the back panel stays flat
            depth = np.linspace(0.82, 1.0, max(lip - top, 1), dtype=np.float32) ** 0.5
            canvas[top:lip] = np.clip(back[None, None, :] * depth[:, None, None], 0, 255)
            canvas[lip : int(np.ceil(sh.lip_bottom_y))] = p.fixture.lip_bgr
        canvas[: int(p.shelves[0].top_y)] = p.fixture.lip_bgr
        canvas[int(np.ceil(p.shelves[-1].lip_bottom_y)) :] = p.fixture.lip_bgr
        for s in p.slots:
            sh = p.shelves[s.shelf]
            lh = sh.lip_bottom_y - sh.lip_y
            x0, y0 = int(s.x0 + 3), int(sh.lip_y + lh * 0.45)
            x1, y1 = int(min(s.x0 + 40, s.x1 - 2)), int(sh.lip_bottom_y - 1)
            cv2.rectangle(canvas, (x0, y0), (x1, y1), (250, 250, 250), -1)
            cents = p.looks[s.sku].price_cents
            cv2.putText(
                canvas,
                f"{cents // 100}.{cents % 100:02d}",
                (x0 + 1, y1 - 1),
                cv2.FONT_HERSHEY_PLAIN,
                max(0.5, (y1 - y0) / 14.0),
                (10, 10, 10),
                1,
            )
        return canvas

    def _sprite(self, sku: str, cell_w: float, zone_h: float) -> tuple[np.ndarray, np.ndarray]:
        w, h = self._size[sku]
        w = min(w, cell_w - 1)
        h = min(h, zone_h * (1 - HEADROOM_FRAC))
        key = (sku, int(w), int(h))
        if key not in self._sprites:
            self._sprites[key] = draw_package(self.planogram.looks[sku], key[1], key[2])
        return self._sprites[key]

    def render_canonical(self, state: ShelfState, rng: np.random.Generator) -> np.ndarray:
        """Front-on bay image (bay units = pixels) for ``state``; jitters positions slightly."""
        p = self.planogram
        if len(state.facings) != len(p.slots):
            raise ConfigError(f"state has {len(state.facings)} slots, planogram {len(p.slots)}")
        canvas = self._fixture.copy()
        k = 0
        for j, s in enumerate(p.slots):
            row = state.facings[j]
            if len(row) != s.capacity:
                raise ConfigError(f"state slot {j} has {len(row)} facings, capacity {s.capacity}")
            sh = p.shelves[s.shelf]
            for sku in row:
                cell = self._cells[k]
                k += 1
                if sku is None:
                    continue
                img, m = self._sprite(sku, s.facing_w, sh.lip_y - sh.top_y)
                h, w = m.shape
                slack = max(s.facing_w - w, 0.0)
                x = int(cell[2] + slack / 2 + rng.uniform(-0.35, 0.35) * slack)
                y = int(sh.lip_y) - h
                x = int(np.clip(x, 0, CANON_W - w))
                region = canvas[y : y + h, x : x + w]
                region[m] = img[m]
        return canvas

    def render(self, state: ShelfState, rng: np.random.Generator) -> RenderedFrame:
        """Render one recorded frame of ``state`` with its exact ground truth."""
        c = self.conditions
        cam = self.camera.jittered(rng, c.jitter_px) if c.jitter_px > 0 else self.camera
        canon = self.render_canonical(state, rng)
        mx, my = cam.image_to_bay_maps()
        bg = tuple(int(v) for v in rng.integers(40, 200, size=3))
        img = cv2.remap(
            canon, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=bg
        )
        occl = np.zeros((cam.height, cam.width), np.uint8)
        inside = (mx >= 0) & (mx < CANON_W) & (my >= 0) & (my < CANON_H)
        if rng.random() < c.shopper_prob:
            self._draw_shopper(img, occl, rng)
        img = self._degrade(img, rng)
        truth = self._truth(state, cam, (occl == 0) & inside)
        return RenderedFrame(image=img, truth=truth, conditions=c.name)

    def _draw_shopper(self, img: np.ndarray, occl: np.ndarray, rng: np.random.Generator) -> None:
        h, w = occl.shape
        bw = int(rng.uniform(0.16, 0.32) * w)
        x = int(rng.uniform(-0.1, 0.95) * w)
        top = int(rng.uniform(0.15, 0.6) * h)
        coat = tuple(int(v) for v in rng.integers(0, 256, size=3))
        skin = tuple(int(v) for v in (rng.integers(60, 200),) * 3)
        head_r = max(8, bw // 4)
        for canvas, col_body, col_head in ((img, coat, skin), (occl, 255, 255)):
            cv2.ellipse(canvas, (x, h + bw // 3), (bw // 2, h - top), 0, 180, 360, col_body, -1)
            cv2.rectangle(canvas, (x - bw // 2, top + bw // 2), (x + bw // 2, h), col_body, -1)
            cv2.circle(canvas, (x, top - head_r // 2), head_r, col_head, -1)
        stripe = tuple(int(v) for v in rng.integers(0, 256, size=3))
        for yy in range(top + bw // 2, h, 14):
            cv2.line(img, (x - bw // 2, yy), (x + bw // 2, yy + 4), stripe, 3)

    def _degrade(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c = self.conditions
        h, w = img.shape[:2]
        gain = rng.uniform(*c.gain)
        cast = 1.0 + rng.uniform(-c.cast, c.cast, size=3)
        ang = rng.uniform(0, 2 * np.pi)
        ys, xs = np.ogrid[0:h, 0:w]
        xn = ((xs - w / 2) / (w / 2)).astype(np.float32)
        yn = ((ys - h / 2) / (h / 2)).astype(np.float32)
        grad = np.float32(rng.uniform(0, c.gradient))
        vig = np.float32(rng.uniform(0, c.vignette) / 2)
        field = (1 + grad * (np.float32(np.cos(ang)) * xn + np.float32(np.sin(ang)) * yn)) * (
            1 - vig * (xn**2 + yn**2)
        )
        out: np.ndarray = img.astype(np.float32)
        out *= field[..., None]
        out *= (gain * cast).astype(np.float32)
        length = int(rng.integers(0, c.blur_px + 1))
        if length >= 2:
            k: np.ndarray = np.zeros((length, length), np.float32)
            k[length // 2, :] = 1.0
            rot = cv2.getRotationMatrix2D(
                (length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1
            )
            k = cv2.warpAffine(k, rot, (length, length))
            out = cv2.filter2D(out, -1, k / max(k.sum(), 1e-6))
        sigma = rng.uniform(0, c.noise_sigma)
        if sigma > 0:
            out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(sigma)
        u8 = np.clip(out, 0, 255).astype(np.uint8)
        q = int(rng.integers(c.jpeg_quality[0], c.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, q])
        if not ok:  # pragma: no cover - OpenCV always encodes a uint8 BGR image
            raise ConfigError("JPEG encoding failed")
        dec = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        if dec is None:  # pragma: no cover - decoding what OpenCV just encoded
            raise ConfigError("JPEG decoding failed")
        return np.asarray(dec)

    def _box(self, cam: Camera, box: np.ndarray) -> np.ndarray:
        pts = cam.project(_edge_points(box))
        x0, y0 = pts.min(0)
        x1, y1 = pts.max(0)
        return np.array(
            [max(x0, 0.0), max(y0, 0.0), min(x1, cam.width - 1.0), min(y1, cam.height - 1.0)]
        )

    def _truth(self, state: ShelfState, cam: Camera, visible: np.ndarray) -> FrameTruth:
        p = self.planogram
        vis_int = cv2.integral(visible.astype(np.uint8))

        def frac(b: np.ndarray) -> float:
            x0, y0, x1, y1 = (round(float(v)) for v in b)
            area = max((x1 - x0) * (y1 - y0), 1)
            s = vis_int[y1, x1] - vis_int[y0, x1] - vis_int[y1, x0] + vis_int[y0, x0]
            return float(s) / area

        cell_vis = np.array([frac(self._box(cam, c[2:])) for c in self._cells])
        boxes, slots, gvis, counts, svis = [], [], [], [], []
        misplaced: list[tuple[int, int, str]] = []
        for j, s in enumerate(p.slots):
            sh = p.shelves[s.shelf]
            row = state.facings[j]
            counts.append(sum(f is not None for f in row))
            svis.append(frac(self._box(cam, np.array([s.x0, sh.top_y, s.x1, sh.lip_y]))))
            for i, f in enumerate(row):
                if f is not None and f != s.sku:
                    misplaced.append((j, i, f))
            i = 0
            while i < s.capacity:
                if row[i] is None:
                    e = i
                    while e + 1 < s.capacity and row[e + 1] is None:
                        e += 1
                    b = self._box(
                        cam,
                        np.array(
                            [s.x0 + i * s.facing_w, sh.top_y, s.x0 + (e + 1) * s.facing_w, sh.lip_y]
                        ),
                    )
                    boxes.append(b)
                    slots.append(j)
                    gvis.append(frac(b))
                    i = e + 1
                else:
                    i += 1
        return FrameTruth(
            gap_boxes=np.asarray(boxes, np.float64).reshape(-1, 4),
            gap_slot=np.asarray(slots, np.int64),
            gap_visible=np.asarray(gvis, np.float64),
            facings=state.facings,
            counts=np.asarray(counts, np.int64),
            slot_visible=np.asarray(svis, np.float64),
            misplaced=tuple(misplaced),
            camera=cam,
            cell_visible=cell_vis,
        )
