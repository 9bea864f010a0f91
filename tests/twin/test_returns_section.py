"""The scenario's ``returns:`` section is the returns knob: validated with the field named, and
carried into the twin's return settings."""

from __future__ import annotations

from typing import Any

import pytest
from twin_helpers import scenario_data

from scenarios.errors import ScenarioError
from scenarios.schema import parse_scenario
from twin.returns import ReturnsSettings


def _with_returns(section: dict[str, Any]) -> Any:
    d = scenario_data("baseline.yaml")
    d["returns"] = section
    return parse_scenario(d, source="returns test")


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"rate": 1.5}, "returns.rate: 1.5 is not a probability (0..1)"),
        ({"restock_share": -0.1}, "returns.restock_share: -0.1 is not a probability (0..1)"),
        ({"transit_days": -1}, "returns.transit_days"),
        ({"speed": 3}, "returns.speed"),
        (
            {"delay_days_min": 5, "delay_days_max": 2},
            "returns: delay_days_min 5.0 is more than delay_days_max 2.0",
        ),
    ],
)
def test_a_bad_returns_field_is_named_in_the_error(section: dict[str, Any], expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        _with_returns(section)
    problems = [str(p) for p in info.value.problems]
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_the_section_defaults_are_the_documented_return_settings() -> None:
    sc = parse_scenario(scenario_data("baseline.yaml"), source="baseline")
    assert ReturnsSettings.from_scenario(sc.returns) == ReturnsSettings()
    assert ReturnsSettings() == ReturnsSettings(
        rate=0.05, unit_share=0.6, delay_days_min=1.0, delay_days_max=10.0,
        transit_days=2.0, inspect_days=0.5, restock_share=0.8,
    )  # fmt: skip


def test_every_scenario_field_reaches_the_twin_settings() -> None:
    section = {
        "rate": 0.25,
        "unit_share": 0.5,
        "delay_days_min": 0.5,
        "delay_days_max": 3.0,
        "transit_days": 1.0,
        "inspect_days": 0.2,
        "restock_share": 0.9,
    }
    got = ReturnsSettings.from_scenario(_with_returns(section).returns)
    assert got == ReturnsSettings(**section)
    assert ReturnsSettings.from_scenario(_with_returns({"rate": 0}).returns).rate == 0.0
