"""Cameras: rendered shelf frames with the shelf-vision module's detections drawn on them.

A bay, a mounted camera and a stock state are drawn from the seed (:mod:`edge_sim.scenes`), the
frame is rendered under the chosen conditions, and :class:`edge_sim.vision.ShelfVision` (the
same module that reads real camera feeds) analyses it. Detected gaps are drawn in red, the
ground-truth gaps in green, so a planner sees at a glance what the camera would report.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import streamlit as st

st.title("Cameras")
if importlib.util.find_spec("cv2") is None or importlib.util.find_spec("edge_sim.vision") is None:
    st.info("Shelf vision needs the `vision` extra (OpenCV): pip install 'shopsphere[vision]'.")
    st.stop()

import cv2  # noqa: E402  (only after the check above)

from edge_sim.planogram import shelf_state  # noqa: E402
from edge_sim.render import CONDITIONS  # noqa: E402
from edge_sim.scenes import random_scene, random_stock  # noqa: E402
from edge_sim.vision import ShelfVision  # noqa: E402

c1, c2, c3 = st.columns(3)
conditions = c1.selectbox(
    "Conditions", sorted(CONDITIONS), index=sorted(CONDITIONS).index("typical"), key="cam_cond"
)
seed = int(c2.number_input("Seed", min_value=0, max_value=2**31 - 1, value=7, key="cam_seed"))
misplace = c3.slider("Misplaced items", 0.0, 0.2, 0.03, 0.01, key="cam_misplace")


@st.cache_data(show_spinner="rendering and analysing...", max_entries=32)
def analyse(
    seed: int, conditions: str, misplace: float
) -> tuple[np.ndarray, dict[str, int], pd.DataFrame]:
    """Render one frame and run shelf vision on it; the image has detections drawn on."""
    rng = np.random.default_rng(seed)
    scene = random_scene(rng, conditions)
    state = shelf_state(scene.planogram, random_stock(rng, scene.planogram), rng, misplace)
    frame = scene.renderer.render(state, rng)
    report = ShelfVision(scene.planogram, scene.camera).analyse(frame.image)
    img = frame.image.copy()
    truth = frame.truth
    for box, visible in zip(truth.gap_boxes, truth.gap_visible, strict=True):
        if visible:
            x0, y0, x1, y1 = (int(v) for v in box)
            cv2.rectangle(img, (x0, y0), (x1, y1), (0, 200, 0), 2)
    for g in report.gaps:
        x0, y0, x1, y1 = (int(v) for v in g.box)
        cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 255), 2)
        cv2.putText(img, f"{g.confidence:.2f}", (x0 + 2, y0 + 14), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4, (0, 0, 255), 1, cv2.LINE_AA)  # fmt: skip
    counts = {
        "gaps_true": int(np.sum(truth.gap_visible)),
        "gaps_found": len(report.gaps),
        "misplaced_true": len(truth.misplaced),
        "misplaced_found": len(report.misplaced),
    }
    skus = pd.DataFrame(
        [
            {
                "sku": s.sku,
                "facings seen": s.facings,
                "capacity": s.capacity,
                "out of stock": s.out_of_stock,
                "low stock": s.low_stock,
                "confidence": round(s.confidence, 3),
            }
            for s in report.skus
        ]
    )
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB), counts, skus


image, facts, sku_table = analyse(seed, conditions, misplace)
m1, m2, m3, m4 = st.columns(4)
m1.metric("gaps (truth)", facts["gaps_true"])
m2.metric("gaps found", facts["gaps_found"])
m3.metric("misplaced (truth)", facts["misplaced_true"])
m4.metric("misplaced found", facts["misplaced_found"])
st.image(image, caption="green: true gaps; red: gaps found by shelf vision (with confidence)")
st.subheader("Per SKU")
st.dataframe(sku_table, hide_index=True, width="stretch")
