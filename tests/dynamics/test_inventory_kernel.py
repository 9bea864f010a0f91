"""Behaviour of the shared inventory kernel (dynamics.inventory)."""

from __future__ import annotations

import numpy as np
import pytest

from dynamics.inventory import (
    InventoryKernelError,
    initial_state,
    inventory_step,
    scalar_step,
)


def _random_run(lost_sales: bool, shelf_life: int | None, seed: int, lead_time: int = 2) -> None:
    rng = np.random.default_rng(seed)
    n = 50
    state = initial_state(n, lead_time, on_hand=rng.integers(0, 10, n), shelf_life=shelf_life)
    for _ in range(40):
        orders = rng.integers(0, 8, n)
        demand = rng.poisson(4.0, n)
        before = state
        state, r = inventory_step(
            state, orders, demand, lost_sales=lost_sales, holding_cost=1.0, penalty_cost=4.0
        )
        # conservation, exactly, per SKU-location
        np.testing.assert_array_equal(
            before.on_hand + r.arrivals, r.end_on_hand + r.sales + r.write_offs
        )
        # demand accounting
        if lost_sales:
            np.testing.assert_array_equal(r.sales + r.lost, r.demand)
            assert (state.backorders == 0).all()
        else:
            np.testing.assert_array_equal(before.backorders + r.demand, r.sales + state.backorders)
        assert (state.on_hand >= 0).all()
        if state.age_stock is not None:
            np.testing.assert_array_equal(state.age_stock.sum(axis=1), state.on_hand)


@pytest.mark.parametrize("lost_sales", [True, False])
@pytest.mark.parametrize("shelf_life", [None, 1, 3])
def test_stock_is_conserved_exactly_every_period(lost_sales: bool, shelf_life: int | None) -> None:
    _random_run(lost_sales, shelf_life, seed=7)


def test_order_arrives_after_exactly_lead_time_periods_before_demand() -> None:
    state = initial_state(1, 3)
    arrivals = []
    for t in range(6):
        state, r = inventory_step(state, 10 if t == 0 else 0, 4)
        arrivals.append(int(r.arrivals[0]))
        if t == 3:
            # arrived at the start of period 3 and served period 3's demand
            assert int(r.sales[0]) == 4
    assert arrivals == [0, 0, 0, 10, 0, 0]


def test_zero_lead_time_order_serves_same_period_demand() -> None:
    state = initial_state(2, 0)
    _, r = inventory_step(state, [5, 2], [3, 3])
    np.testing.assert_array_equal(r.sales, [3, 2])
    np.testing.assert_array_equal(r.lost, [0, 1])


def test_costs_charge_end_on_hand_and_lost_units() -> None:
    state = initial_state(2, 1, on_hand=[6, 1], pipeline=[[0], [0]])
    _, r = inventory_step(state, 0, [2, 4], holding_cost=1.5, penalty_cost=[4.0, 9.0])
    np.testing.assert_allclose(r.holding_cost, [6.0, 0.0])
    np.testing.assert_allclose(r.penalty_cost, [0.0, 27.0])
    np.testing.assert_allclose(r.cost, [6.0, 27.0])


def test_backorders_are_filled_first_and_charged_per_unit_period() -> None:
    state = initial_state(1, 1, on_hand=0, backorders=3, pipeline=[[5]])
    new, r = inventory_step(state, 0, 4, lost_sales=False, holding_cost=1.0, penalty_cost=2.0)
    assert int(r.sales[0]) == 5  # 3 old backorders + 2 of the new demand
    assert int(new.backorders[0]) == 2
    assert int(r.backordered[0]) == 0  # backlog fell from 3 to 2
    assert float(r.cost[0]) == 4.0


def test_perishable_stock_is_issued_oldest_first_and_expires() -> None:
    state = initial_state(1, 0, on_hand=4, shelf_life=2)
    # period 0: the 4 fresh units (2 periods of life) lose one to demand and age
    state, r = inventory_step(state, 0, 1)
    np.testing.assert_array_equal(state.age_stock, [[3, 0]])
    assert int(r.write_offs[0]) == 0
    # period 1: 3 fresh units arrive; demand 2 takes old units; the last old unit expires
    state, r = inventory_step(state, 3, 2)
    assert int(r.write_offs[0]) == 1
    np.testing.assert_array_equal(state.age_stock, [[3, 0]])
    assert int(state.on_hand[0]) == 3


def test_per_sku_lead_times_place_orders_in_their_pipeline_slot() -> None:
    state = initial_state(3, 2)
    state, r = inventory_step(state, [1, 2, 3], 0, lead_time=[0, 1, 2])
    np.testing.assert_array_equal(r.arrivals, [1, 0, 0])
    np.testing.assert_array_equal(state.pipeline, [[0, 0], [2, 0], [0, 3]])


def test_inputs_are_not_mutated() -> None:
    state = initial_state(2, 2, on_hand=[3, 3], pipeline=[[1, 2], [3, 4]])
    pipeline_before = state.pipeline.copy()
    inventory_step(state, [1, 1], [9, 9])
    np.testing.assert_array_equal(state.pipeline, pipeline_before)
    np.testing.assert_array_equal(state.on_hand, [3, 3])


@pytest.mark.parametrize("lost_sales", [True, False])
def test_scalar_fast_path_matches_vector_kernel(lost_sales: bool) -> None:
    rng = np.random.default_rng(3)
    state = initial_state(1, 3, on_hand=5)
    on_hand, backorders, pipeline = 5, 0, [0, 0, 0]
    for _ in range(200):
        q, d = int(rng.integers(0, 9)), int(rng.poisson(5))
        state, r = inventory_step(
            state, q, d, lost_sales=lost_sales, holding_cost=1.0, penalty_cost=9.0
        )
        on_hand, backorders, arrivals, sales, shortage, cost = scalar_step(
            on_hand, pipeline, backorders, q, d, lost_sales, 1.0, 9.0
        )
        assert on_hand == int(state.on_hand[0])
        assert backorders == int(state.backorders[0])
        assert pipeline == state.pipeline[0].tolist()
        assert (arrivals, sales) == (int(r.arrivals[0]), int(r.sales[0]))
        assert shortage == int(r.lost[0] if lost_sales else r.backordered[0])
        assert cost == pytest.approx(float(r.cost[0]))


def test_bad_inputs_name_the_argument_and_value() -> None:
    state = initial_state(2, 1)
    with pytest.raises(InventoryKernelError, match="orders must be >= 0, got min -1"):
        inventory_step(state, [-1, 0], [0, 0])
    with pytest.raises(InventoryKernelError, match=r"demand must be a scalar or shape \(2,\)"):
        inventory_step(state, 0, [1, 2, 3])
    with pytest.raises(InventoryKernelError, match=r"lead_time values must be in 0\.\.1"):
        inventory_step(state, 0, 0, lead_time=2)
    with pytest.raises(InventoryKernelError, match="shelf_life must be >= 1, got 0"):
        initial_state(2, 1, shelf_life=0)
