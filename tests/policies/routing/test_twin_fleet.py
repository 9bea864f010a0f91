"""The twin's fleet: promises and slots, and a short run whose deliveries and KPIs add up."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from scenarios.load import read_yaml
from scenarios.schema import Scenario, parse_scenario
from twin.fleet import FleetModel, FleetSettings, PendingOrder

ROOT = Path(__file__).resolve().parents[3]


def small_baseline(days: int = 4, population: int = 500) -> Scenario:
    d, _ = read_yaml(ROOT / "scenarios" / "baseline.yaml")
    d["duration_days"] = days
    d["warmup_days"] = 1
    d["catalog"]["n_skus"] = 30
    d["customers"]["population"] = population
    return parse_scenario(d, source="small baseline")


def test_orders_before_the_cut_off_are_promised_today_in_a_reachable_slot() -> None:
    sc = small_baseline()
    m = FleetModel(sc, np.random.default_rng(0))
    wh = sc.world.warehouses[0]
    early = PendingOrder(1, wh.lat + 0.01, wh.lon, {}, 0.2, 3)
    late = PendingOrder(2, wh.lat + 0.01, wh.lon, {}, 0.9, 3)
    m.promise(0, early, 2.2)  # 04:48, before the 09:00 planning time
    m.promise(0, late, 2.9)  # 21:36
    assert early.promised_day == 2 and late.promised_day == 3
    assert (early.slot_start_min, early.slot_end_min) in m.slots
    assert m.slots[0] == (600.0, 720.0)  # shift from 09:00; first slot an hour later
    assert m.slots[-1][1] <= 9 * 60 + 600 - 30
    assert FleetSettings.from_scenario(sc.world.fleet) == FleetSettings()


@pytest.mark.slow
def test_a_short_run_delivers_online_orders_and_reports_fleet_kpis() -> None:
    from twin.runner import run_scenario

    sc = small_baseline(days=4)
    clock = ManualClock(
        datetime(sc.start_date.year, sc.start_date.month, sc.start_date.day, tzinfo=UTC)
    )
    client = InProcessClient.for_sqlite(":memory:", clock)
    try:
        out = run_scenario(sc, write=False, client=client, clock=clock)
    finally:
        client.close()
    k = out.kpis
    assert k["fleet_orders_delivered"] > 0
    assert 0.8 <= k["fleet_on_time_rate"] <= 1.0
    assert k["fleet_km"] > 0 and k["fleet_routes"] > 0
    assert 0 < k["fleet_van_utilisation"] <= 1.0
    assert 0 < k["fleet_van_time_utilisation"] <= 1.0
    assert k["fleet_cost_per_order_cents"] > 0 and k["fleet_co2_g_per_order"] > 0
