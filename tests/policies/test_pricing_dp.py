"""Dynamic pricing of a fixed stock: the DP against closed forms, bounds and simulation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from policies.pricing import (
    DemandModel,
    PricingError,
    best_fixed_price,
    evaluate_price_table,
    fixed_price_revenue,
    fluid_bound,
    simulate_revenue,
    solve_dynamic_pricing,
)

GRID = np.round(np.arange(0.2, 6.0001, 0.05), 10)
CASES = [(1, 1), (5, 10), (10, 10), (20, 10), (20, 40), (50, 40)]


def test_one_unit_one_period_sells_at_monopoly_price_one_over_b() -> None:
    # max_p p * a e^{-bp} has p* = 1/b and value a / (e b); Bernoulli makes it exact.
    a, b = 0.5, 2.0
    sol = solve_dynamic_pricing(1, 1, a, b, demand="bernoulli")
    assert sol.price_table[0, 1] == pytest.approx(1.0 / b, abs=1e-12)
    assert sol.optimum == pytest.approx(a / (math.e * b), rel=1e-12)


@pytest.mark.parametrize("demand", ["poisson", "bernoulli"])
def test_unconstrained_stock_prices_every_period_at_one_over_b(demand: DemandModel) -> None:
    # With far more stock than can sell, a unit's marginal value is ~0: p* = 1/b each period
    # and the value is horizon * a / (e b), which is also the fluid bound.
    a, b, horizon, stock = 0.8, 1.5, 6, 60
    sol = solve_dynamic_pricing(stock, horizon, a, b, demand=demand)
    np.testing.assert_allclose(sol.price_table[:, stock], 1.0 / b, atol=1e-6)
    expected = horizon * a / (math.e * b)
    assert sol.optimum == pytest.approx(expected, rel=1e-9)
    assert fluid_bound(stock, horizon, a, b) == pytest.approx(expected, rel=1e-12)
    fixed = best_fixed_price(stock, horizon, a, b, demand=demand)
    assert fixed.price == pytest.approx(1.0 / b, abs=1e-5)
    assert fixed.revenue == pytest.approx(expected, rel=1e-9)


def test_fluid_bound_closed_form_when_stock_binds() -> None:
    # Run rate x/T below a/e: price log(aT/x)/b, bound x log(aT/x)/b.
    stock, horizon, a, b = 10, 20, 5.0, 1.0
    assert fluid_bound(stock, horizon, a, b) == pytest.approx(
        stock * math.log(a * horizon / stock) / b
    )
    # A price cap below that price sells everything at the cap.
    assert fluid_bound(stock, horizon, a, b, (0.0, 1.5)) == pytest.approx(stock * 1.5)


def test_dp_matches_brute_force_over_all_policies_on_a_tiny_instance() -> None:
    # Two periods, two units, three prices: enumerate all 3 * 3^2 policies (first price, then
    # a price for each possible stock level) with demand enumerated far into the tail.
    a, b, prices = 3.0, 0.7, np.array([0.5, 1.5, 3.0])
    d = np.arange(60)

    def pmf(p: float) -> np.ndarray:
        return stats.poisson.pmf(d, a * math.exp(-b * p))

    best = -1.0
    for p1, p2_by_stock in itertools.product(prices, itertools.product(prices, repeat=2)):
        total = 0.0
        for d1, w1 in zip(d, pmf(p1), strict=True):
            s1 = min(int(d1), 2)
            left = 2 - s1
            second = 0.0
            if left > 0:
                p2 = p2_by_stock[left - 1]
                second = float(np.sum(pmf(p2) * p2 * np.minimum(d, left)))
            total += w1 * (p1 * s1 + second)
        best = max(best, total)
    sol = solve_dynamic_pricing(2, 2, a, b, prices)
    assert sol.optimum == pytest.approx(best, rel=1e-12)


@pytest.mark.parametrize("demand", ["poisson", "bernoulli"])
def test_value_is_monotone_in_stock_and_time(demand: DemandModel) -> None:
    a = 4.0 if demand == "poisson" else 0.9
    sol = solve_dynamic_pricing(30, 25, a, 1.0, GRID, demand=demand)
    assert np.all(np.diff(sol.value, axis=0) >= -1e-12)  # more periods left: never worse
    assert np.all(np.diff(sol.value, axis=1) >= -1e-12)  # more units: never worse
    # Strictly better while the extra unit can still sell (Bernoulli: one sale per period).
    sellable = 30 if demand == "poisson" else 25
    assert np.all(np.diff(sol.value[-1, : sellable + 1]) > 0)


@pytest.mark.parametrize(("stock", "horizon"), CASES)
def test_fixed_price_below_dp_below_fluid_bound(stock: int, horizon: int) -> None:
    a, b = 5.0, 1.0
    grid = solve_dynamic_pricing(stock, horizon, a, b, GRID)
    cont = solve_dynamic_pricing(stock, horizon, a, b, price_bounds=(0.2, 6.0))
    fixed = best_fixed_price(stock, horizon, a, b, GRID)
    bound = fluid_bound(stock, horizon, a, b, (0.2, 6.0))
    assert fixed.revenue <= grid.optimum + 1e-9
    assert grid.optimum <= cont.optimum + 1e-9  # the grid is a subset of the interval
    assert cont.optimum <= bound + 1e-9
    # The whole value table is under the fluid bound of each state.
    for n in (1, horizon // 2, horizon):
        for x in (1, stock // 2, stock):
            assert cont.value[n, x] <= fluid_bound(x, n, a, b, (0.2, 6.0)) + 1e-9


def test_dp_with_a_single_price_equals_the_exact_fixed_price_revenue() -> None:
    # Two independent computations: the DP recursion and P(total demand > j) sums.
    cases: list[tuple[DemandModel, float]] = [("poisson", 5.0), ("bernoulli", 0.9)]
    for demand, a in cases:
        for price in (0.4, 1.0, 2.5):
            sol = solve_dynamic_pricing(12, 15, a, 1.0, [price], demand=demand)
            exact = fixed_price_revenue(12, 15, a, 1.0, price, demand)
            assert sol.optimum == pytest.approx(float(exact), rel=1e-10)


@pytest.mark.parametrize("demand", ["poisson", "bernoulli"])
def test_evaluating_the_optimal_table_reproduces_the_dp_value(demand: DemandModel) -> None:
    a = 3.0 if demand == "poisson" else 0.8
    sol = solve_dynamic_pricing(15, 20, a, 1.2, demand=demand)
    np.testing.assert_allclose(
        evaluate_price_table(sol.price_table, a, 1.2, demand), sol.value, rtol=1e-12, atol=1e-12
    )
    # Any other table is no better: perturbing the prices loses revenue.
    worse = evaluate_price_table(sol.price_table * 1.1, a, 1.2, demand)
    assert worse[-1, -1] < sol.optimum


def test_simulated_dp_policy_revenue_matches_the_dp_value_within_its_ci() -> None:
    # CLT: the sample mean of n i.i.d. revenues is within z standard errors of the expectation;
    # z = 4 gives a two-sided false-alarm rate of 6e-5 (and the seed is fixed).
    stock, horizon, a, b = 20, 30, 3.0, 1.0
    sol = solve_dynamic_pricing(stock, horizon, a, b, GRID)
    rng = np.random.default_rng(20240601)
    mc = simulate_revenue(sol.price, stock, horizon, a, b, 20_000, rng)
    assert abs(mc.mean - sol.optimum) <= 4.0 * mc.std_error
    assert mc.std_error < 0.01 * sol.optimum  # the check has power: the CI is narrow
    assert np.all(mc.units_sold <= stock)
    # The same simulator reproduces the exact fixed-price revenue.
    fixed = best_fixed_price(stock, horizon, a, b, GRID)
    mc_fixed = simulate_revenue(
        lambda n, x: np.full(x.shape, fixed.price), stock, horizon, a, b, 20_000, rng
    )
    assert abs(mc_fixed.mean - fixed.revenue) <= 4.0 * mc_fixed.std_error


def test_simulated_bernoulli_dp_policy_matches_the_dp_value_within_its_ci() -> None:
    stock, horizon, a, b = 10, 40, 0.8, 1.0  # z = 4 as above
    sol = solve_dynamic_pricing(stock, horizon, a, b, demand="bernoulli")
    mc = simulate_revenue(
        sol.price, stock, horizon, a, b, 20_000, np.random.default_rng(99), "bernoulli"
    )
    assert abs(mc.mean - sol.optimum) <= 4.0 * mc.std_error
    assert mc.std_error < 0.01 * sol.optimum


def test_simulation_is_reproducible_from_the_seed() -> None:
    sol = solve_dynamic_pricing(5, 8, 2.0, 1.0, GRID, demand="poisson")
    runs = [
        simulate_revenue(sol.price, 5, 8, 2.0, 1.0, 100, np.random.default_rng(7)).revenue
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])


def test_price_table_stays_within_the_price_bounds() -> None:
    sol = solve_dynamic_pricing(40, 30, 5.0, 1.0, price_bounds=(1.2, 2.5))
    assert sol.price_table.min() >= 1.2 and sol.price_table.max() <= 2.5
    # One unit and 30 days (fluid price log(150) = 5) runs into the cap; ample stock on the
    # last day wants 1/b = 1 and stops at the floor.
    assert sol.price_table[29, 1] == pytest.approx(2.5)
    assert sol.price_table[0, 40] == pytest.approx(1.2)


def test_bernoulli_rates_above_one_are_rejected_naming_the_grid() -> None:
    with pytest.raises(PricingError, match="price_grid"):
        solve_dynamic_pricing(5, 5, 2.0, 1.0, [0.1, 1.0], demand="bernoulli")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"stock": -1}, "stock"),
        ({"horizon": 2.5}, "horizon"),
        ({"a": 0.0}, "a"),
        ({"b": -1.0}, "b"),
        ({"demand": "normal"}, "demand"),
    ],
)
def test_bad_model_arguments_raise_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"stock": 5, "horizon": 5, "a": 2.0, "b": 1.0, **kwargs}
    with pytest.raises(PricingError) as err:
        solve_dynamic_pricing(**args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_table_lookup_outside_the_solved_states_raises() -> None:
    sol = solve_dynamic_pricing(5, 4, 2.0, 1.0, GRID)
    with pytest.raises(PricingError, match="periods_left"):
        sol.price([5], [1])
    with pytest.raises(PricingError, match="stock"):
        sol.price([1], [6])
