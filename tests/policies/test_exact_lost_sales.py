"""Lost-sales DP, exact policy evaluation and the base-stock searches (small cases only)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from policies.evaluate import evaluate
from policies.exact import (
    DiscreteDemand,
    ExactSolverError,
    InventoryMDP,
    TablePolicy,
    evaluate_policy,
    poisson_demand,
    solve,
    stationary_metrics,
)
from policies.replenishment.base_stock import (
    base_stock_fn,
    best_base_stock,
    best_capped_base_stock,
    evaluate_base_stock,
)

SMALL = DiscreteDemand.from_pmf([0.25, 0.25, 0.3, 0.2])


@pytest.mark.parametrize(
    ("penalty", "lead_time", "zipkin"),
    [(4.0, 1, 4.04), (9.0, 1, 5.44), (39.0, 1, 7.84), (4.0, 2, 4.40), (9.0, 2, 6.09)],
)
def test_lost_sales_dp_reproduces_zipkin_2008_optimal_costs(
    penalty: float, lead_time: int, zipkin: float
) -> None:
    # Zipkin (2008), Table 1, Poisson(5) demand, h = 1; published to two decimals.
    sol = solve(InventoryMDP(poisson_demand(5.0), lead_time, 1.0, penalty), tolerance=1e-6)
    assert sol.upper_bound - sol.lower_bound < 1e-6
    assert sol.average_cost == pytest.approx(zipkin, abs=0.005)


def test_widening_the_grid_does_not_change_the_optimum() -> None:
    mdp = InventoryMDP(poisson_demand(5.0), 2, 1.0, 9.0)
    _, b, qmax = mdp.grid
    narrow = solve(mdp, tolerance=1e-8).average_cost
    wide = solve(
        dataclasses.replace(mdp, max_position=b + 8, max_order=qmax + 6), tolerance=1e-8
    ).average_cost
    assert wide == pytest.approx(narrow, abs=1e-6)


@pytest.mark.parametrize("lead_time", [1, 2, 3])
def test_optimum_is_no_worse_than_the_best_base_stock_and_capped_base_stock(
    lead_time: int,
) -> None:
    mdp = InventoryMDP(SMALL, lead_time, 1.0, 9.0)
    opt = solve(mdp, tolerance=1e-9).average_cost
    bs = best_base_stock(mdp)
    cbs = best_capped_base_stock(mdp)
    assert opt <= cbs.average_cost + 1e-7
    assert cbs.average_cost <= bs.average_cost + 1e-9  # a cap >= d_max is plain base-stock


def test_markov_chain_and_value_iteration_agree_on_a_base_stock_policy() -> None:
    mdp = InventoryMDP(SMALL, 2, 1.0, 4.0, max_position=7, max_order=3)
    chain = stationary_metrics(mdp, base_stock_fn(7)).average_cost
    vi = evaluate_policy(mdp, base_stock_fn(7), tolerance=1e-10).average_cost
    assert chain == pytest.approx(vi, abs=1e-8)


def test_base_stock_search_finds_the_exhaustive_minimum() -> None:
    mdp = InventoryMDP(SMALL, 2, 1.0, 19.0)
    costs = {s: evaluate_base_stock(mdp, s).average_cost for s in range(0, 16)}
    best = best_base_stock(mdp)
    assert best.base_stock == min(costs, key=costs.__getitem__)
    assert best.average_cost == pytest.approx(min(costs.values()), abs=1e-12)


def test_capped_base_stock_search_finds_the_exhaustive_minimum() -> None:
    mdp = InventoryMDP(SMALL, 2, 1.0, 19.0)
    costs = {
        (s, c): evaluate_base_stock(mdp, s, c).average_cost
        for s in range(2, 14)
        for c in range(1, 4)
    }
    best = best_capped_base_stock(mdp)
    assert best.average_cost == pytest.approx(min(costs.values()), abs=1e-10)


def test_stationary_fill_rate_and_on_hand_match_a_long_simulation() -> None:
    mdp = InventoryMDP(SMALL, 1, 1.0, 4.0)
    exact = evaluate_base_stock(mdp, 4)
    from policies.replenishment import BaseStock

    sim = evaluate(BaseStock(4), mdp, periods=2_000, seed=5, n_paths=40, warmup=100, batches=5)
    # 80,000 periods in all: standard errors ~0.005 (on-hand) and ~0.0005 (fill rate),
    # measured over 20 seeds;
    # the bounds below are 6 standard errors
    assert sim.mean_on_hand == pytest.approx(exact.mean_on_hand, abs=0.03)
    assert sim.fill_rate == pytest.approx(exact.fill_rate, abs=0.003)
    assert sim.contains(exact.average_cost)


def test_dp_policy_simulated_on_the_kernel_costs_what_the_dp_says() -> None:
    mdp = InventoryMDP(poisson_demand(5.0), 2, 1.0, 9.0)
    sol = solve(mdp, tolerance=1e-8)
    sim = evaluate(TablePolicy(sol), mdp, periods=2_000, seed=11, n_paths=40, warmup=100, batches=5)
    assert sim.contains(sol.average_cost)


def test_dp_orders_decrease_with_the_pipeline() -> None:
    # Structural property of the lost-sales optimum (Karlin and Scarf; Zipkin 2008):
    # more stock on hand or in the pipeline never raises the order.
    sol = solve(InventoryMDP(poisson_demand(5.0), 2, 1.0, 9.0), tolerance=1e-8)
    region = sol.orders[:20, :10]
    assert (np.diff(region, axis=0) <= 0).all()
    assert (np.diff(region, axis=1) <= 0).all()


def test_dp_rejects_zero_lead_time_and_bad_costs() -> None:
    with pytest.raises(ExactSolverError, match="lead_time must be >= 1 for the DP, got 0"):
        InventoryMDP(SMALL, 0, 1.0, 4.0)
    with pytest.raises(ExactSolverError, match="penalty must be > 0, got -1"):
        InventoryMDP(SMALL, 1, 1.0, -1.0)
