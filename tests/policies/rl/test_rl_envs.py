"""Gymnasium environments: spec compliance, seeding, agreement with the shared kernel and with
the exact/kernel-based evaluation of the same policy."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import policies.envs
from dynamics.inventory import initial_state, inventory_step
from policies.envs.pricing import BatchedPricing, DynamicPricingEnv
from policies.envs.replenishment import BatchedReplenishment, ReplenishmentEnv

ALL_IDS = sorted(policies.envs.ENV_IDS)
SMALL: dict[str, dict[str, Any]] = {"ShopSphere/MultiEchelonReplenishment-v0": {"max_skus": 8}}


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_env_passes_gymnasium_env_checker(env_id: str) -> None:
    env = gym.make(env_id, **SMALL.get(env_id, {}))
    check_env(env.unwrapped, skip_render_check=True)
    assert env.spec is not None and env.spec.max_episode_steps is not None
    assert "## Version History" in (type(env.unwrapped).__doc__ or "")


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_reset_with_the_same_seed_replays_the_same_episode_and_another_seed_does_not(
    env_id: str,
) -> None:
    def rollout(seed: int) -> tuple[list[float], np.ndarray]:
        env = gym.make(env_id, **SMALL.get(env_id, {}))
        env.action_space.seed(123)
        obs, _ = env.reset(seed=seed)
        rewards, frames = [], [obs]
        for _ in range(30):
            obs, r, term, trunc, _ = env.step(env.action_space.sample())
            rewards.append(float(r))
            frames.append(obs)
            if term or trunc:
                obs, _ = env.reset()
        return rewards, np.concatenate(frames)

    r1, o1 = rollout(11)
    r2, o2 = rollout(11)
    r3, o3 = rollout(12)
    assert r1 == r2 and np.array_equal(o1, o2)
    assert r1 != r3 or not np.array_equal(o1, o3)


@pytest.mark.parametrize(("lost_sales", "lead_time"), [(True, 2), (False, 3), (True, 0)])
def test_single_env_steps_exactly_as_the_inventory_kernel(lost_sales: bool, lead_time: int) -> None:
    env = ReplenishmentEnv(
        lead_time=lead_time, lost_sales=lost_sales, penalty_cost=9.0, action_mode="order"
    )
    env.reset(seed=3)
    state = initial_state(1, lead_time, on_hand=env._on_hand, pipeline=np.array(env._pipeline))
    rng = np.random.default_rng(0)
    for _ in range(300):
        q = int(rng.integers(0, env.config.n_actions))
        obs, reward, _, _, info = env.step(q)
        state, res = inventory_step(
            state, q, info["demand"], lost_sales=lost_sales, holding_cost=1.0, penalty_cost=9.0
        )
        assert info["cost"] == pytest.approx(float(res.cost[0]))
        assert reward == pytest.approx(-float(res.cost[0]) / 5.0)
        net = state.on_hand - state.backorders
        if lead_time:
            expected = [
                net[0] + state.pipeline[0, 0],
                *state.pipeline[0, 1:],
                net[0] + state.pipeline[0].sum(),
            ]
        else:
            expected = [net[0], net[0]]
        np.testing.assert_array_equal(obs, np.asarray(expected, dtype=np.float32))


def test_batched_env_matches_single_env_observation_and_action_semantics() -> None:
    batch = BatchedReplenishment(64, penalty_cost=9.0, lead_time=2, seed=5)
    obs = batch.reset()
    single = ReplenishmentEnv(penalty_cost=9.0, lead_time=2)
    assert obs.shape == (64, single.config.obs_dim)
    assert batch.n_actions == single.config.n_actions
    levels = np.full(64, 19)
    before = batch.state
    obs2, rewards, over, _, costs = batch.step(levels)
    orders = np.clip(19 - before.inventory_position, 0, single.config.order_cap)
    np.testing.assert_array_equal(batch.state.pipeline[:, -1], orders)
    np.testing.assert_allclose(rewards, -costs / 5.0, rtol=1e-6)
    assert not over and np.all(obs2[:, 0] >= 0)


def test_batched_demand_sampler_is_poisson_with_the_right_mean_and_variance() -> None:
    batch = BatchedReplenishment(4000, demand_mean=5.0, seed=1)
    batch.reset()
    d = np.concatenate([batch._demand() for _ in range(20)])
    # sample of 80,000: standard errors 0.008 (mean) and 0.04 (variance); 5 sigma bounds
    assert abs(d.mean() - 5.0) < 0.04
    assert abs(d.var() - 5.0) < 0.2


def test_env_average_cost_agrees_with_exact_and_kernel_simulation_for_capped_base_stock() -> None:
    """The Gymnasium env, the kernel-based simulator (policies.evaluate) and the exact Markov
    chain give the same long-run cost for capped base-stock (S=19, cap=6, p=9, L=2)."""
    from policies.evaluate import evaluate
    from policies.exact.demand import poisson_demand
    from policies.exact.dp import InventoryMDP
    from policies.replenishment import CappedBaseStock
    from policies.replenishment.base_stock import evaluate_base_stock

    mdp = InventoryMDP(poisson_demand(5.0), 2, 1.0, 9.0, lost_sales=True)
    exact = evaluate_base_stock(mdp, 19, 6)
    env = gym.make(
        "ShopSphere/Replenishment-v0",
        penalty_cost=9.0,
        lead_time=2,
        action_mode="order",
        max_episode_steps=None,
    )
    obs, _ = env.reset(seed=0)
    batches, per_batch, warm = 20, 1000, 200
    costs, demand, sales = [], 0, 0
    for t in range(warm + batches * per_batch):
        q = int(min(max(19 - obs[-1], 0), 6))
        obs, _, _, _, info = env.step(q)
        if t >= warm:
            costs.append(info["cost"])
            demand += info["demand"]
            sales += info["sales"]
    means = np.asarray(costs).reshape(batches, per_batch).mean(axis=1)
    # tolerance from the run: 4.5 standard errors of the batch means (false alarm ~1e-5)
    tol = 4.5 * means.std(ddof=1) / math.sqrt(batches)
    assert abs(means.mean() - exact.average_cost) < tol
    assert abs(sales / demand - exact.fill_rate) < 0.01
    kernel = evaluate(CappedBaseStock(19, 6), mdp, periods=20_000, seed=1)
    kernel_hw = (kernel.ci_high - kernel.ci_low) / 2
    assert abs(means.mean() - kernel.average_cost) < tol + 1.5 * kernel_hw


@pytest.mark.slow
def test_vec_env_trains_with_ppo_on_a_tiny_budget() -> None:
    from stable_baselines3 import PPO

    from policies.envs.vec import make_pricing_vec_env, make_replenishment_vec_env

    for venv in (
        make_replenishment_vec_env(4, seed=0, lead_time=1),
        make_pricing_vec_env(4, seed=0),
    ):
        model = PPO(
            "MlpPolicy",
            venv,
            n_steps=16,
            batch_size=32,
            n_epochs=1,
            seed=0,
            policy_kwargs={"net_arch": [16]},
            verbose=0,
        )
        model.learn(64)
        assert model.num_timesteps >= 64


def test_pricing_env_revenue_and_stock_are_consistent() -> None:
    env = DynamicPricingEnv(stock=5, horizon=50, a=3.0, b=0.5)
    env.reset(seed=0)
    sold, revenue, done = 0, 0.0, False
    while not done:
        obs, r, done, _, info = env.step(0)  # price 0: sells out fast
        sold += info["sales"]
        revenue += r
    assert sold == 5 and obs[0] == 0.0 and revenue == 0.0
    batch = BatchedPricing(16, seed=0, stock=5, horizon=3)
    batch.reset()
    for _ in range(3):
        obs, _, _, _, _ = batch.step(np.full(16, 10))
    assert np.all(obs >= 0) and np.all(obs <= 1)


def test_joint_env_with_perishability_writes_off_expired_stock() -> None:
    env = gym.make(
        "ShopSphere/JointPricingReplenishment-v0",
        shelf_life=2,
        lead_time=0,
        price_high=100.0,
        price_low=90.0,
    )
    env.reset(seed=0)
    u: Any = env.unwrapped
    top = u.action_space.n - 1  # highest price (no demand in practice), largest order
    total_written = 0
    for _ in range(6):
        _, _, _, _, info = env.step(top)
        total_written += info["write_offs"]
    assert total_written > 0


def test_multi_echelon_env_respects_truck_capacity_and_reports_kpis() -> None:
    env = gym.make("ShopSphere/MultiEchelonReplenishment-v0", max_skus=20, truck_capacity_units=30)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.ones(env.action_space.shape, dtype=np.float32))
    unwrapped: Any = env.unwrapped
    assert info["shipped"] <= 30 * unwrapped.n_stores
    assert info["truck_limited"] > 0
    assert 0.0 <= info["fill_rate"] <= 1.0


def test_multi_echelon_env_takes_a_plain_network_and_its_events_raise_demand() -> None:
    import dataclasses

    from dynamics.demand import DemandEvent
    from policies.envs.multi_echelon import MultiEchelonEnv, synthetic_network

    net = synthetic_network(n_skus=6, n_stores=2, seed=1)
    surge = dataclasses.replace(
        net, events=(DemandEvent(start_day=0.0, end_day=400.0, multiplier=3.0, name="surge"),)
    )
    calm = dataclasses.replace(net, events=())
    env_surge, env_calm = MultiEchelonEnv(surge, max_skus=6), MultiEchelonEnv(calm, max_skus=6)
    assert env_surge.n_stores == 2 and env_surge.observation_space.shape == (16,)
    obs_surge, _ = env_surge.reset(seed=0)
    obs_calm, _ = env_calm.reset(seed=0)
    # the last observation is today's demand relative to a typical day: x3 under the event
    assert obs_surge[-1] == pytest.approx(3.0 * obs_calm[-1], rel=1e-6)
    with pytest.raises(ValueError, match="store_columns"):
        dataclasses.replace(net, store_columns=np.array([5]))
