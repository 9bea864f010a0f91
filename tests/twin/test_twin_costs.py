"""Costs and capacities: order and delivery costs in the KPIs, capacity caps on stock."""

from __future__ import annotations

from twin_helpers import scenario_data

from scenarios.schema import parse_scenario
from twin.runner import run_scenario


def test_order_and_per_km_costs_are_booked_in_the_kpis(fake_client) -> None:
    d = scenario_data("baseline.yaml")
    d["duration_days"], d["warmup_days"] = 5, 1
    d["catalog"]["n_skus"], d["customers"]["population"] = 40, 600
    for sup in d["world"]["suppliers"]:
        sup["order_cost_cents"] = 2_500
    d["world"]["fleet"]["vehicles"][0]["cost_per_km_cents"] = 40
    sc = parse_scenario(d)
    k = run_scenario(sc, write=False, client=fake_client(sc)).kpis
    assert k["purchase_orders"] > 0
    assert k["order_cost_cents"] == 2_500 * k["purchase_orders"]
    # per-km delivery costs come from the fleet (twin/fleet.py)
    assert k["fleet_km"] > 0 and k["fleet_cost_per_order_cents"] > 0
    assert k["van_km"] == round(k["fleet_km"], 3)
    assert k["delivery_cost_cents"] == round(40 * k["van_km"])


def _small(days: int) -> dict:
    d = scenario_data("baseline.yaml")
    d["duration_days"], d["warmup_days"] = days, 1
    d["catalog"]["n_skus"], d["customers"]["population"] = 40, 600
    return d


def test_store_and_warehouse_stock_never_exceed_their_capacity(fake_client) -> None:
    free = parse_scenario(_small(6))
    uncapped = run_scenario(free, write=False, client=fake_client(free)).result
    d = _small(6)
    d["world"]["stores"][0]["capacity_units"] = 170
    d["world"]["warehouses"][0]["capacity_units"] = 1000
    sc = parse_scenario(d)
    out = run_scenario(sc, write=False, client=fake_client(sc))
    n_stores = len(sc.world.stores)
    on_hand = out.result.book.data["on_hand_units"]
    before = uncapped.book.data["on_hand_units"]
    # the caps bind: without them both locations hold more
    assert uncapped.initial_on_hand[0].sum() > 170 and before[:, n_stores].max() > 1000
    assert out.result.initial_on_hand[0].sum() <= 170
    assert on_hand[:, 0].max() <= 170 and on_hand[:, n_stores].max() <= 1000
    assert out.kpis["fill_rate"] > 0.9


def test_a_fleet_that_delivers_nothing_reports_its_undelivered_orders(fake_client) -> None:
    d = _small(3)
    for vt in d["world"]["fleet"]["vehicles"]:
        vt["speed_kmh"] = 0.001  # a van that never reaches anyone
    sc = parse_scenario(d)
    k = run_scenario(sc, write=False, client=fake_client(sc)).kpis
    assert k["online_orders"] > 0
    assert k["online_undelivered"] == k["online_orders"] - k["online_delivered"]
    assert k["online_delivered"] < k["online_orders"]
