"""Projected-inventory quantile policies and their CRN cross-entropy search (lost sales)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from dynamics.demand import poisson_cdf_table, sample_demand_from_table
from policies.exact.demand import poisson_demand
from policies.exact.dp import InventoryMDP, solve
from policies.exact.markov import stationary_metrics
from policies.rl.projected import (
    OrderTable,
    ProjectedPolicyError,
    ProjectedQuantilePolicy,
    SearchConfig,
    default_limits,
    projected_distribution,
    simulate_costs,
    train_projected_policy,
)


def _pmf(mean: float) -> np.ndarray:
    cdf = poisson_cdf_table(mean)
    return np.diff(np.append(cdf, 1.0), prepend=0.0)


def test_projection_with_lead_time_one_is_the_lost_sales_leftover_of_one_period() -> None:
    dist = projected_distribution(np.array([0, 3, 7]), np.array([[4], [0], [2]]), _pmf(5.0))
    for row, start in enumerate((4, 3, 9)):
        expected = np.zeros(dist.shape[1])
        expected[1 : start + 1] = stats.poisson.pmf(start - np.arange(1, start + 1), 5.0)
        expected[0] = stats.poisson.sf(start - 1, 5.0)
        np.testing.assert_allclose(dist[row], expected, atol=1e-12)


def test_projection_without_lead_time_is_the_on_hand_itself() -> None:
    dist = projected_distribution(np.array([2, 5]), np.zeros((2, 0), np.int64), _pmf(3.0))
    assert dist[0, 2] == 1.0 and dist[1, 5] == 1.0 and dist.sum() == 2.0


def test_order_table_orders_equal_the_direct_policy_on_random_states() -> None:
    rng = np.random.default_rng(3)
    lead = 3
    table = OrderTable(5.0, lead, *default_limits(5.0, lead))
    on_hand = rng.integers(0, 15, 300)
    pipe = rng.integers(0, 9, (300, lead))
    alpha = rng.uniform(0.3, 0.99, 300)
    cap = rng.integers(1, 12, 300)
    direct = np.array(
        [
            ProjectedQuantilePolicy(float(alpha[i]), int(cap[i]), 5.0, lead).orders(
                on_hand[i : i + 1], pipe[i : i + 1]
            )[0]
            for i in range(300)
        ]
    )
    np.testing.assert_array_equal(table.orders(on_hand, pipe, alpha, cap), direct)
    assert table.clipped == 0


def test_myopic_policy_uses_the_newsvendor_fractile_and_no_cap() -> None:
    pol = ProjectedQuantilePolicy.myopic(5.0, 2, 1.0, 9.0)
    assert pol.fractile == pytest.approx(0.9) and pol.cap is None


def test_a_sku_without_demand_orders_nothing() -> None:
    pol = ProjectedQuantilePolicy(0.8, 6, 0.0, 2)
    assert pol.orders(np.array([0, 3]), np.zeros((2, 2), np.int64)).tolist() == [0, 0]


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1])
def test_a_fractile_outside_zero_one_is_refused(bad: float) -> None:
    with pytest.raises(ProjectedPolicyError, match="fractile"):
        ProjectedQuantilePolicy(bad, 5, 5.0, 2)


def test_simulated_cost_agrees_with_the_exact_stationary_cost() -> None:
    p, lead = 9.0, 2
    pol = ProjectedQuantilePolicy(0.85, 8, 5.0, lead)
    mdp = InventoryMDP(poisson_demand(5.0), lead, 1.0, p, lost_sales=True)
    wide = dataclasses.replace(mdp, max_position=mdp.grid[1] + 8)
    exact = stationary_metrics(wide, pol.grid_policy()).average_cost
    table = OrderTable(5.0, lead, *default_limits(5.0, lead))
    demand = sample_demand_from_table(np.random.default_rng(11), poisson_cdf_table(5.0), (600, 200))
    per_path = simulate_costs(
        np.array([0.85]),
        np.array([8]),
        demand,
        table=table,
        holding=1.0,
        penalty=p,
        demand_mean=5.0,
        warmup=50,
    )[0]
    se = per_path.std(ddof=1) / np.sqrt(per_path.size)
    assert abs(per_path.mean() - exact) < 4.5 * se


@pytest.mark.slow
def test_search_reaches_within_half_a_percent_of_the_optimum_selecting_on_simulation() -> None:
    p, lead = 4.0, 3
    mdp = InventoryMDP(poisson_demand(5.0), lead, 1.0, p, lost_sales=True)
    cfg = SearchConfig(generations=8, population=10, paths=48, periods=250, val_periods=500)
    res = train_projected_policy(
        demand_mean=5.0, lead_time=lead, holding=1.0, penalty=p, seed=2, config=cfg
    )
    again = train_projected_policy(
        demand_mean=5.0, lead_time=lead, holding=1.0, penalty=p, seed=2, config=cfg
    )
    assert res.policy == again.policy  # one seed, one result
    wide = dataclasses.replace(mdp, max_position=mdp.grid[1] + 8)
    learned = stationary_metrics(wide, res.policy.grid_policy()).average_cost
    optimum = solve(mdp).average_cost
    assert learned <= optimum * 1.005
    assert len(res.history) == 8 and res.validation_cost == min(h[2] for h in res.history)


@pytest.mark.parametrize(
    ("kw", "named"),
    [({"lead_time": -3}, "lead_time"), ({"holding": float("nan")}, "holding")],
)
def test_training_refuses_a_bad_instance_naming_it(kw: dict[str, float], named: str) -> None:
    args: dict[str, float] = {"demand_mean": 5.0, "lead_time": 2, "holding": 1.0, "penalty": 9.0}
    args.update(kw)
    with pytest.raises(ProjectedPolicyError, match=named):
        train_projected_policy(seed=0, **args)  # type: ignore[arg-type]
