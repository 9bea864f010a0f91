"""The planners' dashboard: ``shopsphere dashboard`` runs ``streamlit run dashboards/app.py``.

Each page is a standalone script under ``dashboards/views/`` (so ``AppTest`` can test it alone);
this file only declares the navigation.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="ShopSphere Twin", page_icon=":material/storefront:", layout="wide")

PAGES = [
    st.Page(HERE / "views" / "scenario_editor.py", title="Scenarios", icon=":material/edit_note:"),
    st.Page(HERE / "views" / "run_list.py", title="Runs", icon=":material/play_circle:"),
    st.Page(HERE / "views" / "run_results.py", title="Results", icon=":material/monitoring:"),
    st.Page(
        HERE / "views" / "compare_variants.py", title="Compare", icon=":material/compare_arrows:"
    ),
    st.Page(HERE / "views" / "shelf_cameras.py", title="Cameras", icon=":material/photo_camera:"),
    st.Page(HERE / "views" / "policy_registry.py", title="Policies", icon=":material/policy:"),
]

st.navigation(PAGES).run()
