"""Inputs that used to crash, hang or mislead a run are refused by validation, naming the path."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scenarios.errors import ScenarioError
from scenarios.load import read_yaml
from scenarios.schema import load_scenario, parse_scenario
from shopsphere_cli.main import app

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _baseline() -> dict[str, Any]:
    data, _ = read_yaml(SCENARIOS / "baseline.yaml")
    assert isinstance(data, dict)
    return data


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    return [str(p) for p in info.value.problems]


def _file_problems(tmp_path: Path, raw: bytes) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_bytes(raw)
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    # an unrefused alias bomb or deep nest takes minutes and gigabytes; 10 s is generous under load
    assert time.perf_counter() - start < 10.0
    return [str(p) for p in info.value.problems]


def test_a_nul_byte_is_refused_with_its_line_and_column(tmp_path: Path) -> None:
    raw = (SCENARIOS / "baseline.yaml").read_bytes().replace(b"name: baseline", b"name: base\0")
    (problem,) = _file_problems(tmp_path, raw)
    assert problem.startswith("a NUL byte at line ")


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    (problem,) = _file_problems(tmp_path, b"a: " + b"[" * 100_000 + b"]" * 100_000)
    assert "nesting deeper than 32 levels" in problem


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 20)]
    (problem,) = _file_problems(tmp_path, "\n".join(lines).encode())
    assert "expands to more than 200000 values" in problem


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    (problem,) = _file_problems(tmp_path, b"a: &a\n  b: *a\n")
    assert "recursive alias" in problem


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        (
            ("customers", "segments", 0, "basket_size"),
            {"kind": "poisson", "mean": float("nan")},
            "nan",
        ),
        (
            ("customers", "segments", 0, "basket_size"),
            {"kind": "poisson", "mean": 3, "offset": float("inf")},
            "inf",
        ),
        (("seed",), 2**70, "seed: 1180591620717411303424 is out of range"),
        (("start_date",), "9999-12-31", "duration_days: 21 days from start_date 9999-12-31"),
        (("catalog", "price_cents"), {"kind": "lognormal", "mean": 1e12, "sd": 1}, "a price <="),
        (("catalog", "base_demand"), {"kind": "fixed", "value": 1e9}, "a demand rate <="),
        (
            ("world", "suppliers", 0, "lead_time_days"),
            {"kind": "fixed", "value": 1e6},
            "a lead time",
        ),
        (("catalog", "weekly_seasonality"), [1e6] * 7, "too large for a multiplier"),
        (("catalog", "n_skus"), 10**9, "catalog.n_skus"),
        (
            ("policies", "replenishment", "params"),
            {"base_stock": 1e30},
            "base_stock: 1e+30 is too large",
        ),
    ],
)
def test_values_that_crashed_or_misled_a_run_are_refused_naming_the_path(
    where: tuple[Any, ...], value: Any, expected: str
) -> None:
    data = _baseline()
    node: Any = data
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    problems = _problems(data)
    assert any(expected in p for p in problems), problems


def test_an_hourly_profile_without_weight_in_opening_hours_is_refused() -> None:
    data = _baseline()
    data["customers"]["hourly_profile"] = [1.0] * 6 + [0.0] * 18
    problems = _problems(data)
    assert problems[0].startswith("customers.hourly_profile: has no weight within store S01")


def test_validate_checks_policy_parameter_values_naming_the_scenario_path(tmp_path: Path) -> None:
    text = (SCENARIOS / "baseline.yaml").read_text(encoding="utf-8")
    bad = text.replace(
        "replenishment: {name: base_stock, params: {}}",
        "replenishment: {name: base_stock, params: {base_stock: -5}}",
    )
    assert bad != text
    path = tmp_path / "neg.yaml"
    path.write_text(bad, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "policies.replenishment.params.base_stock: -5: base_stock must be >= 0" in result.output
    assert "Traceback" not in result.output


def test_a_database_path_that_cannot_be_created_is_a_clean_error(tmp_path: Path) -> None:
    text = (SCENARIOS / "baseline.yaml").read_text(encoding="utf-8")
    missing = tmp_path / "no" / "such" / "x.db"
    path = tmp_path / "db.yaml"
    path.write_text(text.replace('database: ":memory:"', f'database: "{missing}"'), "utf-8")
    result = CliRunner().invoke(app, ["run", str(path), "--days", "1", "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"commerce.database '{missing}'" in result.output
    assert "does not exist" in result.output
