"""Shipped scenarios validate and match their promises; YAML mistakes are messages with lines."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scenarios.errors import ScenarioError
from scenarios.schema import (
    FlashSale,
    Scenario,
    SupplierDisruption,
    WeatherShock,
    dump_scenario,
    load_scenario,
    parse_scenario,
    with_overrides,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


def test_the_promised_scenarios_are_shipped() -> None:
    names = {p.stem for p in SHIPPED}
    assert {
        "baseline",
        "black_friday",
        "supplier_disruption",
        "heatwave",
        "large",
        "theory_single_sku",
    } <= names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_scenario_validates_and_round_trips(path: Path, tmp_path: Path) -> None:
    sc = load_scenario(path)
    assert sc.name == path.stem
    # the resolved form (all defaults filled in) loads back to the same scenario
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(dump_scenario(sc))
    assert load_scenario(resolved) == sc


def test_baseline_is_small() -> None:
    sc = load_scenario(SCENARIOS / "baseline.yaml")
    assert len(sc.world.stores) <= 5 and len(sc.world.warehouses) == 1
    assert sc.catalog.n_skus <= 300 and sc.duration_days <= 35


def test_large_has_the_promised_size() -> None:
    sc = load_scenario(SCENARIOS / "large.yaml")
    assert len(sc.world.stores) >= 50
    assert len(sc.world.warehouses) == 3
    assert sc.catalog.n_skus == 10_000
    assert sc.duration_days == 90


def test_black_friday_has_a_flash_sale_of_three_to_five_times_traffic() -> None:
    sc = load_scenario(SCENARIOS / "black_friday.yaml")
    sales = [e for e in sc.events if isinstance(e, FlashSale)]
    assert any(3.0 <= e.traffic_multiplier <= 5.0 and e.discount > 0 for e in sales)
    # day 11 is Black Friday 2026 (the Friday after the fourth Thursday of November)
    assert sc.start_date.toordinal() + 11 == date(2026, 11, 27).toordinal()


def test_heatwave_moves_demand_by_category() -> None:
    sc = load_scenario(SCENARIOS / "heatwave.yaml")
    (shock,) = [e for e in sc.events if isinstance(e, WeatherShock)]
    mults = shock.category_multipliers
    assert max(mults.values()) > 1.0 > min(mults.values())


def test_supplier_disruption_has_delay_and_outage() -> None:
    sc = load_scenario(SCENARIOS / "supplier_disruption.yaml")
    ds = [e for e in sc.events if isinstance(e, SupplierDisruption)]
    assert any(e.lead_time_multiplier and e.lead_time_multiplier > 1 for e in ds)
    assert any(e.outage for e in ds)


def test_theory_scenario_is_single_sku_pure_poisson_base_stock() -> None:
    sc = load_scenario(SCENARIOS / "theory_single_sku.yaml")
    cat = sc.catalog
    assert (len(sc.world.stores), cat.n_skus) == (1, 1)
    assert cat.base_demand.kind == "fixed"
    assert cat.weekly_seasonality == [1.0] * 7 and cat.yearly_seasonality.amplitude == 0.0
    assert cat.elasticity.mean_value() == 0.0 and not cat.holidays and not sc.events
    assert sc.customers.channel_mix.store == 1.0
    assert sc.world.warehouses[0].store_lead_time_days.kind == "fixed"
    assert sc.policies.replenishment.name == "base_stock"


# ---- YAML-level problems -----------------------------------------------------------------
def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nworld:\n  stores: [1, 2\nseed: 3\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert problem.message.startswith("YAML syntax error at line 4, column 5:")
    assert problem.line == 4
    assert str(info.value).startswith(
        f"scenario {path} has 1 problem:\n  {path}:4: YAML syntax error"
    )


def test_duplicate_keys_are_reported_not_silently_overwritten(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nseed: 1\nseed: 2\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [(str(p), p.line) for p in info.value.problems] == [
        ("seed: duplicate key 'seed' (first at line 2; allowed: each key once)", 3)
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty (allowed: a mapping of sections)"),
        ("- 1\n- 2\n", "the top level is [1, 2], not a mapping of sections"),
    ],
)
def test_empty_or_non_mapping_file(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, text))
    assert [p.message for p in info.value.problems] == [message]


def test_missing_file_is_a_message(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_problems_point_at_their_lines_in_file_order(tmp_path: Path) -> None:
    text = (SCENARIOS / "baseline.yaml").read_text()
    text = text.replace("lat: 52.5600", "lat: 152.5600").replace("n_skus: 200", "n_skus: -1")
    lines = text.splitlines()
    lat_line = next(i for i, t in enumerate(lines, 1) if "152.5600" in t)
    skus_line = next(i for i, t in enumerate(lines, 1) if "n_skus: -1" in t)
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, text))
    assert [(p.path, p.line) for p in info.value.problems] == [
        ("world.stores[1].lat", lat_line),
        ("catalog.n_skus", skus_line),
    ]


def test_yes_and_no_stay_text_and_dates_are_checked(tmp_path: Path) -> None:
    text = (SCENARIOS / "baseline.yaml").read_text().replace("name: Centre", "name: no")
    sc = load_scenario(_write(tmp_path, text))
    assert sc.world.stores[0].name == "no"  # YAML 1.1 would have made this False


# ---- programmatic use --------------------------------------------------------------------
def test_overrides_are_revalidated() -> None:
    sc = load_scenario(SCENARIOS / "baseline.yaml")
    shorter = with_overrides(sc, seed=7, duration_days=10)
    assert (shorter.seed, shorter.duration_days, shorter.name) == (7, 10, sc.name)
    with pytest.raises(ScenarioError) as info:
        with_overrides(sc, duration_days=5)  # shorter than the 7-day warm-up
    assert [str(p) for p in info.value.problems] == [
        "warmup_days: 7 is not shorter than duration_days 5 (allowed: 0..4)"
    ]


def test_parse_scenario_accepts_python_objects() -> None:
    sc = load_scenario(SCENARIOS / "baseline.yaml")
    again = parse_scenario(sc.model_dump())
    assert isinstance(again, Scenario) and again == sc
    assert again.location_codes == ["S01", "S02", "S03", "W1"]
