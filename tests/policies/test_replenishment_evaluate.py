"""policies.evaluate: simulated long-run cost with a batch-means confidence interval."""

from __future__ import annotations

import numpy as np
import pytest

from policies.evaluate import evaluate
from policies.exact import (
    DiscreteDemand,
    ExactSolverError,
    InventoryMDP,
    optimal_backorder_base_stock,
    poisson_demand,
)
from policies.registry import create
from policies.replenishment.base_stock import evaluate_base_stock

SMALL = DiscreteDemand.from_pmf([0.25, 0.25, 0.3, 0.2])
RUN = {"periods": 2_000, "n_paths": 40, "warmup": 100, "batches": 5}


def test_confidence_interval_contains_the_exact_lost_sales_base_stock_cost() -> None:
    mdp = InventoryMDP(poisson_demand(5.0), 2, 1.0, 9.0)
    exact = evaluate_base_stock(mdp, 19).average_cost
    result = evaluate(create("replenishment", "base_stock", base_stock=19), mdp, seed=3, **RUN)
    assert result.contains(exact)
    # and the interval is informative: narrower than 2% of the cost
    assert result.half_width < 0.02 * exact


def test_confidence_interval_contains_the_closed_form_backorder_cost() -> None:
    mdp = InventoryMDP(SMALL, 3, 1.0, 9.0, lost_sales=False)
    closed = optimal_backorder_base_stock(SMALL, 3, 1.0, 9.0)
    result = evaluate(
        create("replenishment", "base_stock", base_stock=closed.level), mdp, seed=4, **RUN
    )
    assert result.contains(closed.average_cost)


def test_interval_covers_the_exact_cost_at_about_the_nominal_rate() -> None:
    # 30 independent runs at 80%: coverage ~ Binomial(30, 0.8), P(<= 17 hits) < 2%.
    mdp = InventoryMDP(SMALL, 1, 1.0, 4.0)
    exact = evaluate_base_stock(mdp, 4).average_cost
    policy = create("replenishment", "base_stock", base_stock=4)
    hits = sum(
        evaluate(
            policy, mdp, periods=300, seed=s, n_paths=10, warmup=50, batches=3, confidence=0.8
        ).contains(exact)
        for s in range(30)
    )
    assert 18 <= hits <= 30


def test_same_seed_gives_identical_results_and_another_seed_differs() -> None:
    mdp = InventoryMDP(SMALL, 1, 1.0, 4.0)
    policy = create("replenishment", "capped_base_stock", base_stock=5, cap=2)
    a = evaluate(policy, mdp, periods=500, seed=7, n_paths=4)
    b = evaluate(policy, mdp, periods=500, seed=np.random.default_rng(7), n_paths=4)
    c = evaluate(policy, mdp, periods=500, seed=8, n_paths=4)
    assert a == b
    assert a.average_cost != c.average_cost


def test_bad_run_design_is_rejected_with_the_values() -> None:
    mdp = InventoryMDP(SMALL, 1, 1.0, 4.0)
    policy = create("replenishment", "base_stock", base_stock=4)
    with pytest.raises(ExactSolverError, match="periods=5, batches=20"):
        evaluate(policy, mdp, periods=5)
    with pytest.raises(ExactSolverError, match="confidence must be in"):
        evaluate(policy, mdp, periods=100, confidence=1.5)
