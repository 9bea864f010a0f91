"""One base-stock module: exact and simulated searches agree, helpers are the same rule."""

from __future__ import annotations

import numpy as np

from policies.exact import InventoryMDP, poisson_demand
from policies.replenishment.base_stock import (
    SimulationSetup,
    base_stock_orders,
    best_base_stock,
    best_base_stock_simulated,
    best_capped_base_stock_simulated,
    capped_base_stock_orders,
    critical_fractile_level,
)


def test_order_functions_order_up_to_the_level_and_respect_the_cap() -> None:
    obs = np.array([[3, 2, 5], [10, 10, 20], [0, 0, 0]], dtype=np.float32)
    assert base_stock_orders(12)(obs).tolist() == [7, 0, 12]
    assert capped_base_stock_orders(12, 4)(obs).tolist() == [4, 0, 4]


def test_critical_fractile_level_is_the_poisson_quantile_of_lead_time_demand() -> None:
    # Poisson(15) (mean 5, L = 2): P(D <= 19) = 0.875 < 0.9 <= P(D <= 20) = 0.917
    assert critical_fractile_level(5.0, 2, 1.0, 9.0) == 20


def test_simulated_search_finds_the_exact_best_base_stock_within_one_unit() -> None:
    mdp = InventoryMDP(poisson_demand(5.0), 2, 1.0, 9.0)
    exact = best_base_stock(mdp)
    setup = SimulationSetup(lead_time=2, penalty_cost=9.0, seeds=(0, 1), n_reps=4, periods=3000)
    sim = best_base_stock_simulated(range(exact.base_stock - 4, exact.base_stock + 5), setup)
    assert sim.cap is None
    assert abs(sim.base_stock - exact.base_stock) <= 1
    # 8 replications of 2,800 counted periods: the simulated minimum is within 2% of exact
    assert abs(sim.average_cost - exact.average_cost) < 0.02 * exact.average_cost


def test_simulated_capped_search_returns_a_grid_point_with_its_cost() -> None:
    setup = SimulationSetup(seeds=(3,), n_reps=2, periods=600, burn_in=100)
    best = best_capped_base_stock_simulated([17, 19], [5, 7], setup)
    assert (best.base_stock, best.cap) in {(17, 5), (17, 7), (19, 5), (19, 7)}
    assert best.average_cost > 0
