"""Echelon base-stock, dispatch thresholds and the feature-conditioned network policy."""

from __future__ import annotations

import numpy as np
import pytest

from policies.envs.multi_echelon_core import NetworkConfig, NetworkKernel, build_network
from policies.envs.multi_echelon_policies import (
    PER_ECHELON,
    LevelPolicy,
    dispatch_levels,
    evaluate_levels,
    feature_levels,
    global_levels,
    initial_theta,
    protection_demand,
    sku_features,
    stack_policies,
    train_feature_policy,
)

NET = build_network(NetworkConfig(n_skus=8, n_warehouses=1, n_stores=3, catalog_seed=2))


def test_protection_demand_adds_lead_time_variance_and_echelon_lead_at_warehouses() -> None:
    mean, sd = protection_demand(NET)
    W = NET.n_warehouses
    lead = NET.lead_mean
    # a store covers its own lead + 1 day; the warehouse covers inbound + outbound + 1 days
    assert np.allclose(mean[W:], NET.rate * (lead[W:, None] + 1.0))
    assert np.allclose(mean[0], NET.rate.sum(axis=0) * (lead[0] + lead[W] + 1.0))
    v = NET.rate + NET.dispersion * NET.rate**2
    assert np.all(sd[W:] ** 2 >= v * (lead[W:, None] + 1.0) - 1e-9)


def test_echelon_base_stock_orders_up_to_local_and_echelon_positions() -> None:
    k = NetworkKernel(NET, 1, seed=0)
    pol = global_levels(NET, np.array([1.0]), np.array([2.0]))
    q = pol.orders(k)
    pos = k.on_hand + k.in_transit
    W = NET.n_warehouses
    assert np.array_equal(q[0, W:], np.maximum(np.ceil(pol.levels[0, W:] - pos[0, W:]), 0))
    ech = k.echelon_position()[0]
    assert np.array_equal(q[0, :W], np.maximum(np.ceil(pol.levels[0, :W] - ech), 0))


def test_dispatch_threshold_suppresses_small_truck_loads() -> None:
    k = NetworkKernel(NET, 2, seed=0)
    pol = dispatch_levels(NET, np.array([1.0, 1.0]), np.array([1.0, 1.0]), [0.0, 1.0], [0.0, 1.0])
    q = pol.orders(k)
    vol = q @ NET.volume
    assert (vol[1] == 0).all()  # nothing fills a whole truck from the start
    assert (vol[0] >= 0).all() and q[0].sum() >= q[1].sum()


def test_features_and_learned_levels_have_the_documented_shapes() -> None:
    f = sku_features(NET)
    assert f.shape == (NET.n_locations, NET.n_skus, 6)
    assert np.all(f[..., 0] == 1.0)
    th = np.stack([initial_theta(), initial_theta(2.0, 3.0, 10.0, 0.3, 0.2)])
    pol = feature_levels(NET, th)
    assert pol.levels.shape == (2, NET.n_locations, NET.n_skus)
    assert pol.caps is not None and pol.min_dispatch is not None
    # bias-only theta = echelon base-stock with those safety factors
    assert np.allclose(pol.levels[1], global_levels(NET, np.array([2.0]), np.array([3.0])).levels)
    assert np.allclose(pol.min_dispatch[1, 0], 0.2 * NET.truck_capacity[0])
    with pytest.raises(ValueError, match="columns"):
        feature_levels(NET, np.zeros(PER_ECHELON))


def test_stacked_policies_are_scored_on_common_random_numbers() -> None:
    a = global_levels(NET, np.array([1.0]), np.array([1.0]))
    both = stack_policies(a, a, LevelPolicy(a.levels * 0.0))
    cost = evaluate_levels(NET, both, [3, 4], days=20, warmup=5)
    assert cost.shape == (2, 3)
    assert np.array_equal(cost[:, 0], cost[:, 1])  # same policy, same numbers, same cost
    assert (cost[:, 2] > cost[:, 0]).all()  # never ordering loses sales


def test_cem_keeps_the_starting_policy_unless_validation_finds_better() -> None:
    th0 = initial_theta(1.0, 1.0, 50.0, 0.01, 0.01)
    res = train_feature_policy(
        NET,
        np.random.default_rng(0),
        generations=2,
        population=8,
        elite=3,
        days=20,
        warmup=5,
        validation_seeds=(11,),
        validate_every=1,
        theta0=th0,
    )
    start = evaluate_levels(NET, feature_levels(NET, th0), [11], 20, 5).mean()
    assert res.validation_cost <= start + 1e-9
    assert len(res.history) == 2
