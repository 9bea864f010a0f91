"""Package sprites: one SKU's package drawn once at a size, with an alpha mask, then pasted.

Shapes: box, bottle, carton (gable top), can, jar, pouch; each with a body colour, an accent
(cap, band or stripes), a printed label with the SKU's short text and cylindrical shading for
round packages. Drawing is OpenCV on small canvases; pasting is NumPy slicing.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge_sim.planogram import SkuLook

__all__ = ["draw_package"]


def draw_package(look: SkuLook, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``look`` in a ``h x w`` canvas; returns ``(bgr uint8, mask bool)``."""
    w, h = max(int(w), 6), max(int(h), 8)
    img = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), np.uint8)
    body, acc, lab = look.body_bgr, look.accent_bgr, look.label_bgr
    shape = look.shape
    label_box = (0, int(h * 0.35), w - 1, int(h * 0.7))
    if shape == "box":
        cv2.rectangle(img, (0, 0), (w - 1, h - 1), body, -1)
        cv2.rectangle(img, (0, 0), (w - 1, int(h * 0.18)), acc, -1)
        label_box = (int(w * 0.1), int(h * 0.32), int(w * 0.9), int(h * 0.72))
        cv2.rectangle(mask, (0, 0), (w - 1, h - 1), 255, -1)
    elif shape == "bottle":
        neck = max(2, w // 4)
        shoulder = int(h * 0.32)
        pts = np.array(
            [
                [w // 2 - neck // 2, int(h * 0.08)],
                [w // 2 + neck // 2, int(h * 0.08)],
                [w // 2 + neck // 2, int(h * 0.2)],
                [w - 1, shoulder],
                [w - 1, h - 1],
                [0, h - 1],
                [0, shoulder],
                [w // 2 - neck // 2, int(h * 0.2)],
            ],
            dtype=np.int32,
        )
        for canvas, col in ((img, body), (mask, 255)):
            cv2.fillPoly(canvas, [pts], col)
            cv2.rectangle(
                canvas, (w // 2 - neck // 2, 0), (w // 2 + neck // 2, int(h * 0.08)), col, -1
            )
        cv2.rectangle(img, (w // 2 - neck // 2, 0), (w // 2 + neck // 2, int(h * 0.08)), acc, -1)
        label_box = (0, int(h * 0.45), w - 1, int(h * 0.8))
    elif shape == "carton":
        gable = int(h * 0.14)
        pts = np.array(
            [[0, gable], [w // 2, 0], [w - 1, gable], [w - 1, h - 1], [0, h - 1]], dtype=np.int32
        )
        cv2.fillPoly(img, [pts], body)
        cv2.fillPoly(mask, [pts], 255)
        cv2.rectangle(img, (0, gable), (w - 1, gable + max(2, h // 12)), acc, -1)
        label_box = (int(w * 0.08), int(h * 0.4), int(w * 0.92), int(h * 0.75))
    elif shape == "can":
        r = max(2, h // 14)
        for canvas, col in ((img, body), (mask, 255)):
            cv2.rectangle(canvas, (0, r), (w - 1, h - 1 - r), col, -1)
            cv2.ellipse(canvas, (w // 2, r), (w // 2, r), 0, 0, 360, col, -1)
            cv2.ellipse(canvas, (w // 2, h - 1 - r), (w // 2, r), 0, 0, 360, col, -1)
        for k in range(3):
            y = int(h * (0.25 + 0.2 * k))
            cv2.rectangle(img, (0, y), (w - 1, y + max(1, h // 20)), acc, -1)
        img[mask == 0] = 0
        label_box = (int(w * 0.1), int(h * 0.5), int(w * 0.9), int(h * 0.62))
    elif shape == "jar":
        lid = max(3, h // 8)
        for canvas, col in ((img, body), (mask, 255)):
            cv2.rectangle(canvas, (0, lid), (w - 1, h - 1), col, -1)
            cv2.rectangle(canvas, (int(w * 0.1), 0), (int(w * 0.9), lid), col, -1)
        cv2.rectangle(img, (int(w * 0.1), 0), (int(w * 0.9), lid), acc, -1)
        label_box = (0, int(h * 0.35), w - 1, int(h * 0.75))
    else:  # pouch
        pts = np.array(
            [[int(w * 0.12), 0], [int(w * 0.88), 0], [w - 1, h - 1], [0, h - 1]], dtype=np.int32
        )
        cv2.fillPoly(img, [pts], body)
        cv2.fillPoly(mask, [pts], 255)
        cv2.circle(img, (w // 2, int(h * 0.8)), max(2, w // 5), acc, -1)
        label_box = (int(w * 0.15), int(h * 0.3), int(w * 0.85), int(h * 0.6))
    x0, y0, x1, y1 = label_box
    cv2.rectangle(img, (x0, y0), (x1, y1), lab, -1)
    ink = (20, 20, 20) if sum(lab) > 380 else (245, 245, 245)
    scale = max(0.25, min((x1 - x0) / (18.0 * max(len(look.text), 1)), (y1 - y0) / 28.0))
    cv2.putText(
        img,
        look.text,
        (x0 + 1, y0 + int((y1 - y0) * 0.7)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        ink,
        max(1, int(scale * 2)),
        cv2.LINE_AA,
    )
    if shape in ("bottle", "can", "jar"):
        t = np.linspace(-1.0, 1.0, w)
        shade = (0.7 + 0.45 * np.sqrt(np.clip(1 - t**2, 0, 1))).astype(np.float32)
        img = np.clip(img * shade[None, :, None], 0, 255).astype(np.uint8)
    m = mask > 0
    img[~m] = 0
    return img, m
