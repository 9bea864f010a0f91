"""Policies: the validated policy registry, each artifact's status and validation report.

Promotion changes what production serves, so the button is enabled only after signing in with a
staff API key, checked against the live commerce API (a staff-only read must succeed). The
promotion itself is the CLI's (``shopsphere registry promote``): the registry recomputes the
evidence and refuses what does not pass.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards.common import policy_registry_dir

st.title("Policies")
root = policy_registry_dir()
st.caption(f"Registry: {root} (set SHOPSPHERE_POLICY_REGISTRY_DIR)")

from policies.artifacts import ArtifactError, Registry  # noqa: E402  (after the caption)

registry = Registry(root)
try:
    entries = registry.entries()
except ArtifactError as exc:
    st.error(f"registry unreadable: {exc}")
    st.stop()

with st.sidebar:
    st.markdown("**Sign in to promote** (staff API key)")
    url = st.text_input("Commerce API URL", value="http://127.0.0.1:8000", key="api_url")
    key = st.text_input("API key", type="password", key="api_key")
    if st.button("Sign in", key="sign_in") and key:
        from api.client.base import CommerceError
        from api.client.http import HttpClient

        try:
            with HttpClient(url, key, timeout_s=5) as client:
                client.movements(limit=1)  # staff-only: fails with 401/403 for other roles
            st.session_state["role"] = "staff"
        except CommerceError as exc:
            st.session_state["role"] = None
            st.error(f"not signed in as staff: {exc}")
        except Exception as exc:  # the API is down or the URL is wrong: say so, do not crash
            st.session_state["role"] = None
            st.error(f"could not reach {url}: {exc}")
    role = st.session_state.get("role")
    st.write(f"role: **{role or 'viewer'}**")

if not entries:
    st.info("No artifacts registered yet (`shopsphere registry register ...`).")
    st.stop()

st.dataframe(
    pd.DataFrame(
        [
            {
                "name": e.name,
                "version": e.version,
                "status": e.status,
                "env": e.env_id,
                "algo": e.algo,
                "registered": e.registered_at,
                "sha256": e.artifact_sha256[:12],
            }
            for e in entries
        ]
    ),
    hide_index=True,
    width="stretch",
)

picked = st.selectbox(
    "Artifact", entries, format_func=lambda e: f"{e.name} {e.version} ({e.status})", key="artifact"
)
report = registry.report(picked.name, picked.version)
if report is None:
    st.info("No validation report: this version is a candidate.")
else:
    st.json(report.to_json())

is_staff = st.session_state.get("role") == "staff"
if st.button(
    "Promote (recomputes the evidence)",
    disabled=not is_staff or picked.status == "validated",
    help=None if is_staff else "Sign in with a staff API key to promote.",
    key="promote",
):
    with st.spinner("validating against the incumbent (common random numbers, paired test)..."):
        try:
            # promotion computes its own evidence (it accepts no report)
            registry.promote(picked.name, picked.version)
            st.success(f"{picked.name} {picked.version} promoted")
        except ArtifactError as exc:
            st.error(str(exc))
