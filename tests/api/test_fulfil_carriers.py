"""configs/carriers.yaml: typed, validated, errors naming the field and the value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from api.services.carriers import (
    DEFAULT_FILE,
    CarrierConfigError,
    active_carriers,
    load_carriers,
    parse_carriers,
)
from policies.routing.carriers import Mode


def _doc() -> dict[str, object]:
    data = yaml.safe_load(DEFAULT_FILE.read_text())
    assert isinstance(data, dict)
    return data


def test_shipped_file_has_every_mode_with_drone_limits() -> None:
    book = load_carriers(DEFAULT_FILE)
    assert {c.mode for c in book.carriers} == set(Mode)
    drone = book.by_mode(Mode.DRONE)
    assert drone is not None and drone.max_km == 10.0 and drone.max_units == 2
    own = book.by_mode(Mode.OWN_FLEET)
    assert own is not None and own.co2_g_per_km == 250.0 and own.capacity_per_day == 400
    assert [c.name for c in book.routing()] == [c.name for c in book.carriers]
    assert book.allocation.node_capacity_per_day["mfc"] == 1500


def test_active_carriers_reads_the_environment_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _doc()
    data["carriers"] = [c for c in data["carriers"] if c["mode"] == "parcel"]  # type: ignore[union-attr]
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("SHOPSPHERE_CARRIERS_FILE", str(p))
    assert [c.name for c in active_carriers().carriers] == ["parcel-3pl"]


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("carriers", 4, "max_km"), -1.0, "carriers[4].max_km: -1.0"),
        (("carriers", 0, "mode"), "teleport", "carriers[0].mode: 'teleport'"),
        (("carriers", 1, "cost_per_parcel_cents"), -5, "carriers[1].cost_per_parcel_cents: -5"),
        (("carriers", 2, "colour"), "red", "carriers[2].colour: 'red'"),
        (("allocation", "weights", "co2"), -1, "allocation.weights.co2: -1"),
    ],
)
def test_a_bad_field_is_named_with_its_value(
    path: tuple[object, ...], value: object, named: str
) -> None:
    data = _doc()
    node: object = data
    for part in path[:-1]:
        node = node[part]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]
    with pytest.raises(CarrierConfigError) as exc:
        parse_carriers(data)
    assert named in str(exc.value)
    assert exc.value.status == 422


def test_a_drone_without_range_and_duplicate_names_are_refused() -> None:
    data = _doc()
    data["carriers"][4]["max_km"] = None  # type: ignore[index]
    with pytest.raises(CarrierConfigError, match="drone needs a range"):
        parse_carriers(data)
    data = _doc()
    data["carriers"][1]["name"] = "own-van"  # type: ignore[index]
    with pytest.raises(CarrierConfigError, match="'own-van' appears twice"):
        parse_carriers(data)


def test_missing_or_broken_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(CarrierConfigError, match="cannot be read"):
        load_carriers(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("carriers: [\n")
    with pytest.raises(CarrierConfigError, match="not YAML"):
        load_carriers(bad)
