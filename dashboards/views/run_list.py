"""Runs: start a run with live progress and a Cancel button; list past runs from disk."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboards.common import cached_runs, runs_dir, shipped_scenarios
from dashboards.jobs import Job, start_run, start_sweep
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
    job: Job | None = st.session_state.get("run_job", None)
    if job is None:
        return
    st.progress(job.progress, text=f"{job.label}: {job.detail} ({job.elapsed_s:.1f} s)")
    if job.status == "running":
        if st.button("Cancel run", key="cancel_run"):
            job.cancel()
    elif job.status == "done":
        took = job.elapsed_s
        if st.session_state.get("run_shown") is not job:
            st.session_state["run_shown"] = job
            cached_runs.clear()  # list the new run directory
            st.rerun(scope="app")
        st.success(f"finished in {took:.1f} s: {st.session_state.get('run_job_out')}")
    elif job.status == "cancelled":
        st.warning("cancelled; the partial run directory is not listed below")
    else:
        st.error(f"run failed: {job.error}")


job_panel()

with st.expander("Sweep: scenarios x overrides x policies x seeds (local processes or Ray)"):
    spec_text = st.text_area(
        "Sweep spec (YAML, see `shopsphere sweep --help`; scenario paths relative to the repo)",
        value=(
            "name: dashboard-sweep\n"
            "scenarios:\n  baseline: scenarios/baseline.yaml\n"
            "policies:\n  base_stock: replenishment/base_stock\n"
            "  capped: replenishment/capped_base_stock\n"
            "seeds: 3\ndays: 3\n"
        ),
        height=200,
        key="sweep_spec",
    )
    b1, b2 = st.columns(2)
    backend = b1.selectbox("Backend", ["process", "ray"], key="sweep_backend")
    address = b2.text_input("Ray address (empty: a local Ray)", key="sweep_address")
    if st.button("Start sweep", key="start_sweep"):
        import tempfile

        from dashboards.common import REPO
        from twin.runner import RunError
        from twin.sweep import load_spec

        with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=REPO, delete=False) as fh:
            fh.write(spec_text)
        try:
            spec = load_spec(fh.name)
        except (RunError, ScenarioError) as exc:
            st.error(str(exc))
        else:
            out = runs_dir() / "sweeps" / spec.name
            st.session_state["sweep_job"] = start_sweep(
                spec, out=out, backend=backend, address=address or None
            )
        finally:
            Path(fh.name).unlink(missing_ok=True)


@st.fragment(run_every=1.0)
def sweep_panel() -> None:
    """Live progress of the current sweep."""
    job: Job | None = st.session_state.get("sweep_job")
    if job is None:
        return
    st.progress(job.progress, text=f"{job.label}: {job.detail} ({job.elapsed_s:.1f} s)")
    if job.status == "running":
        if st.button("Cancel sweep", key="cancel_sweep"):
            job.cancel()
    elif job.status == "done" and job.sweep_result is not None:
        res = job.sweep_result
        st.success(
            f"{res.cells_run} cells run, {res.cells_reused} reused, {res.wall_seconds:.1f} s: "
            f"{res.folder}"
        )
        st.dataframe(res.differences.to_pandas(), hide_index=True)
    elif job.status == "cancelled":
        st.warning("cancelled after the running cells; start it again to resume")
    else:
        st.error(f"sweep failed: {job.error}")


sweep_panel()

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
