"""The planners' dashboard: ``shopsphere dashboard`` runs ``streamlit run dashboards/app.py``.

Each page is a standalone script under ``dashboards/pages/`` (so ``AppTest`` can test it alone);
this file only declares the navigation.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="ShopSphere Twin", page_icon=":material/storefront:", layout="wide")

PAGES = [
    st.Page(HERE / "pages" / "scenario_editor.py", title="Scenarios", icon=":material/edit_note:"),
    st.Page(HERE / "pages" / "run_list.py", title="Runs", icon=":material/play_circle:"),
    st.Page(HERE / "pages" / "run_results.py", title="Results", icon=":material/monitoring:"),
    st.Page(HERE / "pages" / "compare_variants.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page(HERE / "pages" / "shelf_cameras.py", title="Cameras", icon=":material/photo_camera:"),
    st.Page(HERE / "pages" / "policy_registry.py", title="Policies", icon=":material/policy:"),
]

st.navigation(PAGES).run()
