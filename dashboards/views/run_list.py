"""Runs: start a run with live progress and a Cancel button; list past runs from disk."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from dashboards.common import cached_runs, runs_dir, shipped_scenarios
from dashboards.jobs import Job, start_run
from scenarios.errors import ScenarioError
from scenarios.schema import load_scenario

st.title("Runs")

files = shipped_scenarios()
with st.form("start_run"):
    c1, c2, c3 = st.columns(3)
    choice = c1.selectbox("Scenario", files, format_func=lambda p: p.name, key="run_scenario")
    seed = c2.number_input(
        "Seed", min_value=0, max_value=2**53 - 1, value=42, step=1, key="run_seed"
    )
    days = c3.number_input("Days", min_value=1, max_value=3650, value=7, step=1, key="run_days")
    submitted = st.form_submit_button("Start run", type="primary")

if submitted and choice is not None:
    try:
        sc = load_scenario(choice)
    except ScenarioError as exc:
        st.error(str(exc))
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out = runs_dir() / f"{sc.name}-seed{int(seed)}-{stamp}"
        st.session_state["run_job"] = start_run(sc, seed=int(seed), days=int(days), out=out)
        st.session_state["run_job_out"] = str(out)


@st.fragment(run_every=0.5)
def job_panel() -> None:
    """Live progress of the current run (re-drawn every half second while it runs)."""
    job: Job | None = st.session_state.get("run_job")
    if job is None:
        return
    st.progress(job.progress, text=f"{job.label}: {job.detail} ({job.elapsed_s:.1f} s)")
    if job.status == "running":
        if st.button("Cancel run", key="cancel_run"):
            job.cancel()
    elif job.status == "done":
        if st.session_state.get("run_shown") is not job:
            st.session_state["run_shown"] = job
            cached_runs.clear()  # list the new run directory
            st.rerun(scope="app")
        st.success(f"finished in {job.elapsed_s:.1f} s: {st.session_state.get('run_job_out')}")
    elif job.status == "cancelled":
        st.warning("cancelled; the partial run directory is not listed below")
    else:
        st.error(f"run failed: {job.error}")


job_panel()

st.subheader("Past runs")
runs = cached_runs(str(runs_dir()))
if not runs:
    st.info(f"No finished runs under {runs_dir()} yet.")
else:
    table = pd.DataFrame(
        {
            "run": [r.path.name for r in runs],
            "scenario": [r.scenario for r in runs],
            "seed": [r.seed for r in runs],
            "days": [r.days for r in runs],
            "finished": [r.finished_at.strftime("%Y-%m-%d %H:%M:%S") for r in runs],
            "wall s": [round(r.wall_seconds, 1) for r in runs],
            "commerce": [r.commerce_mode for r in runs],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
