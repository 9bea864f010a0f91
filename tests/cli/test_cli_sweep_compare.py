"""``shopsphere sweep`` and ``compare``: grids, paired differences, resuming, saved tables; and
reading a run directory back (twin.reader)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from scenarios.load import read_yaml
from shopsphere_cli.main import app
from twin.reader import RunDirError, RunReader, list_runs
from twin.runner import run_parallel, t_half_width
from twin.sweep import SweepError, load_spec, paired_differences, plan_cells, run_sweep

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _tiny(path: Path, name: str = "tiny") -> Path:
    data, _ = read_yaml(SCENARIOS / "baseline.yaml")
    data = copy.deepcopy(data)
    data["name"] = name
    data["world"]["stores"] = data["world"]["stores"][:2]
    data["catalog"].update(n_skus=10, n_categories=2, category_names=["dairy", "bakery"])
    data["catalog"]["base_demand"] = {"kind": "gamma", "mean": 0.8, "cv": 1.0}
    data.update(duration_days=2, warmup_days=0)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _spec(tmp_path: Path, **extra: Any) -> Path:
    _tiny(tmp_path / "a.yaml", "a")
    spec = {
        "name": "t",
        "scenarios": {"a": "a.yaml"},
        "overrides": {"catalog.initial_stock_days": [3, 10]},
        "policies": {"bs": "replenishment/base_stock", "capped": "replenishment/capped_base_stock"},
        "seeds": 2,
        "first_seed": 5,
        "days": 2,
        **extra,
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def _simulated(row: dict[str, Any]) -> dict[str, Any]:
    """The KPIs the simulation determines (wall-clock and API latency figures vary by run)."""
    timing = ("wall", "latency", "_ms", "per_second")
    return {k: v for k, v in row.items() if not any(t in k for t in timing)}


def _square(x: int) -> int:
    return x * x


@pytest.mark.slow
def test_run_parallel_returns_results_in_payload_order_on_a_process_pool() -> None:
    seen: list[int] = []
    out = run_parallel(_square, [3, 1, 2], workers=2, on_result=lambda i, r: seen.append(i))
    assert out == [9, 1, 4]
    assert sorted(seen) == [0, 1, 2]


def test_t_half_width_matches_the_student_t_formula() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    # t(0.975, 3) = 3.182446305284263
    assert t_half_width(x) == pytest.approx(3.182446305284263 * x.std(ddof=1) / 2.0)
    assert np.isnan(t_half_width(np.array([1.0])))


def test_a_spec_expands_to_scenarios_x_overrides_x_policies_x_seeds(tmp_path: Path) -> None:
    cells = plan_cells(load_spec(_spec(tmp_path)))
    assert len(cells) == 1 * 2 * 2 * 2
    assert len({c.cell_id for c in cells}) == 8
    assert {c.overrides for c in cells} == {
        "catalog.initial_stock_days=3",
        "catalog.initial_stock_days=10",
    }
    capped = [c for c in cells if c.policy == "capped"]
    assert all(c.scenario.policies.replenishment.name == "capped_base_stock" for c in capped)
    assert {c.scenario.catalog.initial_stock_days for c in cells} == {3.0, 10.0}


def test_paired_differences_pair_runs_by_seed() -> None:
    rows = [
        {"scenario": "a", "overrides": "-", "policy": p, "seed": s, "units_sold": v}
        for p, s, v in [("b", 1, 10.0), ("b", 2, 20.0), ("x", 1, 13.0), ("x", 2, 21.0)]
    ]
    (row,) = paired_differences(rows, "b", names=["units_sold"])
    assert row["diff_mean"] == pytest.approx(2.0)
    assert row["n_seeds"] == 2
    d = np.array([3.0, 1.0])
    assert row["diff_ci95"] == pytest.approx(t_half_width(d))
    assert row["diff_low"] < 2.0 < row["diff_high"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"baseline": "nope"}, "baseline 'nope' is not a policy label"),
        ({"seeds": 0}, "seeds"),
        ({"surplus": 1}, "surplus"),
    ],
)
def test_a_bad_spec_names_the_field_and_value(
    tmp_path: Path, extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(SweepError, match=message):
        load_spec(_spec(tmp_path, **extra))


def test_an_override_outside_the_scenario_is_named(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, overrides={"catalog.no_such.key": [1]}))
    with pytest.raises(SweepError, match=r"overrides\.catalog\.no_such\.key"):
        plan_cells(spec)


@pytest.mark.slow
def test_sweep_writes_cells_kpis_and_differences_and_resumes(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path))
    out = tmp_path / "out"
    first = run_sweep(spec, out, workers=2)
    assert (first.cells_run, first.cells_reused) == (8, 0)
    kpis = pq.read_table(out / "kpis.parquet").to_pylist()
    assert len(kpis) == 8 and all(r["days"] == 2 for r in kpis)
    diffs = pq.read_table(out / "differences.parquet").to_pylist()
    assert {(r["overrides"], r["policy"]) for r in diffs} == {
        ("catalog.initial_stock_days=3", "capped"),
        ("catalog.initial_stock_days=10", "capped"),
    }
    # one finished cell lost: only that one runs again, and the tables are identical
    victim = sorted((out / "cells").glob("*.parquet"))[0]
    victim.unlink()
    second = run_sweep(spec, out, workers=1)
    assert (second.cells_run, second.cells_reused) == (1, 7)
    again = pq.read_table(out / "kpis.parquet").to_pylist()
    assert [_simulated(r) for r in again] == [_simulated(r) for r in kpis]


@pytest.mark.slow
def test_compare_prints_paired_differences_and_saves_its_tables(tmp_path: Path) -> None:
    scenario = _tiny(tmp_path / "c.yaml")
    out = tmp_path / "cmp"
    result = CliRunner(env={"COLUMNS": "300"}).invoke(
        app,
        [
            "compare",
            str(scenario),
            "--policy",
            "replenishment/capped_base_stock",
            "--seeds",
            "2",
            "--days",
            "2",
            "--workers",
            "2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Δ" in result.output and "paired difference" in result.output
    runs = pq.read_table(out / "compare_kpis.parquet").to_pylist()
    assert len(runs) == 4 and {r["seed"] for r in runs} == {42, 43}
    summary = pq.read_table(out / "compare_summary.parquet").to_pylist()
    assert {r["variant"] for r in summary} == {r["variant"] for r in runs}


def test_sweep_cli_refuses_an_unknown_backend_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "never"
    spec = str(_spec(tmp_path))
    result = CliRunner().invoke(app, ["sweep", spec, "--backend", "mpi", "--out", str(out)])
    assert result.exit_code == 2
    assert "backend 'mpi' is not one of process, ray" in result.output
    assert not out.exists()


@pytest.mark.slow
def test_a_run_directory_reads_back_with_sales_per_sku_and_category(tmp_path: Path) -> None:
    scenario = _tiny(tmp_path / "r.yaml")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(scenario), "--days", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    run = RunReader(out)
    assert run.scenario.name == "tiny" and run.meta["days"] == 2
    assert run.kpis["days"] == 2
    by_sku = run.sales("sku")
    assert by_sku is not None and len(by_sku) == (2 + 1) * 10  # (stores + warehouse) x SKUs
    by_cat = run.sales("category")
    assert by_cat is not None
    assert int(by_cat["units_sold"].sum()) == int(by_sku["units_sold"].sum())
    # the sale flows (what the API's ledger saw) are close to the KPI book's units sold (online
    # orders reach the two at different moments of their life)
    daily = run.daily(columns=["units_sold"])
    ledger, book = int(by_sku["units_sold"].sum()), int(daily["units_sold"].sum())
    assert ledger > 0 and abs(ledger - book) <= 0.2 * book
    only_s01 = run.daily(columns=["day", "location"], locations=["S01"])
    assert set(only_s01["location"]) == {"S01"}
    assert [r.path for r in list_runs(tmp_path)] == [out]
    with pytest.raises(RunDirError, match="not 'category' or 'sku'"):
        run.sales("nope")
    with pytest.raises(RunDirError, match=r"no run\.json"):
        RunReader(tmp_path)
