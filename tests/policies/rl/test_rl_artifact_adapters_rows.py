"""Served artifacts refuse per SKU: one out-of-range row does not fail a multi-SKU request."""

from __future__ import annotations

import numpy as np
import pytest

from policies.artifact_adapters import ArtifactPricingPolicy, ArtifactReplenishmentPolicy
from policies.artifacts import ActionMapping, FrameworkFreePolicy, Manifest, ObsNormalization
from policies.pricing.types import PricingError, PricingObservation
from policies.replenishment.types import ObservationError, ReplenishmentObservation


def _pricing_artifact() -> FrameworkFreePolicy:
    return FrameworkFreePolicy(
        weights=(np.zeros((1, 2)),),
        biases=(np.array([0.0]),),
        activation="tanh",
        normalization=ObsNormalization.identity(2),
        mapping=ActionMapping(
            kind="box",
            decision_names=("price",),
            decision_low=np.array([1.0]),
            decision_high=np.array([20.0]),
            action_low=np.array([-1.0]),
            action_high=np.array([1.0]),
            decision_offset=np.array([8.0]),
            decision_scale=np.array([4.0]),
        ),
        manifest=Manifest(
            name="price",
            env_id="ShopSphere/DynamicPricing-v0",
            algo="PPO",
            obs_names=("stock_left_fraction", "periods_left_fraction"),
            env_kwargs={"stock": 20, "horizon": 20, "list_price": 10.0},
        ),
    )


def _quote(on_hand: list[int], days_left: list[int]) -> PricingObservation:
    n = len(on_hand)
    return PricingObservation(
        price_cents=np.full(n, 1000),
        list_price_cents=np.full(n, 1000),
        cost_cents=np.full(n, 500),
        on_hand=np.array(on_hand),
        days_left=np.array(days_left),
        min_price_cents=np.full(n, 500),
        max_price_cents=np.full(n, 2000),
    )


def test_one_out_of_range_sku_is_refused_alone_and_the_others_are_priced() -> None:
    policy = ArtifactPricingPolicy(_pricing_artifact())
    obs = _quote([5, 25, 3], [10, 10, 30])
    decision, refused = policy.decide_each(obs)
    assert [(r.row, r.field, r.value) for r in refused] == [
        (1, "on_hand", 25),
        (2, "days_left", 30),
    ]
    # the network outputs action 0 -> 8.00 (currency units) -> 800 cents for the valid row
    assert decision.price_cents.tolist() == [800, 1000, 1000]
    with pytest.raises(PricingError, match="on_hand=25"):
        policy.decide(obs)


def _order_up_to(lead_time: int) -> FrameworkFreePolicy:
    n_actions, obs_dim = 16, lead_time + 1
    bias = np.zeros(n_actions)
    bias[12] = 1.0
    return FrameworkFreePolicy(
        weights=(np.zeros((n_actions, obs_dim)),),
        biases=(bias,),
        activation="tanh",
        normalization=ObsNormalization.identity(obs_dim),
        mapping=ActionMapping(
            kind="discrete",
            decision_names=("order_units",),
            decision_low=np.zeros(1),
            decision_high=np.array([15.0]),
            table=np.arange(n_actions, dtype=float)[:, None],
            integer=True,
            relative_obs_index=obs_dim - 1,
        ),
        manifest=Manifest(
            name="repl",
            env_id="ShopSphere/Replenishment-v0",
            algo="PPO",
            obs_names=tuple(f"o{i}" for i in range(obs_dim)),
            env_kwargs={"lead_time": lead_time},
        ),
    )


def test_replenishment_rows_with_another_lead_time_order_nothing_and_are_listed() -> None:
    policy = ArtifactReplenishmentPolicy(_order_up_to(1))
    obs = ReplenishmentObservation(
        on_hand=np.array([4, 4, 4]),
        pipeline=np.array([[0, 0], [0, 0], [0, 3]]),
        backorders=np.zeros(3, dtype=np.int64),
        lead_time=np.array([1, 2, 1]),
    )
    decision, refused = policy.decide_each(obs)
    assert [(r.row, r.field) for r in refused] == [(1, "lead_time"), (2, "pipeline")]
    assert decision.orders.tolist() == [8, 0, 0]
    with pytest.raises(ObservationError, match="trained for lead_time 1"):
        policy.decide(obs)


def _per_sku(mean: list[float], on_hand: list[int]) -> ReplenishmentObservation:
    n = len(mean)
    return ReplenishmentObservation(
        on_hand=np.array(on_hand),
        pipeline=np.zeros((n, 1), dtype=np.int64),
        backorders=np.zeros(n, dtype=np.int64),
        lead_time=np.ones(n, dtype=np.int64),
        demand_mean=np.array(mean),
    )


def test_replenishment_quantities_follow_each_skus_demand_scale() -> None:
    # trained on Poisson(5) (the manifest default): level 12 in units of 5/day
    policy = ArtifactReplenishmentPolicy(_order_up_to(1))
    decision = policy.decide(_per_sku([5.0, 0.0, 50.0, 0.5], [4, 4, 40, 0]))
    # 12 - 4 at the training scale; nothing without demand; 120 - 40; 1.2 - 0 -> 1
    assert decision.orders.tolist() == [8, 0, 80, 1]
    assert decision.target is not None
    np.testing.assert_allclose(decision.target, [12.0, 0.0, 120.0, 1.2])


def test_a_zero_demand_sku_orders_nothing_even_when_out_of_stock() -> None:
    policy = ArtifactReplenishmentPolicy(_order_up_to(1))
    assert policy.decide(_per_sku([0.0, 0.0], [0, 3])).orders.tolist() == [0, 0]


def test_prices_are_quoted_in_each_skus_own_units() -> None:
    policy = ArtifactPricingPolicy(_pricing_artifact())
    obs = PricingObservation(
        price_cents=np.array([1000, 250_000]),
        list_price_cents=np.array([1000, 250_000]),
        cost_cents=np.array([100, 30_000]),
        on_hand=np.array([5, 5]),
        days_left=np.array([10, 10]),
        min_price_cents=np.array([100, 30_000]),
        max_price_cents=np.array([2000, 500_000]),
    )
    # the artifact posts 8 of its list price 10: 80% of each SKU's list price, not 800 cents
    assert policy.decide(obs).price_cents.tolist() == [800, 200_000]
