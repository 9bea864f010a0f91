"""The fleet takes its costs, CO2 and slot length from the carriers configuration."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import yaml
from twin_helpers import small_baseline

from api.services.carriers import DEFAULT_FILE, CarrierBook, load_carriers, parse_carriers
from twin.fleet import FleetModel, FleetSettings


def _book(**own: object) -> CarrierBook:
    data = yaml.safe_load(DEFAULT_FILE.read_text())
    data["carriers"][0].update(own)
    data["carriers"][1].update(cost_per_parcel_cents=777, co2_g_per_parcel=321.0)
    return parse_carriers(data)


def test_shipped_carriers_give_the_documented_fleet_defaults() -> None:
    st = FleetSettings.from_carriers(load_carriers(DEFAULT_FILE))
    assert st == FleetSettings()  # the file and the documented defaults agree


def test_van_and_parcel_fields_come_from_the_carriers_and_the_scenario_wins() -> None:
    book = _book(cost_per_km_cents=50, co2_g_per_km=90.0, window_hours=1.0, cost_per_hour_cents=0)
    st = FleetSettings.from_scenario(SimpleNamespace(), book)  # type: ignore[arg-type]
    assert (st.cost_per_km_cents, st.co2_g_per_km, st.slot_hours) == (50, 90.0, 1.0)
    assert (st.parcel_cost_cents, st.parcel_co2_g) == (777, 321.0)
    assert st.cost_per_hour_cents == FleetSettings().cost_per_hour_cents  # 0: not set
    over = FleetSettings.from_scenario(SimpleNamespace(cost_per_km_cents=12), book)  # type: ignore[arg-type]
    assert over.cost_per_km_cents == 12


def test_the_fleet_model_prices_its_vans_and_slots_from_the_carriers() -> None:
    sc = small_baseline(days=2, n_skus=10, population=50)
    book = _book(cost_per_km_cents=51, co2_g_per_km=99.0, window_hours=3.0)
    m = FleetModel(sc, np.random.default_rng(0), book)
    vans = [
        v for v in m.vehicles if not getattr(sc.world.fleet.vehicles[0], "cost_per_km_cents", 0)
    ]
    assert vans and all(v.cost_per_km_cents == 51 and v.co2_g_per_km == 99.0 for v in vans)
    assert all(b - a == 180.0 for a, b in m.slots)
