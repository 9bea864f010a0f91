"""Results of one run: KPI cards, time series with event windows and warm-up, drill-down, map.

Everything is read from the run directory through :class:`twin.reader.RunReader`: only the
columns a chart needs, cached per run, so a 90-day chain-scale run renders quickly.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from dashboards.common import (
    CARD_KPIS,
    SERIES,
    cached_daily_by_location,
    cached_runs,
    format_kpi,
    kpi_label,
    reader,
    runs_dir,
    series_frame,
)

st.title("Results")
runs = cached_runs(str(runs_dir()))
if not runs:
    st.info(f"No finished runs under {runs_dir()}; start one on the Runs page.")
    st.stop()

default = st.query_params.get("run")
names = [r.path.name for r in runs]
index = names.index(default) if default in names else 0
picked = st.selectbox("Run", runs, index=index, format_func=lambda r: r.path.name, key="run")
path: Path = picked.path
run = reader(path)
sc = run.scenario
kpis = run.kpis

# ---- KPI cards ------------------------------------------------------------------------------
st.caption(
    f"{sc.name}, seed {run.meta.get('seed')}, {run.meta.get('days')} days "
    f"(KPIs after a {sc.warmup_days}-day warm-up), commerce {run.meta.get('commerce_mode')}"
)
cards = [k for k in CARD_KPIS if k in kpis]
for row in range(0, len(cards), 4):
    cols = st.columns(4)
    for col, name in zip(cols, cards[row : row + 4], strict=False):
        col.metric(kpi_label(name), format_kpi(name, kpis[name]))
with st.expander("All KPIs"):
    st.dataframe(
        pd.DataFrame(
            [(kpi_label(k), format_kpi(k, v)) for k, v in kpis.items() if not isinstance(v, dict)],
            columns=["KPI", "value"],
        ),
        hide_index=True,
    )

# ---- time series ----------------------------------------------------------------------------
st.subheader("Over time")
options = [*SERIES, "delivery time (hours)"]
label = st.selectbox("Series", options, index=0, key="series")
if label == "delivery time (hours)":
    ev = run.events(kinds=["delivery"], columns=["t_days", "kind", "value_cents"])
    frame = (
        ev.assign(day=ev["t_days"].astype(int), value=ev["value_cents"] / 60.0)
        .groupby("day", as_index=False)["value"]
        .mean()
    )
else:
    frame = series_frame(path, label)

layers: list[alt.Chart] = []
windows = [
    {"start": float(e.start_day), "end": float(e.end_day), "what": e.name or e.kind}
    for e in sc.events
]
if sc.warmup_days:
    windows.append({"start": 0.0, "end": float(sc.warmup_days), "what": "warm-up"})
if windows:
    layers.append(
        alt.Chart(pd.DataFrame(windows))
        .mark_rect(opacity=0.15)
        .encode(x="start:Q", x2="end:Q", color=alt.Color("what:N", title="window"))
    )
layers.append(
    alt.Chart(frame)
    .mark_line(point=True)
    .encode(x=alt.X("day:Q", title="day"), y=alt.Y("value:Q", title=label))
)
st.altair_chart(alt.layer(*layers), width="stretch")

# ---- drill-down -----------------------------------------------------------------------------
st.subheader("Drill-down")
tab_loc, tab_cat, tab_sku = st.tabs(["by location", "by category", "by SKU"])
with tab_loc:
    column: str = st.selectbox(
        "Column",
        ["units_sold", "lost_units", "on_hand_units", "revenue_cents", "stockout_skus"],
        key="loc_col",
    )
    wide = cached_daily_by_location(str(path), (path / "kpis.json").stat().st_mtime, column)
    st.line_chart(wide)
for tab, level in ((tab_cat, "category"), (tab_sku, "sku")):
    with tab:
        table = run.sales(level)
        if table is None:
            st.info(f"This run directory has no sales_by_{level}.parquet (written by newer runs).")
        else:
            st.dataframe(table, hide_index=True)

# ---- map ------------------------------------------------------------------------------------
st.subheader("Network")
w = sc.world
nodes = [{"code": s.code, "kind": "store", "lat": s.lat, "lon": s.lon} for s in w.stores]
nodes += [{"code": h.code, "kind": "warehouse", "lat": h.lat, "lon": h.lon} for h in w.warehouses]
for sup in w.suppliers:
    lat, lon = getattr(sup, "lat", None), getattr(sup, "lon", None)
    if lat is not None and lon is not None:
        nodes.append({"code": sup.code, "kind": "supplier", "lat": lat, "lon": lon})
where = {n["code"]: (n["lat"], n["lon"]) for n in nodes}
links = [
    {"lat": where[s.code][0], "lon": where[s.code][1], "lat2": where[wh][0], "lon2": where[wh][1]}
    for s in w.stores
    if (wh := getattr(s, "warehouse", None)) in where
]
node_chart = (
    alt.Chart(pd.DataFrame(nodes))
    .mark_point(filled=True, size=90)
    .encode(
        x=alt.X("lon:Q", scale=alt.Scale(zero=False), title="longitude"),
        y=alt.Y("lat:Q", scale=alt.Scale(zero=False), title="latitude"),
        color="kind:N",
        shape="kind:N",
        tooltip=["code", "kind", "lat", "lon"],
    )
)
charts: list[alt.Chart] = []
if links:
    charts.append(
        alt.Chart(pd.DataFrame(links))
        .mark_rule(opacity=0.35)
        .encode(x="lon:Q", y="lat:Q", x2="lon2:Q", y2="lat2:Q")
    )
charts.append(node_chart)
st.altair_chart(alt.layer(*charts), width="stretch")
st.caption("Lines: store replenishment links (store -> its warehouse).")
