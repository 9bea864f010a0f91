"""A seeded fuzz of scenario files: every mutation is either refused cleanly or runs a day.

Each of ``N_MUTATIONS`` files is a small valid scenario with one mutation: a value replaced by
something hostile (NaN, inf, 2**70, 1e30, a NUL, a date at the end of the calendar, the wrong
type), a value scaled, a key deleted or invented, a list emptied, or the raw text damaged (NUL
bytes, deep nesting, alias bombs, truncation, bad UTF-8). The outcome must be one of

* a :class:`ScenarioError` whose every problem names a path in the file or a line (what
  ``shopsphere validate``/``run`` print before exiting with status 2), or
* a completed one-day run of the twin on in-process SQLite,

with no other exception (a traceback) and nothing taking longer than ``LIMIT_S``.
"""

from __future__ import annotations

import copy
import math
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import pytest
import yaml

from scenarios.errors import ScenarioError
from scenarios.load import read_yaml
from scenarios.schema import load_scenario
from shopsphere_cli.errors import message_for
from twin.runner import run_scenario

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
N_MUTATIONS = 320
LIMIT_S = 30.0
SEED = 20261201

HOSTILE: list[Any] = [
    math.nan,
    math.inf,
    -math.inf,
    -1,
    0,
    1e30,
    -1e30,
    2**70,
    2**63,
    10**12,
    1.5,
    "",
    "3",
    "a\x00b",
    "x" * 20_000,
    True,
    None,
    [],
    {},
    [1, 2, 3],
    {"kind": "fixed", "value": 1e300},
    "9999-12-31",
    "0001-01-01",
]


def _base() -> dict[str, Any]:
    """A small valid scenario with every section and event kind present (a target for each)."""
    data, _ = read_yaml(SCENARIOS / "baseline.yaml")
    world = data["world"]
    world["stores"] = [world["stores"][0], world["stores"][2]]
    cat = data["catalog"]
    cat.update(n_skus=12, n_categories=3, category_names=cat["category_names"][:3])
    cat["base_demand"] = {"kind": "gamma", "mean": 0.6, "cv": 1.0}
    data.update(duration_days=2, warmup_days=0)
    data["customers"]["hourly_profile"] = [0.0] * 7 + [1.0] * 14 + [0.0] * 3
    data["events"] = [
        {
            "kind": "flash_sale",
            "start_day": 0,
            "end_day": 1,
            "discount": 0.3,
            "traffic_multiplier": 2.0,
            "categories": ["dairy"],
        },
        {
            "kind": "supplier_disruption",
            "start_day": 0,
            "end_day": 2,
            "supplier": "SUP-A",
            "lead_time_multiplier": 2.0,
        },
        {
            "kind": "weather_shock",
            "start_day": 0,
            "end_day": 1,
            "category_multipliers": {"bakery": 1.5},
        },
        {"kind": "holiday", "start_day": 1, "end_day": 2, "demand_multiplier": 0.5},
    ]
    return data


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _delete(data: Any, path: tuple[Any, ...]) -> None:
    for part in path[:-1]:
        data = data[part]
    del data[path[-1]]


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)


def _tree_mutation(rng: np.random.Generator, base: dict[str, Any]) -> tuple[str, str]:
    data = copy.deepcopy(base)
    nodes = [(p, v) for p, v in _paths(data) if p]
    path, value = nodes[int(rng.integers(len(nodes)))]
    op = int(rng.integers(7))
    if op <= 1:
        new = HOSTILE[int(rng.integers(len(HOSTILE)))]
        _set(data, path, new)
        what = f"{path} = {new!r:.40}"
    elif op in (2, 6) and isinstance(value, int | float) and not isinstance(value, bool):
        factor = float(rng.choice([-1.0, 0.0, 0.1, 3.0, 10.0, 100.0]))
        new = type(value)(value * factor) if isinstance(value, float) else int(value * factor)
        _set(data, path, new)
        what = f"{path} x {factor}"
    elif op == 3 and isinstance(path[-1], str):
        _delete(data, path)
        what = f"del {path}"
    elif op == 4:
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict):
            parent["surplus_key"] = value
            what = f"{path[:-1]} + surplus_key"
        elif isinstance(parent, list):
            parent.clear()
            what = f"{path[:-1]} emptied"
        else:  # pragma: no cover - parents are containers
            what = "noop"
    else:
        if isinstance(value, list) and value:
            value.append(copy.deepcopy(value[0]))
            what = f"{path} duplicated first item"
        else:
            new = HOSTILE[int(rng.integers(len(HOSTILE)))]
            _set(data, path, new)
            what = f"{path} = {new!r:.40}"
    return what, _dump(data)


def _text_mutation(rng: np.random.Generator, text: str) -> tuple[str, bytes]:
    raw = text.encode("utf-8")
    op = int(rng.integers(7))
    at = int(rng.integers(len(raw)))
    if op == 0:
        return f"NUL at byte {at}", raw[:at] + b"\x00" + raw[at:]
    if op == 1:
        depth = int(rng.integers(30, 5000))
        return f"nesting {depth}", raw + b"\nx: " + b"[" * depth + b"]" * depth + b"\n"
    if op == 2:
        levels = int(rng.integers(6, 12))
        lines = ["l0: &l0 [a, a, a, a, a, a, a, a, a]"]
        lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
        return f"alias bomb {levels}", "\n".join(lines).encode() + b"\n" + raw
    if op == 3:
        return f"truncated at {at}", raw[:at]
    if op == 4:
        return f"bad UTF-8 at {at}", raw[:at] + b"\xff\xfe" + raw[at:]
    if op == 5:
        return "recursive alias", b"r: &r\n  s: *r\n" + raw
    flip = bytes([raw[at] ^ (1 << int(rng.integers(7)))])
    return f"bit flip at {at}", raw[:at] + flip + raw[at + 1 :]


class _OvertimeError(Exception):
    pass


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def alarm(signum: int, frame: FrameType | None) -> None:
        raise _OvertimeError(f"over {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _outcome(path: Path) -> str:
    """``"refused"`` or ``"ran"``; raises on a traceback-worthy error or an unnamed problem."""
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        unnamed = [p for p in exc.problems if not p.path and p.line is None]
        assert not unnamed, f"problems without a path or line: {unnamed}"
        assert str(path) in str(exc)
        return "refused"
    outcome = run_scenario(scenario, days=1, write=False)
    assert outcome.kpis["days"] == 1
    return "ran"


def test_every_mutated_scenario_is_refused_with_its_path_or_runs_one_day(tmp_path: Path) -> None:
    rng = np.random.default_rng(SEED)
    base = _base()
    text = _dump(base)
    counts = {"refused": 0, "ran": 0}
    failures: list[str] = []
    slowest = 0.0
    for i in range(N_MUTATIONS):
        if rng.random() < 0.2:
            what, raw = _text_mutation(rng, text)
        else:
            what, mutated = _tree_mutation(rng, base)
            raw = mutated.encode("utf-8")
        path = tmp_path / f"m{i:03d}.yaml"
        path.write_bytes(raw)
        start = time.perf_counter()
        try:
            with _deadline(LIMIT_S):
                counts[_outcome(path)] += 1
        except _OvertimeError:
            failures.append(f"#{i} {what}: over {LIMIT_S} s")
        except Exception as exc:
            kind = "clean at run time" if message_for(exc) is not None else "TRACEBACK"
            failures.append(f"#{i} {what}: {kind} {type(exc).__name__}: {str(exc)[:300]}")
        slowest = max(slowest, time.perf_counter() - start)
    assert not failures, "\n".join(failures)
    assert counts["refused"] + counts["ran"] == N_MUTATIONS
    # the fuzz exercises both outcomes, so neither path is vacuous
    assert counts["ran"] >= 20 and counts["refused"] >= 100, counts
    assert slowest < LIMIT_S


def test_the_unmutated_fuzz_base_runs(tmp_path: Path) -> None:
    path = tmp_path / "base.yaml"
    path.write_text(_dump(_base()), encoding="utf-8")
    assert _outcome(path) == "ran"
