"""The multi-echelon network env (``MultiEchelonReplenishment-v1``) and its batched kernel."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from gymnasium.utils.env_checker import check_env

import policies.envs  # noqa: F401
from policies.envs.multi_echelon_core import (
    NetworkConfig,
    NetworkKernel,
    TableSampler,
    build_network,
    demand_pmf,
    load_network_config,
)
from policies.envs.multi_echelon_v1 import NetworkEnv

SMALL = NetworkConfig(n_skus=12, n_warehouses=2, n_stores=5, catalog_seed=3)


def _random_orders(k: NetworkKernel, rng: np.random.Generator, scale: float) -> Any:
    mu = k.p.mean_demand[None]
    return rng.poisson(scale * mu, (k.n, k.L, k.N))


def test_stock_is_conserved_per_env_and_sku_over_a_long_random_run() -> None:
    p = build_network(SMALL)
    k = NetworkKernel(p, 3, seed=0)
    rng = np.random.default_rng(1)
    initial = p.initial_stock.sum(axis=0)  # (N,)
    sold = np.zeros((3, p.n_skus), dtype=np.int64)
    ordered_wh = np.zeros((3, p.n_skus), dtype=np.int64)
    for _ in range(200):
        res = k.step(_random_orders(k, rng, 2.0))
        sold += res.sku_sales
        ordered_wh += k.last_moved[:, : p.n_warehouses].sum(axis=1)
        W = p.n_warehouses
        # everything the supplier released is either received or still travelling
        assert np.array_equal(ordered_wh, k.received.sum(axis=1) + k.in_transit[:, :W].sum(axis=1))
        # stock entering the network = stock in it + stock sold
        inside = k.on_hand.sum(axis=1) + k.in_transit[:, W:].sum(axis=1)
        assert np.array_equal(initial + k.received.sum(axis=1), inside + sold)
        assert (k.on_hand >= 0).all() and (k.in_transit >= 0).all()
        assert np.array_equal(k.in_transit, k.pipeline_by_age().sum(axis=-1))


def test_capacities_are_never_exceeded_even_under_huge_orders() -> None:
    p = build_network(SMALL)
    k = NetworkKernel(p, 4, seed=2)
    rng = np.random.default_rng(3)
    W = p.n_warehouses
    cut = 0
    for _ in range(150):
        res = k.step(_random_orders(k, rng, 30.0))
        cut += int(res.truck_cut.sum() + res.supplier_cut.sum() + res.storage_cut.sum())
        vol = p.volume
        # storage: on-hand (and even on-hand + pipeline) volume within capacity
        assert ((k.on_hand + k.in_transit) @ vol <= p.storage_capacity + 1e-6).all()
        # trucks: volume dispatched per lane and day
        assert (k.last_moved @ vol <= p.truck_capacity + 1e-6).all()
        # supplier: units released per SKU and day, over all warehouses
        assert (k.last_moved[:, :W].sum(axis=1) <= p.supplier_capacity).all()
    assert cut > 0  # the limits were actually binding


def test_a_short_warehouse_ships_all_it_has_pro_rata_to_its_stores() -> None:
    cfg = dataclasses.replace(
        SMALL,
        n_warehouses=1,
        n_stores=4,
        outbound_truck_days=1e6,
        store_capacity_days=1e6,
        initial_days=0.0,
    )
    p = build_network(cfg)
    k = NetworkKernel(p, 1, seed=0)
    k.on_hand[0, 0] = 10  # the warehouse has 10 of every SKU, the stores nothing
    orders = np.zeros((1, k.L, k.N), dtype=np.int64)
    req = np.array([1, 3, 5, 8])  # 17 requested > 10 on hand
    orders[0, 1:] = req[:, None]
    orders = np.minimum(orders, p.max_order[None])
    res = k.step(orders)
    shipped = k.last_moved[0, 1:]  # (stores, SKUs)
    asked = orders[0, 1:]
    assert (asked.sum(axis=0) > 10).sum() >= 3  # most SKUs are short
    for n in range(k.N):
        a = asked[:, n]
        if a.sum() <= 10:
            assert np.array_equal(shipped[:, n], a)
        else:
            assert shipped[:, n].sum() == 10  # nothing held back
            assert (shipped[:, n] <= a).all()
            assert np.all(np.abs(shipped[:, n] - a * 10 / a.sum()) < 1.0)
    assert np.array_equal(k.on_hand[0, 0], 10 - shipped.sum(axis=0))
    assert res.rationed[0] == int(np.maximum(asked.sum(axis=0) - 10, 0).sum())


def test_same_seed_same_trajectory_and_different_seeds_differ() -> None:
    def run(seed: int) -> list[float]:
        env = gym.make("ShopSphere/MultiEchelonReplenishment-v1", config=SMALL)
        env.reset(seed=seed)
        action = np.full(env.action_space.shape, 0.1, dtype=np.float32)
        out = []
        for _ in range(30):
            obs, r, _, _, info = env.step(action)
            out += [r, info["demand"], float(obs.sum())]
        return out

    assert run(4) == run(4)
    assert run(4) != run(5)


def test_common_random_numbers_give_equal_copies_equal_outcomes() -> None:
    p = build_network(SMALL)
    k = NetworkKernel(p, 3, common_random_numbers=True, seed=9)
    orders = np.broadcast_to(np.rint(p.mean_demand), (3, k.L, k.N)).astype(np.int64)
    orders = orders.copy()
    orders[2] *= 2  # the third copy orders differently
    for _ in range(40):
        res = k.step(orders)
        assert res.cost[0] == res.cost[1]
        assert res.demand[0] == res.demand[2]  # demand does not depend on orders
    assert np.array_equal(k.on_hand[0], k.on_hand[1])


def test_network_env_passes_the_gymnasium_checker_and_reports_kpis() -> None:
    env = NetworkEnv(config=SMALL)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (SMALL.n_warehouses + SMALL.n_stores, SMALL.n_skus, 5 + env.kernel.H)
    _, reward, term, trunc, info = env.step(env.action_space.sample())
    assert reward == pytest.approx(-info["cost"] / env.reward_scale)
    assert not term and not trunc
    parts = info["holding"] + info["lost_penalty"] + info["fixed"] + info["transport"]
    assert info["cost"] == pytest.approx(parts)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3))


def test_network_config_round_trips_through_yaml_and_refuses_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(SMALL.to_dict()))
    assert load_network_config(path) == SMALL
    env = gym.make("ShopSphere/MultiEchelonReplenishment-v1", config_path=str(path), n_skus=4)
    assert env.action_space.shape == (SMALL.n_warehouses + SMALL.n_stores, 4)
    path.write_text(yaml.safe_dump({"n_skus": 3, "trucks": 2}))
    with pytest.raises(ValueError, match="trucks"):
        load_network_config(path)
    with pytest.raises(ValueError, match="n_stores"):
        NetworkConfig(n_warehouses=3, n_stores=2)
    with pytest.raises(ValueError, match="lead_pmf_inbound"):
        NetworkConfig(lead_pmf_inbound=(0.5, 0.4))


def test_lead_times_follow_the_configured_distribution() -> None:
    cfg = dataclasses.replace(SMALL, lead_min_outbound=2, lead_pmf_outbound=(0.25, 0.0, 0.75))
    p = build_network(cfg)
    k = NetworkKernel(p, 200, seed=1)
    W = p.n_warehouses
    k.on_hand[:, :W] = 10**6 // 1000  # plenty at the warehouses
    orders = np.zeros((k.n, k.L, k.N), dtype=np.int64)
    orders[:, W:, 0] = 1  # one unit of SKU 0 to every store
    k.step(orders)
    slots = k.pipeline_by_age()[:, W:, 0, :]  # (E, S, H): where the unit sits
    lead = slots.argmax(axis=-1) + 1  # slot j arrives j + 1 days after dispatch
    assert set(np.unique(lead).tolist()) <= {2, 4}
    share = float((lead == 4).mean())
    # 1000 lanes (each a Bernoulli(0.75) draw): 4 sd is 0.055
    assert abs(share - 0.75) < 0.055


@pytest.mark.parametrize(("mean", "disp"), [(0.3, 0.0), (2.0, 0.0), (4.0, 0.5), (25.0, 0.3)])
def test_table_sampler_matches_negative_binomial_moments(mean: float, disp: float) -> None:
    n = 200_000
    pmf = demand_pmf(np.array([mean]), np.array([disp]))
    x = TableSampler(pmf).sample(np.zeros(n, dtype=np.int64), np.random.default_rng(0).random(n))
    var = mean + disp * mean**2
    # 5 standard errors of the mean; the variance within 5 % (n = 200k)
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / n)
    assert abs(x.var() / var - 1.0) < 0.05
    k = np.arange(pmf.shape[1])
    assert pmf[0] @ k == pytest.approx(mean, rel=1e-9)


def test_v0_env_still_registered_next_to_v1() -> None:
    v0 = gym.make("ShopSphere/MultiEchelonReplenishment-v0", max_skus=4)
    v1 = gym.make("ShopSphere/MultiEchelonReplenishment-v1", n_skus=4, n_stores=2)
    assert v0.action_space.shape == (4,)
    assert v1.action_space.shape == (3, 4)


def test_observation_scales_by_expected_demand_and_uses_echelon_position_at_warehouses() -> None:
    from policies.envs.multi_echelon_v1 import observe_network, orders_from_action

    p = build_network(SMALL)
    k = NetworkKernel(p, 1, seed=0)
    k.step(np.rint(p.mean_demand)[None].astype(np.int64))
    obs = observe_network(k)[0]
    mu = p.mean_demand
    W = p.n_warehouses
    assert np.allclose(obs[..., 0], k.on_hand[0] / mu, rtol=1e-6)
    assert np.allclose(obs[:W, :, 2], k.echelon_position()[0] / mu[:W], rtol=1e-6)
    assert np.allclose(obs[W:, :, 3], k.last_demand[0] / mu[W:], rtol=1e-6)
    assert np.array_equal(orders_from_action(p, np.ones((k.L, k.N))), p.max_order)
    assert (orders_from_action(p, -np.ones((k.L, k.N))) == 0).all()
