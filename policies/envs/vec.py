"""stable-baselines3 ``VecEnv`` adapters over the batched NumPy environments.

Imported on demand (it pulls in stable-baselines3 and torch), never by ``policies.envs``
itself. Each copy of the batch is one sub-environment of the ``VecEnv``; all copies share
episode boundaries, so when an episode ends every ``info`` carries ``terminal_observation``
and ``TimeLimit.truncated=True`` (the episodes are truncated, not terminated). A finished
episode's ``info`` also carries ``episode = {"r": return, "l": length, "t": seconds}`` (what
stable-baselines3's ``Monitor`` adds), so training logs ``rollout/ep_rew_mean`` in
``progress.csv``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

__all__ = ["BatchedCore", "BatchedVecEnv", "make_pricing_vec_env", "make_replenishment_vec_env"]


class BatchedCore(Protocol):
    """What :class:`BatchedVecEnv` needs from a batched environment."""

    n: int

    def reset(self, seed: int | None = None) -> NDArray[np.float32]: ...

    def step(
        self, actions: NDArray[Any]
    ) -> tuple[
        NDArray[np.float32], NDArray[np.float32], Any, NDArray[np.float32], NDArray[np.float64]
    ]:
        """``(obs, rewards, done, terminal_obs, value)``; ``done`` is one bool for all copies
        (truncation) or a per-copy array (termination)."""
        ...


class BatchedVecEnv(VecEnv):
    """Expose a :class:`BatchedCore` as a stable-baselines3 ``VecEnv``.

    A scalar ``done`` from the core means every copy's episode was truncated by its length;
    an array means those copies terminated (e.g. sold out, horizon over).
    """

    def __init__(
        self,
        core: BatchedCore,
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        value_key: str = "cost",
    ) -> None:
        super().__init__(core.n, observation_space, action_space)
        self.core = core
        self._actions: NDArray[Any] = np.zeros(core.n, dtype=np.int64)
        self._seed: int | None = None
        self._key = value_key
        self._ep_return = np.zeros(core.n)
        self._ep_length = np.zeros(core.n, dtype=np.int64)
        self._t0 = time.monotonic()

    def reset(self) -> NDArray[np.float32]:
        seed, self._seed = self._seed, None
        self._ep_return[:] = 0.0
        self._ep_length[:] = 0
        return self.core.reset(seed)

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        self._seed = seed
        return [seed] * self.num_envs

    def step_async(self, actions: NDArray[Any]) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, over, terminal, values = self.core.step(self._actions)
        key = self._key
        infos: list[dict[str, Any]] = [{key: float(v)} for v in values]
        self._ep_return += rewards
        self._ep_length += 1
        if np.ndim(over) == 0:
            dones = np.full(self.num_envs, bool(over), dtype=bool)
            if over:
                for i, info in enumerate(infos):
                    info["terminal_observation"] = terminal[i]
                    info["TimeLimit.truncated"] = True
        else:
            dones = np.asarray(over, dtype=bool)
            for j in np.flatnonzero(dones).tolist():
                infos[j]["terminal_observation"] = terminal[j]
        if dones.any():
            elapsed = round(time.monotonic() - self._t0, 6)
            for j in np.flatnonzero(dones).tolist():
                infos[j]["episode"] = {
                    "r": float(self._ep_return[j]),
                    "l": int(self._ep_length[j]),
                    "t": elapsed,
                }
            self._ep_return[dones] = 0.0
            self._ep_length[dones] = 0
        return obs, rewards, dones, infos

    def close(self) -> None:
        return None

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self.core, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self.core, attr_name, value)

    def env_method(
        self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any
    ) -> list[Any]:
        return [getattr(self.core, method_name)(*args, **kwargs)] * len(self._indices(indices))

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper[Any, Any, Any, Any]], indices: Any = None
    ) -> list[bool]:
        return [False] * len(self._indices(indices))

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)


def make_replenishment_vec_env(
    n_envs: int, seed: int | None = None, **kwargs: Any
) -> BatchedVecEnv:
    """A ``VecEnv`` of ``n_envs`` replenishment copies (keyword arguments as
    :class:`~policies.envs.replenishment.BatchedReplenishment`)."""
    from policies.envs.replenishment import BatchedReplenishment, ReplenishmentEnv

    core = BatchedReplenishment(n_envs, seed=seed, **kwargs)
    single_kwargs = {k: v for k, v in kwargs.items() if k not in ("episode_length",)}
    single = ReplenishmentEnv(**single_kwargs)
    return BatchedVecEnv(core, single.observation_space, single.action_space)


def make_pricing_vec_env(n_envs: int, seed: int | None = None, **kwargs: Any) -> BatchedVecEnv:
    """A ``VecEnv`` of ``n_envs`` dynamic-pricing copies (keyword arguments as
    :class:`~policies.envs.pricing.PricingConfig`, plus ``explore_start``)."""
    from policies.envs.pricing import BatchedPricing, DynamicPricingEnv

    core = BatchedPricing(n_envs, seed=seed, **kwargs)
    single = DynamicPricingEnv(**{k: v for k, v in kwargs.items() if k != "explore_start"})
    return BatchedVecEnv(core, single.observation_space, single.action_space, value_key="revenue")
