"""Pricing policies behind the PricingPolicy protocol: static, markdown, elasticity, DP."""

from __future__ import annotations

import numpy as np
import pytest

from policies.pricing import (
    DynamicPricingPolicy,
    ElasticityPricingPolicy,
    MarkdownSchedulePolicy,
    PricingDecision,
    PricingError,
    PricingObservation,
    PricingPolicy,
    StaticPricePolicy,
    fit_log_linear_demand,
    optimal_margin_price,
    solve_dynamic_pricing,
)
from policies.registry import PolicyError, available, create


def make_observation(
    n: int = 4,
    *,
    list_price: int = 1000,
    cost: int = 400,
    on_hand: int | np.ndarray = 50,
    days_left: int | np.ndarray = 30,
    min_price: int = 200,
    max_price: int = 2000,
    price: int | np.ndarray | None = None,
    sales: np.ndarray | None = None,
    prices_hist: np.ndarray | None = None,
) -> PricingObservation:
    full = lambda v: np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)).copy()  # noqa: E731
    return PricingObservation(
        price_cents=full(list_price if price is None else price),
        list_price_cents=full(list_price),
        cost_cents=full(cost),
        on_hand=full(on_hand),
        days_left=full(days_left),
        min_price_cents=full(min_price),
        max_price_cents=full(max_price),
        sales_history=np.zeros((n, 0)) if sales is None else sales,
        price_history_cents=(
            np.zeros((n, 0), dtype=np.int64) if prices_hist is None else prices_hist
        ),
    )


def random_observation(rng: np.random.Generator, n: int = 500, h: int = 28) -> PricingObservation:
    low = rng.integers(50, 1500, n)
    high = low + rng.integers(0, 2000, n)
    list_price = rng.integers(100, 3000, n)
    return PricingObservation(
        price_cents=rng.integers(100, 3000, n),
        list_price_cents=list_price,
        cost_cents=rng.integers(0, 1500, n),
        on_hand=rng.integers(0, 200, n),
        days_left=rng.integers(0, 90, n),
        min_price_cents=low,
        max_price_cents=high,
        sales_history=rng.poisson(3.0, (n, h)).astype(float),
        price_history_cents=rng.integers(100, 3000, (n, h)),
    )


# ---- observation contract ----------------------------------------------------------------
def test_observation_rejects_min_above_max_naming_the_field() -> None:
    with pytest.raises(PricingError) as err:
        make_observation(min_price=900, max_price=800)
    assert err.value.field == "min_price_cents" and err.value.value == 900
    assert isinstance(err.value, PolicyError)


def test_observation_rejects_negative_stock_and_mismatched_history() -> None:
    with pytest.raises(PricingError, match="on_hand"):
        make_observation(on_hand=np.array([1, -2, 3, 4]))
    with pytest.raises(PricingError, match="price_history_cents"):
        make_observation(sales=np.ones((4, 3)), prices_hist=np.ones((4, 2), dtype=np.int64))
    with pytest.raises(PricingError, match="list_price_cents"):
        PricingObservation(
            price_cents=np.array([1, 2]),
            list_price_cents=np.array([1, 2, 3]),
            cost_cents=np.array([1, 2]),
            on_hand=np.array([1, 2]),
            days_left=np.array([1, 2]),
            min_price_cents=np.array([1, 2]),
            max_price_cents=np.array([1, 2]),
        )


@pytest.mark.parametrize(
    "policy",
    [
        StaticPricePolicy(0.8),
        MarkdownSchedulePolicy(),
        ElasticityPricingPolicy(),
    ],
    ids=["static", "markdown", "elasticity"],
)
def test_every_policy_respects_the_price_bounds_on_random_skus(policy: PricingPolicy) -> None:
    rng = np.random.default_rng(11)
    for _ in range(5):
        obs = random_observation(rng)
        decision = policy.decide(obs)
        assert isinstance(decision, PricingDecision)
        assert decision.price_cents.dtype == np.int64 and decision.price_cents.shape == (500,)
        assert np.all(decision.price_cents >= obs.min_price_cents)
        assert np.all(decision.price_cents <= obs.max_price_cents)


def test_registry_builds_each_pricing_policy_by_name() -> None:
    assert {"static", "markdown", "elasticity", "dynamic_dp"} <= set(
        available("pricing")["pricing"]
    )
    obs = make_observation()
    named: list[tuple[str, dict[str, object]]] = [
        ("static", {"multiplier": 0.9}),
        ("markdown", {"depths": [0.1, 0.2, 0.4, 0.6]}),
        ("elasticity", {"history_days": 28}),
        ("dynamic_dp", {"stock": 60, "horizon": 30, "a": 5.0, "b": 0.2}),
    ]
    for name, params in named:
        policy = create("pricing", name, params)
        assert isinstance(policy, PricingPolicy)
        assert policy.decide(obs).price_cents.shape == (4,)
    with pytest.raises(PolicyError, match="multiplier"):
        create("pricing", "static", multiplier=-1.0)


# ---- static ------------------------------------------------------------------------------
def test_static_policy_charges_the_multiplied_list_price_clipped_to_bounds() -> None:
    obs = make_observation(list_price=999, min_price=850, max_price=2000)
    assert StaticPricePolicy(0.9).decide(obs).price_cents.tolist() == [899] * 4
    assert StaticPricePolicy(0.5).decide(obs).price_cents.tolist() == [850] * 4  # floor binds
    assert StaticPricePolicy().decide(obs).price_cents.tolist() == [999] * 4


# ---- markdown ----------------------------------------------------------------------------
def test_markdown_steps_follow_weeks_left() -> None:
    policy = MarkdownSchedulePolicy(slow_extra_steps=0)
    days = np.array([70, 56, 50, 28, 14, 7, 1])
    obs = make_observation(7, days_left=days, min_price=0)
    # weeks left 10, 8, 8, 4, 2, 1, 1 -> steps 0, 1, 1, 2, 3, 4, 4 -> 0%, 20%, 20%, 30%, ...
    assert policy.step(obs).tolist() == [0, 1, 1, 2, 3, 4, 4]
    assert policy.decide(obs).price_cents.tolist() == [1000, 800, 800, 700, 500, 300, 300]


def test_slow_sellers_are_marked_down_one_step_deeper() -> None:
    # Both SKUs have 4 weeks left; the first sells 5/day (140 projected vs 50 on hand), the
    # second 1/day (28 projected vs 50 on hand, cover 1.8 > 1.2).
    sales = np.array([[5.0] * 7, [1.0] * 7])
    hist = np.full((2, 7), 1000, dtype=np.int64)
    obs = make_observation(2, days_left=28, min_price=0, sales=sales, prices_hist=hist)
    assert MarkdownSchedulePolicy().decide(obs).price_cents.tolist() == [700, 500]


def test_markdown_prices_never_increase_over_a_season() -> None:
    # A season of 12 weeks, three SKUs selling at different paces; each day's decision becomes
    # the next day's current price. Prices must be non-increasing day over day.
    rng = np.random.default_rng(5)
    policy = MarkdownSchedulePolicy()
    n, season = 3, 84
    on_hand = np.array([300, 120, 40])
    price = np.full(n, 1000)
    sales_hist = np.zeros((n, 0))
    price_hist = np.zeros((n, 0), dtype=np.int64)
    path = [price]
    for day in range(season):
        obs = make_observation(
            n,
            price=price,
            on_hand=on_hand,
            days_left=season - day,
            min_price=100,
            sales=sales_hist,
            prices_hist=price_hist,
        )
        price = policy.decide(obs).price_cents
        sold = np.minimum(rng.poisson(np.array([2.0, 2.0, 2.0]) * (1000 / price) ** 2), on_hand)
        on_hand = on_hand - sold
        sales_hist = np.column_stack([sales_hist, sold])[:, -14:]
        price_hist = np.column_stack([price_hist, price])[:, -14:]
        path.append(price)
    prices = np.array(path)
    assert np.all(np.diff(prices, axis=0) <= 0)
    assert np.all(prices[-1] == 300)  # last week: the deepest markdown (70% off)
    assert prices[-1].min() >= 100


def test_markdown_rejects_increasing_thresholds() -> None:
    with pytest.raises(PricingError, match="weeks_left_thresholds"):
        MarkdownSchedulePolicy(weeks_left_thresholds=(1, 2), depths=(0.1, 0.2))
    with pytest.raises(PricingError, match="depths"):
        MarkdownSchedulePolicy(weeks_left_thresholds=(2, 1), depths=(0.3, 0.2))


# ---- elasticity --------------------------------------------------------------------------
def test_log_linear_fit_recovers_known_coefficients_from_noise_free_sales() -> None:
    rng = np.random.default_rng(3)
    n, h = 6, 30
    a = np.array([5.0, 8.0, 3.0, 10.0, 6.5, 7.0])
    b = np.array([-1.5, -2.0, -3.2, -0.5, -1.05, -4.0])
    prices = rng.uniform(500, 1500, (n, h))
    sales = np.exp(a[:, None] + b[:, None] * np.log(prices))
    sales[0, :5] = 0.0  # days without sales are left out of the log fit
    sales[1, 3] = np.nan  # and so are unknown days
    fit = fit_log_linear_demand(prices, sales)
    np.testing.assert_allclose(fit.elasticity, b, rtol=1e-9)
    np.testing.assert_allclose(fit.intercept, a, rtol=1e-9)
    assert fit.n_obs.tolist() == [25, 29, 30, 30, 30, 30]
    assert np.all(fit.identified)


def test_elasticity_policy_charges_c_b_over_one_plus_b_clipped_to_bounds() -> None:
    rng = np.random.default_rng(4)
    b = np.array([-1.5, -2.0, -3.0, -0.5, -2.5])
    cost = np.array([400, 300, 600, 400, 200])
    hist_prices = rng.integers(600, 1400, (5, 28))
    sales = np.exp(4.0 + b[:, None] * np.log(hist_prices))
    obs = PricingObservation(
        price_cents=np.full(5, 1000),
        list_price_cents=np.full(5, 1000),
        cost_cents=cost,
        on_hand=np.full(5, 100),
        days_left=np.full(5, 30),
        min_price_cents=np.array([100, 100, 100, 100, 500]),
        max_price_cents=np.array([5000, 5000, 5000, 1800, 5000]),
        sales_history=sales,
        price_history_cents=hist_prices,
    )
    got = ElasticityPricingPolicy().decide(obs).price_cents
    # c b/(1+b): 400*3 = 1200, 300*2 = 600, 600*1.5 = 900; inelastic -> max 1800;
    # 200*2.5/1.5 = 333.3 -> below the 500 floor.
    assert got.tolist() == [1200, 600, 900, 1800, 500]


def test_optimal_margin_price_beats_nearby_prices() -> None:
    c, b = 250.0, -1.8
    p_star = float(optimal_margin_price(c, b, 0.0, 1e9))
    margin = lambda p: (p - c) * p**b  # noqa: E731
    assert p_star == pytest.approx(c * b / (1 + b))
    assert margin(p_star) > margin(p_star * 1.01) and margin(p_star) > margin(p_star * 0.99)


def test_elasticity_policy_keeps_the_current_price_when_demand_is_not_identified() -> None:
    # Constant historical price: the slope is not identified.
    hist = np.full((2, 20), 1000, dtype=np.int64)
    obs = make_observation(
        2, price=np.array([950, 1100]), sales=np.full((2, 20), 4.0), prices_hist=hist
    )
    fit = ElasticityPricingPolicy().fit(obs)
    assert not fit.identified.any()
    assert ElasticityPricingPolicy().decide(obs).price_cents.tolist() == [950, 1100]


def test_elasticity_policy_limits_the_step_when_asked() -> None:
    rng = np.random.default_rng(8)
    hist_prices = rng.integers(600, 1400, (1, 28))
    sales = np.exp(4.0 - 1.5 * np.log(hist_prices))  # optimum 3 * cost = 1200
    obs = make_observation(1, price=1000, cost=400, sales=sales, prices_hist=hist_prices)
    assert ElasticityPricingPolicy(max_step=0.1).decide(obs).price_cents.tolist() == [1100]


# ---- dynamic (DP) ------------------------------------------------------------------------
def test_dynamic_policy_looks_up_the_dp_table_per_sku() -> None:
    sol = solve_dynamic_pricing(20, 10, 3.0, 1.0, np.arange(0.5, 6.0, 0.01))
    policy = DynamicPricingPolicy(sol)
    on_hand = np.array([0, 1, 5, 20, 7])
    days_left = np.array([10, 3, 10, 1, 0])
    obs = make_observation(
        5, on_hand=on_hand, days_left=days_left, price=777, min_price=0, max_price=10_000
    )
    got = policy.decide(obs).price_cents
    expected = np.rint(sol.price_table[np.maximum(days_left, 1) - 1, on_hand] * 100)
    assert got[:4].tolist() == expected[:4].astype(int).tolist()
    assert got[4] == 777  # season over: price unchanged
    # Scarcer stock and more time left mean higher prices.
    assert got[1] > got[3]


def test_dynamic_policy_refuses_states_outside_its_table() -> None:
    policy = DynamicPricingPolicy(solve_dynamic_pricing(10, 5, 3.0, 1.0, [1.0, 2.0]))
    with pytest.raises(PricingError, match="days_left"):
        policy.decide(make_observation(on_hand=3, days_left=6))
    with pytest.raises(PricingError, match="on_hand"):
        policy.decide(make_observation(on_hand=11, days_left=5))


def test_decide_prices_many_skus_in_one_vectorised_call() -> None:
    rng = np.random.default_rng(9)
    n = 20_000
    sol = solve_dynamic_pricing(30, 20, 4.0, 1.0, np.arange(0.5, 5.0, 0.05))
    obs = make_observation(
        n, on_hand=rng.integers(0, 31, n), days_left=rng.integers(0, 21, n), min_price=0
    )
    for policy in (DynamicPricingPolicy(sol), MarkdownSchedulePolicy(), StaticPricePolicy()):
        assert policy.decide(obs).price_cents.shape == (n,)
