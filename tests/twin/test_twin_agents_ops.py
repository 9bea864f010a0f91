"""Shopper sessions and operations: baskets keep demand intact, supply follows its rules."""

from __future__ import annotations

import numpy as np
from twin_helpers import scenario_data, small_baseline

from scenarios.schema import parse_scenario
from twin.agents import ShopModel, form_baskets
from twin.events import EventKind
from twin.runner import run_scenario


def test_baskets_partition_the_days_units_into_non_empty_sessions() -> None:
    rng = np.random.default_rng(3)
    units = rng.integers(0, 50, size=997)
    samplers = [lambda k: np.full(k, 2.0), lambda k: np.full(k, 6.0)]
    bounds, segs = form_baskets(units, np.array([0.5, 0.5]), samplers, rng)
    sizes = np.diff(bounds)
    assert bounds[0] == 0 and bounds[-1] == units.size
    assert (sizes >= 1).all() and segs.size == sizes.size
    # every session but the last has its segment's basket size
    assert np.array_equal(sizes[:-1], np.where(segs[:-1] == 0, 2, 6))
    empty, none = form_baskets(units[:0], np.array([1.0]), samplers[:1], rng)
    assert empty.tolist() == [0] and none.size == 0


def test_customers_live_near_their_store_and_pick_from_its_pool() -> None:
    sc = small_baseline(days=2)
    model = ShopModel(sc, np.zeros(len(sc.world.stores), dtype=np.int64), np.random.default_rng(1))
    assert len(model.customers) == sc.customers.population
    for c in model.customers[:200]:
        home = sc.world.stores[c.home_store]
        assert abs(c.lat - home.lat) < 1.0 and abs(c.lon - home.lon) < 1.0
    picked = model.pick(False, 1, np.zeros(50, dtype=np.int64), np.random.default_rng(2))
    assert all(c.home_store == 1 and c.segment == 0 for c in picked)


def test_a_supplier_outage_holds_every_delivery_until_it_ends(fake_client) -> None:
    d = scenario_data("baseline.yaml")
    d.update(duration_days=8, warmup_days=0)
    d["catalog"]["n_skus"] = 30
    d["customers"]["population"] = 300
    d["events"] = [
        {
            "kind": "supplier_disruption",
            "supplier": s["code"],
            "start_day": 0,
            "end_day": 6,
            "outage": True,
        }
        for s in d["world"]["suppliers"]
    ]
    sc = parse_scenario(d)
    res = run_scenario(sc, write=False, client=fake_client(sc)).result
    ev = res.events.arrays()
    po = ev["kind"] == EventKind.PURCHASE_ORDER
    rec = ev["kind"] == EventKind.RECEIPT
    assert po.any()
    assert (ev["t"][rec] >= 6.0).all() and rec.any()
    assert res.book.data["received_units"][:6].sum() == 0


def test_flash_sale_prices_reach_the_pos_and_lift_demand(fake_client) -> None:
    def run(discount: float) -> dict:
        d = scenario_data("baseline.yaml")
        d.update(duration_days=4, warmup_days=0)
        d["catalog"]["n_skus"] = 30
        d["customers"]["population"] = 300
        if discount:
            d["events"] = [
                {
                    "kind": "flash_sale",
                    "start_day": 1,
                    "end_day": 3,
                    "discount": discount,
                    "traffic_multiplier": 2.0,
                }
            ]
        sc = parse_scenario(d)
        return run_scenario(sc, write=False, client=fake_client(sc)).result.book.data

    plain, sale = run(0.0), run(0.3)
    assert sale["demand_units"][1:3].sum() > 1.5 * plain["demand_units"][1:3].sum()
    unit_plain = plain["revenue_cents"][1:3].sum() / plain["units_sold"][1:3].sum()
    unit_sale = sale["revenue_cents"][1:3].sum() / sale["units_sold"][1:3].sum()
    assert unit_sale < 0.85 * unit_plain
    assert sale["demand_units"][0].sum() == plain["demand_units"][0].sum()  # CRN before the sale


def test_echelon_base_stock_decides_stores_and_warehouses_together(fake_client) -> None:
    from twin.reconcile import balance
    from twin.runner import parse_policy, with_policy

    sc = small_baseline(days=5)
    kind, ref = parse_policy("echelon_base_stock")
    pol = with_policy(sc.policies, kind, ref)
    out = run_scenario(sc, write=False, client=fake_client(sc), policies=pol)
    res = out.result
    ev = res.events.arrays()
    assert (ev["kind"] == EventKind.PURCHASE_ORDER).any()
    assert (ev["kind"] == EventKind.DISPATCH).any()
    assert not balance({"initial": res.initial_on_hand, **res.flows}, res.final_on_hand).any()
    assert out.kpis["fill_rate"] > 0.8
