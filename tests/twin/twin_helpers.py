"""Helpers and fixtures of the twin tests: small scenarios derived from the shipped ones, clients.

A uniquely named module (not ``conftest``) so test files can import it next to other areas'
tests."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from api.clock import ManualClock
from scenarios.schema import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def scenario_data(name: str) -> dict[str, Any]:
    """The raw mapping of a shipped scenario file."""
    from scenarios.load import read_yaml

    data, _ = read_yaml(SCENARIOS / name)
    return copy.deepcopy(data)


def small_baseline(
    days: int = 5, n_skus: int = 40, population: int = 600, **catalog: Any
) -> Scenario:
    """The baseline chain, shrunk: fewer SKUs and shoppers, a few days (every mechanism kept)."""
    d = scenario_data("baseline.yaml")
    d["duration_days"] = days
    d["warmup_days"] = min(1, days - 1)
    d["catalog"]["n_skus"] = n_skus
    d["catalog"].update(catalog)
    d["customers"]["population"] = population
    return parse_scenario(d, source="small baseline")


def clock_for(sc: Scenario) -> ManualClock:
    return ManualClock(
        datetime(sc.start_date.year, sc.start_date.month, sc.start_date.day, tzinfo=UTC)
    )


@pytest.fixture
def fake_client() -> Callable[[Scenario], Any]:
    """A factory: scenario -> an empty in-memory FakeCommerce on that scenario's start time."""
    from api.client.fake import FakeCommerce

    def make(sc: Scenario) -> FakeCommerce:
        return FakeCommerce(clock_for(sc))

    return make


def dump(sc: Scenario, path: Path) -> Path:
    """Write ``sc`` as a YAML file (for CLI tests)."""
    from scenarios.schema import dump_scenario

    path.write_text(dump_scenario(sc), encoding="utf-8")
    return path
