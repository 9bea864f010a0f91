"""The generalising replenishment policy: one rule, each SKU's own scale, lead time and costs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from policies.exact.demand import poisson_demand
from policies.exact.dp import InventoryMDP, solve
from policies.exact.markov import stationary_metrics
from policies.registry import PolicyParameterError, create
from policies.replenishment.types import ObservationError, ReplenishmentObservation
from policies.rl.sku_policy import DEFAULT_RULE, SkuProjectedPolicy, fit_fractile_rule


def _obs(mean: list[float], on_hand: list[int], lead: list[int]) -> ReplenishmentObservation:
    n = len(mean)
    width = max(lead)
    return ReplenishmentObservation.create(
        np.array(on_hand),
        np.zeros((n, width), dtype=np.int64),
        lead_time=np.array(lead),
        demand_mean=np.array(mean),
    )


def test_a_sku_without_demand_orders_nothing_and_others_scale_with_their_demand() -> None:
    policy = SkuProjectedPolicy()
    orders = policy.decide(_obs([0.0, 5.0, 50.0], [0, 0, 0], [2, 2, 2])).orders
    assert orders[0] == 0
    assert 5 <= orders[1] <= 20 and 8 * orders[1] <= orders[2] <= 12 * orders[1]


def test_rows_are_decided_with_their_own_lead_time() -> None:
    policy = SkuProjectedPolicy()
    obs = _obs([5.0, 5.0], [10, 10], [1, 3])
    single = [policy.decide(_obs([5.0], [10], [lead])).orders[0] for lead in (1, 3)]
    assert policy.decide(obs).orders.tolist() == single


def test_missing_demand_and_bad_costs_are_refused_by_name() -> None:
    obs = ReplenishmentObservation.create(np.array([3]), np.zeros((1, 1)), lead_time=1)
    with pytest.raises(ObservationError, match="demand_mean"):
        SkuProjectedPolicy().decide(obs)
    with pytest.raises(PolicyParameterError, match="penalty_cost"):
        SkuProjectedPolicy(penalty_cost=0.0)


def test_the_policy_is_registered_for_serving() -> None:
    policy = create("replenishment", "sku_projected", {"penalty_cost": 19.0})
    assert isinstance(policy, SkuProjectedPolicy) and policy.penalty_cost == 19.0


def test_the_rule_fit_recovers_its_own_coefficients() -> None:
    rows = []
    for p in (4.0, 9.0, 19.0, 39.0):
        for lead in (1, 2, 3, 4):
            alpha = DEFAULT_RULE.fractile(1.0, p, lead)
            rows.append((1.0, p, lead, alpha, DEFAULT_RULE.cap(5.0), 5.0))
    fitted = fit_fractile_rule(rows)
    assert fitted.w0 == pytest.approx(DEFAULT_RULE.w0, abs=1e-9)
    assert fitted.w1 == pytest.approx(DEFAULT_RULE.w1, abs=1e-9)
    assert fitted.w2 == pytest.approx(DEFAULT_RULE.w2, abs=1e-9)


@pytest.mark.parametrize(("p", "lead"), [(6.0, 2), (25.0, 3)])
def test_on_instances_outside_its_training_cells_it_is_within_half_a_percent_of_optimal(
    p: float, lead: int
) -> None:
    mdp = InventoryMDP(poisson_demand(5.0), lead, 1.0, p, lost_sales=True)
    pol = SkuProjectedPolicy().policy_for(5.0, lead, 1.0, p)
    wide = dataclasses.replace(mdp, max_position=mdp.grid[1] + 8)
    cost = stationary_metrics(wide, pol.grid_policy()).average_cost
    assert cost <= 1.005 * solve(mdp).average_cost
