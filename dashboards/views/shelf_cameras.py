"""Cameras: rendered shelf frames with the shelf-vision module's detections drawn on them."""

from __future__ import annotations

import importlib.util

import streamlit as st

st.title("Cameras")
if importlib.util.find_spec("edge_sim.render") is None:
    st.info("The shelf-vision module (edge_sim) is not available in this installation.")
    st.stop()
