"""Customers who decide (agents mode): store choice, memory of stock-outs, population scale."""

from __future__ import annotations

import numpy as np
import pytest
from twin_helpers import scenario_data

from scenarios.schema import parse_scenario
from twin.population import BALK_PENALTY, Population, substitute_weights
from twin.runner import run_scenario


def _population() -> Population:
    sc = parse_scenario(scenario_data("baseline.yaml"))
    stores = sc.world.stores
    # 300 customers at store S01's door, 300 at S02's
    lat = np.array([stores[0].lat] * 300 + [stores[1].lat] * 300)
    lon = np.array([stores[0].lon] * 300 + [stores[1].lon] * 300)
    seg = np.zeros(600, dtype=np.int64)
    return Population(sc, np.zeros(len(stores), dtype=np.int64), lat, lon, seg)


def test_customers_choose_the_near_store_and_leave_one_that_disappointed_them() -> None:
    pop = _population()
    open_all = np.ones(3, dtype=bool)
    rng = np.random.default_rng(1)
    who, col = pop.visits(7.0, open_all, rng)  # a busy day: most customers come
    in_store = col < 3
    near = np.where(who < 300, 0, 1)
    # logit on distance: exp(-5.9 km / 3 km) makes the far store ~12% likely
    assert (col[in_store] == near[in_store]).mean() > 0.8
    # customers 0..299 meet empty shelves at S01 three times
    for _ in range(3):
        for c in range(300):
            pop.record(c, 0, stockout=True)
    assert np.allclose(pop.propensity[:300], (1 - BALK_PENALTY) ** 3)
    assert np.allclose(pop.propensity[300:], 1.0)
    who, col = pop.visits(7.0, open_all, np.random.default_rng(2))
    first = who < 300
    assert first.sum() < (~first).sum()  # they visit less
    moved = col[first & (col < 3)]
    assert (moved == 0).mean() < 0.5  # and go elsewhere when they do
    for _ in range(200):
        pop.end_of_day()
    assert np.allclose(pop.propensity, 1.0, atol=1e-3)  # memories fade


def test_closed_stores_are_not_chosen() -> None:
    pop = _population()
    who, col = pop.visits(7.0, np.array([False, True, True]), np.random.default_rng(3))
    assert who.size > 0 and not (col == 0).any()


def test_substitutes_close_in_price_and_kind_are_preferred() -> None:
    price = np.array([100, 105, 300, 100])
    perishable = np.array([True, True, True, False])
    w = substitute_weights(price, perishable, 0, np.array([1, 2, 3]))
    assert w[0] > w[1] and w[0] > w[2]


@pytest.mark.slow
def test_population_drives_demand_in_agents_mode(fake_client) -> None:
    demand = []
    for pop in (600, 1200):
        d = scenario_data("baseline.yaml")
        d["duration_days"], d["warmup_days"] = 6, 1
        d["catalog"]["n_skus"] = 40
        d["customers"]["population"] = pop
        d["engine"] = {"customers": "agents", "mode": "sliced"}
        sc = parse_scenario(d)
        out = run_scenario(sc, write=False, client=fake_client(sc))
        demand.append(out.kpis["demand_units"])
        assert out.kpis["fill_rate"] > 0.9
    # twice the people, twice the demand (Poisson noise on ~1,500 units: well within 15%)
    assert 1.7 < demand[1] / demand[0] < 2.3


def test_kernel_mode_is_the_default_theory_mode() -> None:
    assert parse_scenario(scenario_data("theory_single_sku.yaml")).engine.customers == "kernel"
