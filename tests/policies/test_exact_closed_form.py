"""Closed forms as oracles: newsvendor and the backorder base-stock optimum vs the DP."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from policies.exact import (
    DiscreteDemand,
    ExactSolverError,
    InventoryMDP,
    backorder_base_stock_cost,
    newsvendor_cost,
    newsvendor_quantity,
    optimal_backorder_base_stock,
    poisson_demand,
    solve,
)
from policies.replenishment.base_stock import best_base_stock, evaluate_base_stock

SMALL = DiscreteDemand.from_pmf([0.2, 0.3, 0.3, 0.2])


def _brute_cost(pmf: np.ndarray, q: int, cu: float, co: float) -> float:
    d = np.arange(pmf.shape[0])
    return float(pmf @ (co * np.maximum(q - d, 0) + cu * np.maximum(d - q, 0)))


@pytest.mark.parametrize(("cu", "co"), [(9.0, 1.0), (1.0, 1.0), (1.0, 4.0), (39.0, 1.0)])
def test_newsvendor_quantity_minimises_expected_cost_by_enumeration(cu: float, co: float) -> None:
    demand = poisson_demand(7.5)
    costs = [_brute_cost(demand.pmf, q, cu, co) for q in range(demand.d_max + 1)]
    q_star = newsvendor_quantity(demand, cu, co)
    assert q_star == int(np.argmin(costs))
    assert newsvendor_cost(demand, q_star, cu, co) == pytest.approx(min(costs), rel=1e-12)


def test_newsvendor_quantity_is_the_poisson_critical_fractile() -> None:
    demand = poisson_demand(20.0)
    assert newsvendor_quantity(demand, 3.0, 1.0) == int(stats.poisson.ppf(0.75, 20.0))


def test_newsvendor_cost_matches_direct_expectation_at_any_quantity() -> None:
    for q in (0, 1, 2, 3, 5):
        assert newsvendor_cost(SMALL, q, 4.0, 1.5) == pytest.approx(
            _brute_cost(SMALL.pmf, q, 4.0, 1.5), abs=1e-12
        )


def test_newsvendor_rejects_non_positive_costs_naming_them() -> None:
    with pytest.raises(ExactSolverError, match="overage must be > 0, got 0"):
        newsvendor_quantity(SMALL, 1.0, 0.0)


@pytest.mark.parametrize("lead_time", [1, 2])
@pytest.mark.parametrize("penalty", [1.0, 9.0])
def test_backorder_dp_optimum_equals_critical_fractile_base_stock(
    lead_time: int, penalty: float
) -> None:
    closed = optimal_backorder_base_stock(SMALL, lead_time, 1.0, penalty)
    mdp = InventoryMDP(SMALL, lead_time, 1.0, penalty, lost_sales=False)
    dp = solve(mdp, tolerance=1e-9)
    assert dp.average_cost == pytest.approx(closed.average_cost, abs=1e-7)
    # and the DP's policy is base-stock at the closed-form level in reachable states
    x = np.arange(closed.level - 3, closed.level + 1)
    pipeline = np.zeros((x.shape[0], lead_time - 1), dtype=np.int64)
    np.testing.assert_array_equal(dp.order_for(x, pipeline), closed.level - x)


def test_backorder_closed_form_level_is_best_among_exactly_evaluated_levels() -> None:
    mdp = InventoryMDP(SMALL, 2, 1.0, 4.0, lost_sales=False)
    closed = optimal_backorder_base_stock(SMALL, 2, 1.0, 4.0)
    best = best_base_stock(mdp)
    assert best.base_stock == closed.level
    assert best.average_cost == pytest.approx(closed.average_cost, abs=1e-6)
    # Markov-chain evaluation of any level agrees with the lead-time-demand formula
    for level in range(closed.level - 2, closed.level + 3):
        assert evaluate_base_stock(mdp, level).average_cost == pytest.approx(
            backorder_base_stock_cost(SMALL, 2, 1.0, 4.0, level), abs=1e-6
        )


def test_lead_time_demand_is_the_convolution_of_period_demand() -> None:
    ltd = poisson_demand(2.0).convolve(3)
    np.testing.assert_allclose(ltd.pmf[:15], stats.poisson.pmf(np.arange(15), 6.0), atol=1e-10)
