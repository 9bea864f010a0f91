"""Scenarios: open a shipped scenario, edit its main fields, validate, save as YAML with a diff.

Validation is :func:`scenarios.schema.load_scenario` on the edited YAML, the very function
``shopsphere validate`` calls, so each message is the CLI's message; it is shown under the field
it is about (problems on fields without a widget are listed above the form).
"""

from __future__ import annotations

import difflib
import tempfile
from pathlib import Path

import streamlit as st
import yaml

from dashboards.common import runs_dir, shipped_scenarios
from scenarios.errors import Problem, ScenarioError
from scenarios.schema import load_scenario

# (path in the YAML, label). Values are edited as YAML scalars so any value can be typed and
# the validator, not the widget, says what is wrong with it.
TOP_FIELDS: tuple[tuple[tuple[str | int, ...], str], ...] = (
    (("name",), "name"),
    (("description",), "description"),
    (("seed",), "seed"),
    (("start_date",), "start date"),
    (("duration_days",), "duration (days)"),
    (("warmup_days",), "warm-up (days)"),
    (("catalog", "n_skus"), "SKUs"),
    (("catalog", "initial_stock_days"), "initial stock (days of demand)"),
    (("catalog", "substitution_probability"), "substitution probability"),
)
EVENT_KEYS = ("traffic_multiplier", "discount", "multiplier", "start_day", "end_day")


_MISSING = object()


def _child(cur: object, key: str | int) -> object:
    """``cur[key]`` for a mapping or a list, or ``_MISSING`` when there is no such child."""
    if isinstance(cur, dict):
        return cur.get(key, _MISSING)
    if isinstance(cur, list) and isinstance(key, int) and 0 <= key < len(cur):
        return cur[key]
    return _MISSING


def _get(data: object, path: tuple[str | int, ...]) -> object:
    cur = data
    for p in path:
        cur = _child(cur, p)
        if cur is _MISSING:
            return None
    return cur


def _set(data: dict[str, object], path: tuple[str | int, ...], value: object) -> None:
    parent = _get(data, path[:-1]) if len(path) > 1 else data
    last = path[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list) and _child(parent, last) is not _MISSING:
        parent[int(last)] = value


def _path_text(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _parse(text: str) -> object:
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        return text


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def validate_data(data: object) -> list[Problem]:
    """The problems ``shopsphere validate`` would report for ``data`` (empty when valid)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "edited.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
        try:
            load_scenario(path)
        except ScenarioError as exc:
            return list(exc.problems)
    return []


st.title("Scenarios")
files = shipped_scenarios()
if not files:
    st.warning("No scenario files found; set SHOPSPHERE_SCENARIOS_DIR.")
    st.stop()
choice = st.selectbox("Scenario", files, format_func=lambda p: p.name, key="scenario_file")
original = yaml.safe_load(Path(choice).read_text("utf-8"))
edited: dict[str, object] = yaml.safe_load(Path(choice).read_text("utf-8"))

fields: list[tuple[tuple[str | int, ...], str]] = list(TOP_FIELDS)
for i, ev in enumerate(original.get("events", []) or []):
    for k in EVENT_KEYS:
        if isinstance(ev, dict) and k in ev:
            fields.append((("events", i, k), f"event {i} ({ev.get('name', ev.get('kind'))}): {k}"))
for i, sup in enumerate(original.get("world", {}).get("suppliers", []) or []):
    if isinstance(sup, dict) and "reliability" in sup:
        fields.append(
            (("world", "suppliers", i, "reliability"), f"supplier {sup['code']}: reliability")
        )

values: dict[tuple[str | int, ...], str] = {}
cols = st.columns(3)
for n, (path, label) in enumerate(fields):
    with cols[n % 3]:
        values[path] = st.text_input(
            label, value=_fmt(_get(original, path)), key=f"f:{choice}:{_path_text(path)}"
        )
for path, text in values.items():
    _set(edited, path, _parse(text))

problems = validate_data(edited)
by_field: dict[tuple[str | int, ...], list[Problem]] = {p: [] for p, _ in fields}
others: list[Problem] = []
for prob in problems:
    target = next(
        (
            f
            for f, _ in fields
            if prob.path == _path_text(f) or prob.path.startswith(_path_text(f) + ".")
        ),
        None,
    )
    (by_field[target] if target is not None else others).append(prob)

if problems:
    st.error(f"{len(problems)} problem(s), as `shopsphere validate` reports them:")
    for prob in others:
        st.error(str(prob))
    for path, label in fields:
        for prob in by_field[path]:
            st.error(f"**{label}** - {prob}", icon=":material/error:")
else:
    st.success("valid: `shopsphere validate` accepts this scenario")

before = yaml.safe_dump(original, sort_keys=False, allow_unicode=True).splitlines()
after = yaml.safe_dump(edited, sort_keys=False, allow_unicode=True).splitlines()
diff = "\n".join(
    difflib.unified_diff(before, after, fromfile=Path(choice).name, tofile="edited", lineterm="")
)
st.subheader("Changes")
st.code(diff or "(no changes)", language="diff")

name = str(edited.get("name") or "edited")
target_file = runs_dir() / "scenarios" / f"{name}.yaml"
if st.button(f"Save as {target_file}", disabled=bool(problems) or not diff, key="save"):
    target_file.parent.mkdir(parents=True, exist_ok=True)
    target_file.write_text(yaml.safe_dump(edited, sort_keys=False, allow_unicode=True), "utf-8")
    st.success(f"saved {target_file}; it is offered on the Runs and Compare pages")
