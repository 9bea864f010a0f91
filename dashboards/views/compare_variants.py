"""Compare: policy variants x seeds with common random numbers, paired differences, verdicts.

The variants run through :func:`twin.runner.compare` (what ``shopsphere compare`` calls); a
policy is written as on the CLI: ``[kind/]name[:k=v,...]``.
"""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from dashboards.common import kpi_label, shipped_scenarios
from dashboards.jobs import Job, start_compare
from scenarios.errors import ScenarioError
from scenarios.schema import load_scenario
from twin.runner import COMPARE_KPIS, RunError, parse_policy, with_policy
from twin.verdict import verdict

st.title("Compare")
files = shipped_scenarios()
with st.form("compare"):
    choice = st.selectbox("Scenario", files, format_func=lambda p: p.name, key="cmp_scenario")
    specs = st.text_area(
        "Policy variants, one per line (first = baseline)",
        value="base_stock\ncapped_base_stock",
        key="cmp_policies",
    )
    c1, c2, c3 = st.columns(3)
    seeds = c1.number_input("Seeds", min_value=2, max_value=50, value=3, key="cmp_seeds")
    first = c2.number_input(
        "First seed", min_value=0, max_value=2**53 - 1, value=1, key="cmp_first"
    )
    days = c3.number_input("Days", min_value=1, max_value=3650, value=7, key="cmp_days")
    go = st.form_submit_button("Compare", type="primary")

if go and choice is not None:
    try:
        base = load_scenario(choice)
        variants = []
        for line in [s.strip() for s in specs.splitlines() if s.strip()]:
            kind, ref = parse_policy(line)
            variants.append(
                (line, base.model_copy(update={"policies": with_policy(base.policies, kind, ref)}))
            )
        if len(variants) < 2:
            raise RunError("give at least two policy variants, one per line")
    except (ScenarioError, RunError) as exc:
        st.error(str(exc))
    else:
        seed_list = [int(first) + i for i in range(int(seeds))]
        st.session_state["cmp_job"] = start_compare(variants, seed_list, days=int(days))


@st.fragment(run_every=0.5)
def progress_panel() -> None:
    """Live progress of the comparison while it runs."""
    job: Job | None = st.session_state.get("cmp_job")
    if job is None:
        return
    if job.status == "done":
        if st.session_state.get("cmp_shown") is not job:
            st.session_state["cmp_shown"] = job
            st.rerun(scope="app")  # the results below live outside this fragment
        return
    st.progress(job.progress, text=f"{job.label}: {job.detail} ({job.elapsed_s:.1f} s)")
    if job.status == "running" and st.button("Cancel", key="cmp_cancel"):
        job.cancel()
    if job.status == "failed":
        st.error(f"comparison failed: {job.error}")
    if job.status == "cancelled":
        st.warning("cancelled")


progress_panel()

job: Job | None = st.session_state.get("cmp_job")
if job is not None and job.status == "done" and job.compare_result is not None:
    res = job.compare_result
    summary = res.summary()
    base_label = res.variants[0]
    rows = []
    for v in res.variants:
        for k in COMPARE_KPIS:
            s = summary[v][k]
            unit = 0.01 if k.endswith("_cents") else 1.0  # money shown in currency units
            rows.append(
                {
                    "variant": v,
                    "kpi": kpi_label(k),
                    "mean": s["mean"] * unit,
                    "ci95": s["ci95"] * unit,
                    "diff_vs_baseline": s["diff"] * unit,
                    "diff_ci95": s["diff_ci95"] * unit,
                }
            )
    table = pd.DataFrame(rows)
    st.subheader(f"{len(res.variants)} variants x {len(res.seeds)} seeds (common random numbers)")
    st.markdown("**Verdicts** (paired differences against the first variant, 95% CI)")
    for v in res.variants[1:]:
        for k in ("availability", "fill_rate", "revenue_cents", "gross_margin_cents", "lost_units"):
            s = summary[v][k]
            st.markdown("- " + verdict(k, v, base_label, s["diff"], s["diff_ci95"]).text)
    st.dataframe(table, hide_index=True, width="stretch")
    per_seed = pd.DataFrame(
        [
            {"variant": v, "seed": seed, **{k: r.get(k) for k in COMPARE_KPIS}}
            for v in res.variants
            for seed, r in zip(res.seeds, res.kpis[v], strict=True)
        ]
    )
    c1, c2 = st.columns(2)
    c1.download_button("Export CSV", table.to_csv(index=False), "compare.csv", "text/csv")
    buf = io.BytesIO()
    per_seed.to_parquet(buf, index=False)
    c2.download_button(
        "Export per-seed Parquet",
        buf.getvalue(),
        "compare_per_seed.parquet",
        "application/octet-stream",
    )
