"""Sweeps: a grid of scenarios x scenario overrides x policies x seeds, run in parallel.

A sweep spec is a YAML file::

    name: replenishment-vs-events
    scenarios:                       # label: path (relative to the spec), or a list of paths
      baseline: ../scenarios/baseline.yaml
      black_friday: ../scenarios/black_friday.yaml
    overrides:                       # optional: dotted scenario path -> values; grid = product
      catalog.initial_stock_days: [7, 14]
    policies:                        # label: "[kind/]name[:k=v,...]" or a list of such
      base_stock: replenishment/base_stock
      capped: replenishment/capped_base_stock
    seeds: 5                         # a count (first_seed, first_seed + 1, ...) or a list
    first_seed: 1
    days: 7                          # simulated days per run (default: each scenario's)
    baseline: base_stock             # the policy the others are compared with (default: first)

Every cell (scenario, overrides, policy, seed) is one twin run; the same seed gives every
policy the same random streams (common random numbers), so differences are paired by seed. The
output folder (default ``sweeps/<name>``) holds

* ``cells/<cell id>.parquet``: one row per finished cell (labels, wall time, every numeric KPI),
  written as soon as the cell finishes; a rerun skips cells whose file exists (resumable);
* ``kpis.parquet``: all cells, one row each;
* ``differences.parquet``: per (scenario, overrides, policy, KPI): the paired mean difference to
  the baseline policy over common seeds, its Student-t 95% CI, and both means.

Runs go to a local process pool or to Ray (:func:`twin.runner.run_parallel`).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scenarios.load import read_yaml
from scenarios.schema import Scenario, load_scenario, parse_scenario
from twin.runner import (
    BACKENDS,
    COMPARE_KPIS,
    RunError,
    parse_policy,
    run_parallel,
    run_scenario,
    t_half_width,
    with_policy,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "SweepError",
    "SweepResult",
    "SweepSpec",
    "load_spec",
    "plan_cells",
    "run_sweep",
]

logger = logging.getLogger(__name__)


class SweepError(RunError):
    """A sweep spec is invalid or cannot run; the message names the field and the value."""


class SweepSpec(BaseModel):
    """A sweep spec (see the module doc); paths are relative to ``base_dir``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
    scenarios: dict[str, str] | list[str] = Field(min_length=1)
    overrides: dict[str, list[Any]] = {}
    policies: dict[str, str | list[str]] = Field(min_length=1)
    seeds: Annotated[int, Field(ge=1, le=10_000)] | list[Annotated[int, Field(ge=0)]] = 1
    first_seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    days: Annotated[int, Field(ge=1, le=3660)] | None = None
    baseline: str | None = None
    base_dir: str = "."

    def scenario_paths(self) -> dict[str, Path]:
        """Scenario label -> file (labels default to the file stems)."""
        items = (
            self.scenarios.items()
            if isinstance(self.scenarios, dict)
            else ((Path(p).stem, p) for p in self.scenarios)
        )
        return {label: Path(self.base_dir) / path for label, path in items}

    def seed_list(self) -> list[int]:
        """The replication seeds."""
        if isinstance(self.seeds, list):
            return list(self.seeds)
        return [self.first_seed + i for i in range(self.seeds)]

    def baseline_policy(self) -> str:
        """The policy label differences are taken against."""
        return self.baseline if self.baseline is not None else next(iter(self.policies))


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec file.

    Raises:
        SweepError: unreadable YAML, an unknown or mistyped field (named with its value), a
            baseline that is not a policy label, or duplicate scenario labels.
        scenarios.errors.ScenarioError: the file cannot be read or is not valid YAML.
    """
    data, _ = read_yaml(path)
    if not isinstance(data, dict):
        raise SweepError(f"sweep spec {path}: the top level is not a mapping")
    data.setdefault("base_dir", str(Path(path).resolve().parent))
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SweepError(
            f"sweep spec {path}: {where}: {first['msg']} (value {first.get('input')!r})"
        ) from None
    if spec.baseline is not None and spec.baseline not in spec.policies:
        raise SweepError(
            f"sweep spec {path}: baseline {spec.baseline!r} is not a policy label "
            f"(allowed: {', '.join(spec.policies)})"
        )
    if isinstance(spec.scenarios, list) and len(spec.scenario_paths()) != len(spec.scenarios):
        raise SweepError(f"sweep spec {path}: scenarios: two files share a name; use labels")
    return spec


# ---- the grid --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Cell:
    """One run of the grid; ``cell_id`` is stable across reruns of the same spec."""

    cell_id: str
    scenario_label: str
    overrides: str  # the applied overrides, ``path=value, ...`` ("-" if none)
    policy: str
    seed: int
    days: int | None
    scenario: Scenario


def _override(data: dict[str, Any], dotted: str, value: Any) -> None:
    node: Any = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        key: Any = int(part) if isinstance(node, list) and part.isdigit() else part
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            raise SweepError(f"overrides.{dotted}: {part!r} is not in the scenario") from None
    last: Any = int(parts[-1]) if isinstance(node, list) and parts[-1].isdigit() else parts[-1]
    if not isinstance(node, dict | list):
        raise SweepError(f"overrides.{dotted}: the scenario has no mapping or list there")
    node[last] = value


def _cell_id(*parts: object) -> str:
    return hashlib.sha256(orjson.dumps([str(p) for p in parts])).hexdigest()[:16]


def plan_cells(spec: SweepSpec) -> list[Cell]:
    """Every cell of the grid, with its scenario validated (overrides and policy applied).

    Raises:
        SweepError: an override path that is not in the scenario, or a bad policy string.
        scenarios.errors.ScenarioError: a scenario file, or a scenario after an override, is
            invalid (the problems name the scenario path and the override).
    """
    keys = list(spec.overrides)
    combos = [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(spec.overrides[k] for k in keys))
    ] or [{}]
    policies: dict[str, list[tuple[str, Any]]] = {}
    for label, specs in spec.policies.items():
        try:
            policies[label] = [
                parse_policy(s) for s in ([specs] if isinstance(specs, str) else specs)
            ]
        except RunError as exc:
            raise SweepError(f"policies.{label}: {exc}") from None
    cells = []
    for s_label, path in spec.scenario_paths().items():
        base = load_scenario(path)
        for combo in combos:
            data = base.model_dump(mode="json")
            for dotted, value in combo.items():
                _override(data, dotted, value)
            shown = ", ".join(f"{k}={v!r}" for k, v in sorted(combo.items())) or "-"
            varied = parse_scenario(data, source=f"{path} with overrides {shown}")
            for p_label, refs in policies.items():
                pol = varied.policies
                for kind, ref in refs:
                    pol = with_policy(pol, kind, ref)
                sc = varied.model_copy(update={"policies": pol})
                for seed in spec.seed_list():
                    cells.append(
                        Cell(
                            cell_id=_cell_id(s_label, shown, p_label, seed, spec.days, refs),
                            scenario_label=s_label,
                            overrides=shown,
                            policy=p_label,
                            seed=seed,
                            days=spec.days,
                            scenario=sc,
                        )
                    )
    return cells


# ---- running -------------------------------------------------------------------------------
def _run_cell(cell: Cell) -> dict[str, Any]:
    """Run one cell (in a worker); the row for its Parquet file."""
    start = time.perf_counter()
    kpis = run_scenario(cell.scenario, seed=cell.seed, days=cell.days, write=False).kpis
    row: dict[str, Any] = {
        "cell_id": cell.cell_id,
        "scenario": cell.scenario_label,
        "overrides": cell.overrides,
        "policy": cell.policy,
        "seed": cell.seed,
        "days": int(kpis.get("days", cell.days or 0)),
        "cell_wall_seconds": time.perf_counter() - start,
    }
    for name, value in kpis.items():
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool
        ):
            row[name] = float(value)
    return row


def _write_row(path: Path, row: Mapping[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.Table.from_pylist([dict(row)]), tmp)
    tmp.replace(path)  # atomic: a killed sweep never leaves a half-written cell


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What a sweep produced: where, how many cells ran now or were reused, and the tables."""

    folder: Path
    cells_run: int
    cells_reused: int
    wall_seconds: float
    kpis: pa.Table  # one row per cell
    differences: pa.Table  # see paired_differences


def run_sweep(
    spec: SweepSpec,
    out: Path | None = None,
    *,
    backend: str = "process",
    address: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Run every cell of ``spec`` not already in ``out/cells``; write the tables.

    Args:
        out: output folder (default ``sweeps/<name>``).
        backend, address, workers: see :func:`twin.runner.run_parallel`.
        progress: ``progress(done, total)`` as cells finish (reused cells count as done).

    Raises:
        SweepError, ScenarioError: see :func:`plan_cells`.
        RunError, PolicyError, CommerceError: a run failed (finished cells are kept).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if backend not in BACKENDS:
        raise SweepError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    start = time.perf_counter()
    folder = out if out is not None else Path("sweeps") / spec.name
    cells_dir = folder / "cells"
    cells_dir.mkdir(parents=True, exist_ok=True)
    (folder / "spec.json").write_bytes(
        orjson.dumps(spec.model_dump(mode="json"), option=orjson.OPT_INDENT_2)
    )
    cells = plan_cells(spec)
    todo = [c for c in cells if not (cells_dir / f"{c.cell_id}.parquet").exists()]
    reused = len(cells) - len(todo)
    done_count = reused
    if progress is not None:
        progress(done_count, len(cells))

    def finished(i: int, row: dict[str, Any]) -> None:
        nonlocal done_count
        _write_row(cells_dir / f"{todo[i].cell_id}.parquet", row)
        done_count += 1
        if progress is not None:
            progress(done_count, len(cells))

    logger.info(
        "sweep %s: %d cells, %d to run, %d reused", spec.name, len(cells), len(todo), reused
    )
    run_parallel(
        _run_cell, todo, workers=workers, backend=backend, address=address, on_result=finished
    )
    rows = [pq.read_table(cells_dir / f"{c.cell_id}.parquet").to_pylist()[0] for c in cells]
    kpis = pa.Table.from_pylist(rows)
    diffs = pa.Table.from_pylist(paired_differences(rows, spec.baseline_policy()))
    pq.write_table(kpis, folder / "kpis.parquet")
    pq.write_table(diffs, folder / "differences.parquet")
    return SweepResult(
        folder=folder,
        cells_run=len(todo),
        cells_reused=reused,
        wall_seconds=time.perf_counter() - start,
        kpis=kpis,
        differences=diffs,
    )


def paired_differences(
    rows: Sequence[Mapping[str, Any]], baseline: str, names: Sequence[str] = COMPARE_KPIS
) -> list[dict[str, Any]]:
    """Per (scenario, overrides, policy != baseline, KPI): paired difference over common seeds.

    Each row: ``n_seeds``, ``baseline_mean``, ``policy_mean``, ``diff_mean`` (policy minus
    baseline), ``diff_ci95`` (Student-t half-width; NaN for one seed), ``diff_low``,
    ``diff_high``.
    """
    by: dict[tuple[str, str, str], dict[int, Mapping[str, Any]]] = {}
    for r in rows:
        by.setdefault((r["scenario"], r["overrides"], r["policy"]), {})[int(r["seed"])] = r
    out = []
    for (scenario, overrides, policy), runs in sorted(by.items()):
        if policy == baseline:
            continue
        base = by.get((scenario, overrides, baseline), {})
        seeds = sorted(set(runs) & set(base))
        if not seeds:
            continue
        for name in names:
            x = np.array([float(runs[s].get(name, np.nan)) for s in seeds])
            b = np.array([float(base[s].get(name, np.nan)) for s in seeds])
            d = x - b
            hw = t_half_width(d)
            out.append(
                {
                    "scenario": scenario,
                    "overrides": overrides,
                    "policy": policy,
                    "baseline": baseline,
                    "kpi": name,
                    "n_seeds": len(seeds),
                    "baseline_mean": float(b.mean()),
                    "policy_mean": float(x.mean()),
                    "diff_mean": float(d.mean()),
                    "diff_ci95": hw,
                    "diff_low": float(d.mean() - hw),
                    "diff_high": float(d.mean() + hw),
                }
            )
    return out
