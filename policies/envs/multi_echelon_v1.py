"""``ShopSphere/MultiEchelonReplenishment-v1``: a supplier, warehouses and stores, many SKUs,
an order decision per SKU and location, on the batched kernel
:class:`~policies.envs.multi_echelon_core.NetworkKernel`.

``-v0`` (:class:`policies.envs.multi_echelon.MultiEchelonEnv`, cover targets per location)
is kept unchanged for its users; ``-v1`` is the deeper network of issue 16.
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from policies.envs.multi_echelon_core import (
    NetworkConfig,
    NetworkKernel,
    NetworkParams,
    StepCosts,
    build_network,
    load_network_config,
)

__all__ = ["NetworkEnv", "observe_network", "orders_from_action"]

#: Per SKU-location observation features before the pipeline slots.
_BASE_FEATURES = ("on_hand", "in_transit", "position", "last_demand", "weekday")


def observe_network(kernel: NetworkKernel) -> NDArray[np.float32]:
    """(E, W+S, N, 5 + H) observations of every copy, in days of expected demand.

    Features per SKU-location: on-hand, in transit, inventory position (echelon position at
    warehouses), yesterday's demand (warehouses: their stores' total), the weekday (0..6)/6,
    then the pipeline by arrival slot (``H`` slots, slot 0 arrives at the next step).
    """
    p = kernel.p
    W = p.n_warehouses
    mu = np.maximum(p.mean_demand, 1e-6)[None]  # (1, L, N)
    pos = kernel.on_hand + kernel.in_transit
    pos = pos.astype(np.float64)
    pos[:, :W] = kernel.echelon_position()
    last = np.concatenate(
        [np.add.reduceat(kernel.last_demand, p.store_blocks(), axis=1), kernel.last_demand],
        axis=1,
    )
    wd = np.full(kernel.on_hand.shape, (kernel.day % 7) / 6.0)
    base = np.stack([kernel.on_hand / mu, kernel.in_transit / mu, pos / mu, last / mu, wd], -1)
    pipe = kernel.pipeline_by_age() / mu[..., None]
    return np.concatenate([base, pipe], axis=-1).astype(np.float32)


def orders_from_action(params: NetworkParams, action: NDArray[Any]) -> NDArray[np.int64]:
    """Box action in [0, 1] (..., W+S, N) -> orders ``round(a * max_order)`` in units."""
    a = np.clip(np.asarray(action, dtype=np.float64), 0.0, 1.0)
    return np.rint(a * params.max_order).astype(np.int64)


class NetworkEnv(gym.Env[NDArray[np.float32], NDArray[np.float32]]):
    """A supplier -> warehouses -> stores network with an order per SKU and location.

    ## Description
    ``N`` SKUs are stocked at ``W`` warehouses and ``S`` stores (a :class:`NetworkConfig`,
    from keyword arguments or a YAML file). Each day every location orders every SKU:
    warehouses from a supplier with a per-SKU daily capacity, stores from their warehouse,
    which rations its on-hand pro rata when the stores ask for more than it has. Shipments
    travel on trucks with a daily volume capacity per lane and a stochastic lead time; orders
    never raise a location's stock plus pipeline above its storage volume. Store demand is
    negative binomial with a weekly profile; unmet demand is lost. Timing and costs:
    :mod:`policies.envs.multi_echelon_core`.

    ## Action Space
    ``Box(0, 1, (W + S, N), float32)``: order ``round(a * max_order)`` units, where
    ``max_order`` is ``max_order_days`` of the location's expected (echelon) demand.

    ## Observation Space
    ``Box(0, inf, (W + S, N, 5 + H), float32)``: per SKU-location, in days of its expected
    demand: on-hand, in transit, position (echelon position at warehouses), yesterday's demand,
    the weekday/6, and the pipeline by arrival slot (``H = max lead + 1``).

    ## Rewards
    ``-cost / reward_scale`` per day: holding + lost-sales penalty + fixed truck costs +
    transport, in currency units, divided by the expected daily penalty if every unit of
    demand were lost.

    ## Starting State
    ``initial_days`` of expected demand everywhere, empty pipelines, weekday 0.

    ## Episode End
    Never terminates; ``TimeLimit`` truncates (``max_episode_steps=365`` registered).

    ## Info
    ``cost``, ``holding``, ``lost_penalty``, ``fixed``, ``transport``, ``demand``, ``sales``,
    ``lost``, ``rationed``, ``truck_cut``, ``supplier_cut``, ``storage_cut``, ``fill_rate``.

    ## Arguments
    ``config: NetworkConfig | None = None``, ``config_path: str | None = None`` (YAML), and any
    :class:`NetworkConfig` field as a keyword overriding either (default: 100 SKUs, one
    warehouse, 10 stores).

    ## Version History
    * v1: per-SKU per-location orders, supplier/storage/truck capacities, fixed and transport
      costs, stochastic lead times, rationing (issue 16). v0 is the cover-target env.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        config: NetworkConfig | None = None,
        config_path: str | Path | None = None,
        **overrides: Any,
    ) -> None:
        base = config or (load_network_config(config_path) if config_path else NetworkConfig())
        known = {f.name for f in fields(NetworkConfig)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown NetworkEnv arguments {unknown}")
        tup: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()
        }
        self.config = replace(base, **tup)
        self.params = build_network(self.config)
        self.kernel = NetworkKernel(self.params, 1)
        p = self.params
        L, N = p.n_locations, p.n_skus
        self.action_space = spaces.Box(0.0, 1.0, shape=(L, N), dtype=np.float32)
        self.observation_space = spaces.Box(
            0.0, np.inf, shape=(L, N, len(_BASE_FEATURES) + self.kernel.H), dtype=np.float32
        )
        self.reward_scale = float((p.mean_demand[p.n_warehouses :] * p.penalty).sum())

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the last observation axis."""
        return (*_BASE_FEATURES, *(f"pipeline_{j}" for j in range(self.kernel.H)))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        # the kernel draws from the env's generator: one Generator, seeded once by Gymnasium
        self.kernel.reset(rng=self.np_random)
        return observe_network(self.kernel)[0], {}

    def step(self, action: Any) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        a = np.asarray(action, dtype=np.float64)
        if a.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {a.shape}")
        res: StepCosts = self.kernel.step(orders_from_action(self.params, a)[None])
        info: dict[str, Any] = {
            name: float(getattr(res, name)[0])
            for name in ("cost", "holding", "lost_penalty", "fixed", "transport")
        }
        for name in ("demand", "sales", "lost", "rationed", "truck_cut", "supplier_cut"):
            info[name] = int(getattr(res, name)[0])
        info["storage_cut"] = int(res.storage_cut[0])
        info["fill_rate"] = 1.0 - info["lost"] / max(info["demand"], 1)
        obs = observe_network(self.kernel)[0]
        return obs, -info["cost"] / self.reward_scale, False, False, info
