"""The twin against theory: the one-store one-SKU base-stock system (theory_single_sku.yaml)."""

from __future__ import annotations

import numpy as np
import pytest
from twin_helpers import SCENARIOS

from dynamics.inventory import scalar_step
from scenarios.schema import load_scenario
from twin.runner import run_scenario
from twin.theory import TheoryError, batch_means_ci, lost_sales_base_stock, ratio_ci


def test_zero_lead_time_fill_rate_is_the_poisson_partial_expectation() -> None:
    from scipy import stats

    th = lost_sales_base_stock(5.0, 0, 7)
    k = np.arange(8)
    expected_sales = float(
        (k * stats.poisson.pmf(k, 5.0)).sum()
        - 7 * stats.poisson.pmf(7, 5.0)
        + 7 * stats.poisson.sf(6, 5.0)
    )
    assert th.mean_sales == pytest.approx(expected_sales, rel=1e-12)
    assert th.mean_end_on_hand == pytest.approx(7 - expected_sales, rel=1e-12)


@pytest.mark.parametrize(("lead", "level"), [(1, 12), (2, 18)])
def test_markov_chain_matches_a_long_kernel_simulation(lead: int, level: int) -> None:
    th = lost_sales_base_stock(5.0, lead, level)
    rng = np.random.default_rng(7)
    T = 40_000
    demand = rng.poisson(5.0, T)
    on_hand, pipeline = level, [0] * lead
    sold = np.zeros(T)
    end = np.zeros(T)
    for t, d in enumerate(demand.tolist()):
        q = max(0, level - on_hand - sum(pipeline))
        on_hand, _, _, sales, _, _ = scalar_step(on_hand, pipeline, 0, q, d)
        sold[t], end[t] = sales, on_hand
    fill, hw = ratio_ci(sold, demand.astype(float), batches=40, z=4.0)
    oh, hw_oh = batch_means_ci(end, batches=40, z=4.0)
    assert abs(fill - th.fill_rate) < hw
    assert abs(oh - th.mean_end_on_hand) < hw_oh


def test_theory_rejects_parameters_outside_its_range() -> None:
    with pytest.raises(TheoryError, match="lead_time_days 9"):
        lost_sales_base_stock(5.0, 9, 10)
    with pytest.raises(TheoryError, match="rate -1"):
        lost_sales_base_stock(-1.0, 1, 10)


def test_twin_reproduces_analytic_fill_rate_and_on_hand_within_run_length_ci(fake_client) -> None:
    sc = load_scenario(SCENARIOS / "theory_single_sku.yaml")
    store = sc.world.stores[0]
    lead = int(sc.world.warehouses[0].store_lead_time_days.mean_value())
    level = int(sc.policies.replenishment.params["base_stock"])
    rate = sc.catalog.base_demand.mean_value() * store.size_m2 / 1000.0
    th = lost_sales_base_stock(rate, lead, level)

    out = run_scenario(sc, write=False, client=fake_client(sc))
    data = out.result.book.data
    w = sc.warmup_days
    sold = data["units_sold"][w:, 0].astype(float)
    demand = data["demand_units"][w:, 0].astype(float)
    on_hand = data["on_hand_units"][w:, 0].astype(float)
    fill, hw = ratio_ci(sold, demand)
    oh, hw_oh = batch_means_ci(on_hand)
    # the intervals come from the run length (batch means, 3 sigma): they are not loose guesses
    assert hw < 0.05 and hw_oh < 1.5
    assert abs(fill - th.fill_rate) < hw, (fill, th.fill_rate, hw)
    assert abs(oh - th.mean_end_on_hand) < hw_oh, (oh, th.mean_end_on_hand, hw_oh)
    # the warehouse never ran short and no unit was substituted: the store saw plain base-stock
    assert out.kpis["substituted_units"] == 0
