"""Continuous-price policies learned by CRN cross-entropy search (Gallego-van Ryzin model)."""

from __future__ import annotations

import numpy as np
import pytest

from policies.pricing.dynamic import fixed_price_revenue, solve_dynamic_pricing
from policies.rl.exact_eval import exact_pricing_revenue
from policies.rl.pricing_search import (
    FLUID_THETA,
    FluidPricePolicy,
    PricingSearchConfig,
    PricingSearchError,
    customer_paths,
    simulate_revenue,
    train_pricing_policy,
)


def _exact(policy: FluidPricePolicy, stock: int, horizon: int) -> float:
    return exact_pricing_revenue(
        lambda obs: policy.price(obs[:, 1] * horizon, obs[:, 0] * stock),
        stock,
        horizon,
        policy.a,
        policy.b,
    )


def test_simulated_customers_reproduce_the_fixed_price_revenue() -> None:
    stock, horizon, a, b, price = 10, 20, 3.0, 0.5, 2.4
    theta = np.array([[price * b, -50.0, 0.0, 0.0]])  # constant b * price
    vals = customer_paths(np.random.default_rng(5), a, b, horizon, 20_000)
    rev = simulate_revenue(theta, vals, stock=stock, a=a, b=b)[0]
    exact = float(fixed_price_revenue(stock, horizon, a, b, price))
    assert abs(rev.mean() - exact) < 4.5 * rev.std(ddof=1) / np.sqrt(rev.size)


def test_prices_scale_with_the_skus_price_sensitivity() -> None:
    cheap = FluidPricePolicy((1.0, 0.1, 1.1, 0.3), 3.0, 0.5)
    dear = FluidPricePolicy((1.0, 0.1, 1.1, 0.3), 3.0, 0.005)
    n, x = np.array([5.0, 12.0]), np.array([3.0, 9.0])
    np.testing.assert_allclose(dear.price(n, x), 100 * cheap.price(n, x))


def test_bad_parameters_are_refused_by_name() -> None:
    with pytest.raises(PricingSearchError, match="a and b"):
        FluidPricePolicy(FLUID_THETA, 3.0, 0.0)


def test_search_beats_99_percent_of_the_continuous_dp_optimum() -> None:
    stock, horizon, a, b = 10, 20, 3.0, 0.5
    cfg = PricingSearchConfig(generations=10, population=12, paths=256, val_paths=1024)
    res = train_pricing_policy(stock=stock, horizon=horizon, a=a, b=b, seed=1, config=cfg)
    share = _exact(res.policy, stock, horizon) / solve_dynamic_pricing(stock, horizon, a, b).optimum
    fluid = _exact(FluidPricePolicy(FLUID_THETA, a, b), stock, horizon)
    assert share >= 0.99
    assert _exact(res.policy, stock, horizon) > fluid
