"""Shared fixtures of the RL tests: one tiny trained PPO model per session (a few seconds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest


@dataclass
class Trained:
    model: Any
    venv: Any
    env_kwargs: dict[str, Any]


@pytest.fixture(scope="session")
def tiny_ppo() -> Trained:
    """PPO on Replenishment-v0 (p=9, L=2), 512 steps, net_arch [16], VecNormalize on."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from policies.envs.vec import make_replenishment_vec_env

    torch.set_num_threads(1)
    kwargs = {"penalty_cost": 9.0, "lead_time": 2}
    venv = VecNormalize(
        make_replenishment_vec_env(8, seed=0, episode_length=50, **kwargs),
        norm_obs=True,
        norm_reward=False,
    )
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=32,
        batch_size=64,
        n_epochs=2,
        seed=0,
        policy_kwargs={"net_arch": [16]},
        verbose=0,
    )
    with torch.no_grad():  # the training code's warm start: logits centred on level 20
        head: Any = model.policy.action_net
        k = torch.arange(head.out_features, dtype=torch.float32)
        head.bias.copy_(-((k - 20.0) ** 2) / 18.0)
    model.learn(512)
    return Trained(model, venv, kwargs)


@pytest.fixture(scope="session")
def observations() -> np.ndarray:
    """10,000 replenishment observations (L=2) from random states."""
    rng = np.random.default_rng(7)
    xs = rng.integers(0, 40, size=(10_000, 2))
    return np.column_stack([xs, xs.sum(axis=1)]).astype(np.float32)
