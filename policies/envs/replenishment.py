"""``ShopSphere/Replenishment-v0``: one SKU, periodic review, lost sales or backorders.

The dynamics are the twin's shared inventory kernel (:mod:`dynamics.inventory`):
:func:`~dynamics.inventory.scalar_step` for the single env, and
:func:`~dynamics.inventory.inventory_step` for the batched env
(:class:`BatchedReplenishment`), with the timing and costs of the exact solvers in
``policies.exact`` so a learned policy's cost is directly comparable with the DP optimum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from dynamics.demand import (
    poisson_cdf_table,
    sample_demand,
    sample_demand_from_table,
    sample_demand_periods,
)
from dynamics.inventory import initial_state, inventory_step, scalar_step
from policies.artifacts import ActionMapping

__all__ = ["BatchedReplenishment", "ReplenishmentConfig", "ReplenishmentEnv", "observation_batch"]

_DEMAND_BLOCK = 2048
_BATCH_BLOCK = 16


@dataclass(frozen=True, slots=True)
class ReplenishmentConfig:
    """Parameters of a single-SKU replenishment instance (see :class:`ReplenishmentEnv`)."""

    demand_mean: float = 5.0
    lead_time: int = 2
    holding_cost: float = 1.0
    penalty_cost: float = 9.0
    lost_sales: bool = True
    max_order: int | None = None
    reward_scale: float | None = None
    demand_rates: tuple[float, ...] | None = None
    action_mode: str = "order_up_to"

    def __post_init__(self) -> None:
        if not self.demand_mean > 0:
            raise ValueError(f"demand_mean must be > 0, got {self.demand_mean}")
        if self.lead_time < 0:
            raise ValueError(f"lead_time must be >= 0, got {self.lead_time}")
        if self.holding_cost < 0 or self.penalty_cost < 0:
            raise ValueError(
                f"costs must be >= 0, got holding {self.holding_cost}, penalty {self.penalty_cost}"
            )
        if self.max_order is not None and self.max_order < 1:
            raise ValueError(f"max_order must be >= 1, got {self.max_order}")
        if self.action_mode not in ("order", "order_up_to"):
            raise ValueError(
                f"action_mode must be 'order' or 'order_up_to', got {self.action_mode!r}"
            )
        if self.demand_rates is not None and (not self.demand_rates or min(self.demand_rates) < 0):
            raise ValueError(f"demand_rates must be non-empty and >= 0, got {self.demand_rates}")

    @property
    def peak_mean(self) -> float:
        """Largest mean demand per period."""
        return max(self.demand_rates) if self.demand_rates else self.demand_mean

    @property
    def order_cap(self) -> int:
        """Largest order in units (default ``ceil(mean + 5 sqrt(mean))``)."""
        peak = self.peak_mean
        default = math.ceil(peak + 5.0 * math.sqrt(peak))
        return self.max_order if self.max_order is not None else default

    @property
    def n_actions(self) -> int:
        """``order``: quantities ``0..order_cap``; ``order_up_to``: levels ``0..S_max`` with
        ``S_max = ceil(m + 6 sqrt(m))``, ``m = (L + 1) * mean`` (or ``max_order`` levels
        above the lead-time demand when ``max_order`` is set)."""
        if self.action_mode == "order":
            return self.order_cap + 1
        m = (self.lead_time + 1) * self.peak_mean
        return math.ceil(m + 6.0 * math.sqrt(m)) + 1

    @property
    def scale(self) -> float:
        """Costs are divided by this in the reward (default: the mean demand)."""
        return self.reward_scale if self.reward_scale is not None else self.demand_mean

    def warm_start_action(self) -> int:
        """A sensible first action: the critical-fractile base-stock level (order-up-to mode)
        or the mean demand (order mode)."""
        if self.action_mode == "order":
            return min(round(self.peak_mean), self.n_actions - 1)
        from policies.replenishment.base_stock import critical_fractile_level

        level = critical_fractile_level(
            self.peak_mean, self.lead_time, self.holding_cost, self.penalty_cost
        )
        return min(level, self.n_actions - 1)

    def action_mapping(self) -> ActionMapping:
        """How an exported policy turns this env's actions into order units."""
        table = np.arange(self.n_actions, dtype=np.float64)[:, None]
        return ActionMapping(
            kind="discrete",
            decision_names=("order_units",),
            decision_low=np.zeros(1),
            decision_high=np.array([float(self.order_cap)]),
            table=table,
            integer=True,
            relative_obs_index=self.obs_dim - 1 if self.action_mode == "order_up_to" else None,
        )

    @property
    def obs_dim(self) -> int:
        """``L + 1`` (``2`` when ``L = 0``)."""
        return max(self.lead_time, 1) + 1

    @property
    def obs_names(self) -> tuple[str, ...]:
        """Observation components, in order."""
        pipe = tuple(f"pipeline_{j}_units" for j in range(1, self.lead_time))
        return ("available_units", *pipe, "inventory_position_units")


def observation_batch(net_stock: NDArray[Any], pipeline: NDArray[Any]) -> NDArray[np.float32]:
    """Observations ``(n, obs_dim)`` from net stock ``(n,)`` and pipeline ``(n, L)`` (the
    kernel's state before ordering): ``[x, pipeline_1..pipeline_{L-1}, inventory_position]``
    with ``x = net_stock + pipeline_0`` (stock available this period, the DP's state)."""
    n, L = pipeline.shape
    out = np.empty((n, max(L, 1) + 1), dtype=np.float32)
    x = net_stock + pipeline[:, 0] if L else net_stock
    out[:, 0] = x
    ip = x
    for j in range(1, L):
        col = pipeline[:, j]
        out[:, j] = col
        ip = ip + col
    out[:, -1] = ip
    return out


class ReplenishmentEnv(gym.Env[NDArray[np.float32], np.int64]):
    """One SKU under periodic review with lead time, lost sales or backorders.

    ## Description
    Each period (a day) the agent orders units from a supplier with a fixed lead time ``L``.
    An order placed at the start of period ``t`` arrives at the start of ``t + L``, before that
    period's demand. Demand is Poisson (mean ``demand_mean``, or a repeating profile
    ``demand_rates``); unmet demand is lost or backordered. Holding is charged per unit of
    end-of-period on-hand, the penalty per lost unit (or per backordered unit per period),
    exactly as in ``policies.exact`` and ``dynamics.inventory``.

    ## Action Space
    ``Discrete(n)``. With ``action_mode="order_up_to"`` (default) action ``a`` is an
    order-up-to level: the order is ``min(max(a - inventory_position, 0), order_cap)`` units,
    ``a`` in ``0..ceil(m + 6 sqrt(m))`` with ``m = (L + 1) * demand_mean`` (every order
    quantity is reachable from every state, and a random policy keeps stock bounded, which
    makes exploration cheap). With ``action_mode="order"`` the action is the order quantity
    itself, ``0..order_cap`` with ``order_cap = max_order or ceil(mean + 5 sqrt(mean))``.

    ## Observation Space
    ``Box(0, inf, (L + 1,), float32)`` (``(2,)`` when ``L = 0``): ``[available, pipeline_1,
    ..., pipeline_{L-1}, inventory_position]`` in units, at the start of the period before
    ordering. ``available`` is on-hand plus this period's arrival (the state ``x`` of the DP
    in ``policies.exact``), ``pipeline_j`` arrives ``j`` periods from now, and the inventory
    position is on-hand + pipeline (- backorders). With backorders, ``available`` and the
    position are net of backorders (negative allowed: low bound ``-inf``).

    ## Rewards
    ``-cost / reward_scale`` where ``cost = holding_cost * end_on_hand + penalty_cost *
    lost`` (backorders: ``penalty_cost * end_backorders``) and ``reward_scale`` defaults to
    ``demand_mean`` (rewards of order -1 train well with PPO).

    ## Starting State
    On-hand uniform on ``0..round(demand_mean * (L + 1))``; each pipeline slot Poisson with
    the demand mean; all from the generator seeded by ``reset(seed=...)``.

    ## Episode End
    Never terminates (an infinite-horizon average-cost problem); truncation is left to
    ``TimeLimit`` (``max_episode_steps=500`` in the registered id).

    ## Info
    ``cost``, ``holding_cost``, ``penalty_cost``, ``demand``, ``sales``, ``lost`` (lost sales
    or new backorders), ``arrivals``, ``order`` (units).

    ## Arguments
    ``demand_mean=5.0, lead_time=2, holding_cost=1.0, penalty_cost=9.0, lost_sales=True,
    max_order=None, reward_scale=None, demand_rates=None, action_mode="order_up_to"`` (see
    :class:`ReplenishmentConfig`).

    ## Version History
    * v0: initial version.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, **kwargs: Any) -> None:
        rates = kwargs.pop("demand_rates", None)
        self.config = ReplenishmentConfig(
            **kwargs, demand_rates=tuple(float(r) for r in rates) if rates is not None else None
        )
        c = self.config
        self._L = c.lead_time
        self.action_space = spaces.Discrete(c.n_actions)
        low = 0.0 if c.lost_sales else -np.inf
        lows = np.full(c.obs_dim, 0.0, dtype=np.float32)
        lows[0] = lows[-1] = low
        self.observation_space = spaces.Box(lows, np.inf, shape=(c.obs_dim,), dtype=np.float32)
        self._h, self._p, self._inv_scale = c.holding_cost, c.penalty_cost, 1.0 / c.scale
        self._n = c.n_actions
        self._cap = c.order_cap
        self._up_to = c.action_mode == "order_up_to"
        self._rates = np.asarray(c.demand_rates, dtype=np.float64) if c.demand_rates else None
        self._on_hand = 0
        self._backorders = 0
        self._pipeline: list[int] = [0] * self._L
        self._t = 0
        self._demand: list[int] = []
        self._k = _DEMAND_BLOCK

    def _draw_demand(self) -> None:
        if self._rates is None:
            block = sample_demand_periods(self.np_random, self.config.demand_mean, _DEMAND_BLOCK)
        else:
            idx = (self._t + np.arange(_DEMAND_BLOCK)) % len(self._rates)
            block = sample_demand(self.np_random, self._rates[idx])
        self._demand = block.tolist()
        self._k = 0

    def _obs(self) -> NDArray[np.float32]:
        net = self._on_hand - self._backorders
        pipe = self._pipeline
        if not pipe:
            return np.array([net, net], dtype=np.float32)
        return np.array([net + pipe[0], *pipe[1:], net + sum(pipe)], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        c = self.config
        rng = self.np_random
        self._on_hand = int(rng.integers(0, round(c.demand_mean * (self._L + 1)) + 1))
        self._backorders = 0
        self._pipeline = [int(x) for x in rng.poisson(c.demand_mean, self._L)]
        self._t = 0
        self._draw_demand()
        return self._obs(), {}

    def step(self, action: Any) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        a = int(action)
        if not 0 <= a < self._n:
            raise ValueError(f"action must be in 0..{self._n - 1}, got {action}")
        if self._up_to:
            ip = self._on_hand - self._backorders + sum(self._pipeline)
            order = a - ip if a > ip else 0
            if order > self._cap:
                order = self._cap
        else:
            order = a
        if self._k >= _DEMAND_BLOCK:
            self._draw_demand()
        demand = self._demand[self._k]
        self._k += 1
        self._t += 1
        on_hand, bo, arrivals, sales, short, cost = scalar_step(
            self._on_hand,
            self._pipeline,
            self._backorders,
            order,
            demand,
            self.config.lost_sales,
            self._h,
            self._p,
        )
        self._on_hand, self._backorders = on_hand, bo
        info = {
            "cost": cost,
            "holding_cost": self._h * on_hand,
            "penalty_cost": cost - self._h * on_hand,
            "demand": demand,
            "sales": sales,
            "lost": short,
            "arrivals": arrivals,
            "order": order,
        }
        return self._obs(), -cost * self._inv_scale, False, False, info


class BatchedReplenishment:
    """``n`` independent copies of :class:`ReplenishmentEnv` (or ``n`` SKU-locations) stepped
    together in NumPy with :func:`dynamics.inventory.inventory_step`.

    Per-copy parameters (``demand_mean``, ``holding_cost``, ``penalty_cost``) may be scalars
    or arrays of shape ``(n,)``; the lead time is shared. Episodes of ``episode_length``
    periods end together; :meth:`step` then resets every copy (VecEnv semantics) and returns
    the terminal observations separately. :class:`policies.envs.vec.ReplenishmentVecEnv`
    wraps this as a stable-baselines3 ``VecEnv``.
    """

    def __init__(
        self,
        n: int,
        *,
        demand_mean: float | Sequence[float] | NDArray[np.float64] = 5.0,
        lead_time: int = 2,
        holding_cost: float | NDArray[np.float64] = 1.0,
        penalty_cost: float | NDArray[np.float64] = 9.0,
        lost_sales: bool = True,
        max_order: int | None = None,
        reward_scale: float | None = None,
        episode_length: int = 500,
        action_mode: str = "order_up_to",
        seed: int | None = None,
    ) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if episode_length < 1:
            raise ValueError(f"episode_length must be >= 1, got {episode_length}")
        mean = np.broadcast_to(np.asarray(demand_mean, dtype=np.float64), (n,)).copy()
        if (mean <= 0).any():
            raise ValueError(f"demand_mean must be > 0, got min {mean.min()}")
        self.config = ReplenishmentConfig(
            demand_mean=float(mean.max()),
            lead_time=lead_time,
            holding_cost=float(np.max(holding_cost)),
            penalty_cost=float(np.max(penalty_cost)),
            lost_sales=lost_sales,
            max_order=max_order,
            reward_scale=reward_scale,
            action_mode=action_mode,
        )
        self.n = n
        self.mean = mean
        self.h = np.broadcast_to(np.asarray(holding_cost, np.float64), (n,)).copy()
        self.p = np.broadcast_to(np.asarray(penalty_cost, np.float64), (n,)).copy()
        self.inv_scale = 1.0 / (reward_scale if reward_scale is not None else mean)
        self.lost_sales = lost_sales
        self.episode_length = episode_length
        self.n_actions = self.config.n_actions
        self.obs_dim = self.config.obs_dim
        self.rng = np.random.default_rng(seed)
        self.t = 0
        self.state = initial_state(n, lead_time)
        # One mean for all copies: sample Poisson demand by inverse CDF on a table, in blocks
        # of periods (several times faster than Generator.poisson for small means).
        self._cdf: NDArray[np.float64] | None = None
        if np.all(mean == mean[0]):
            self._cdf = poisson_cdf_table(float(mean[0]))
        self._block: NDArray[np.int64] = np.empty((0, n), dtype=np.int64)
        self._k = 0

    def _demand(self) -> NDArray[np.int64]:
        if self._cdf is None:
            return sample_demand(self.rng, self.mean)
        if self._k >= self._block.shape[0]:
            self._block = sample_demand_from_table(self.rng, self._cdf, (_BATCH_BLOCK, self.n))
            self._k = 0
        self._k += 1
        out: NDArray[np.int64] = self._block[self._k - 1]
        return out

    def reset(self, seed: int | None = None) -> NDArray[np.float32]:
        """Reset every copy (a new generator when ``seed`` is given); returns ``(n, obs_dim)``."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        L = self.config.lead_time
        top = np.round(self.mean * (L + 1)).astype(np.int64)
        on_hand = np.floor(self.rng.random(self.n) * (top + 1)).astype(np.int64)
        pipe = self.rng.poisson(self.mean[:, None], (self.n, L))
        self.state = initial_state(self.n, L, on_hand=on_hand, pipeline=pipe)
        self.t = 0
        self._block = np.empty((0, self.n), dtype=np.int64)
        return self.observe()

    def observe(self) -> NDArray[np.float32]:
        """Observations ``(n, obs_dim)`` as :func:`observation_batch`."""
        return observation_batch(self.state.on_hand - self.state.backorders, self.state.pipeline)

    def step(
        self, actions: NDArray[Any]
    ) -> tuple[
        NDArray[np.float32], NDArray[np.float32], bool, NDArray[np.float32], NDArray[np.float64]
    ]:
        """Advance all copies one period with ``actions`` (``(n,)`` ints, as the single env's).

        Returns:
            ``(obs, rewards, episode_over, terminal_obs, costs)``; when ``episode_over`` the
            copies were reset and ``obs`` is the new episode's first observation.
        """
        a = np.asarray(actions, dtype=np.int64)
        if self.config.action_mode == "order_up_to":
            s = self.state
            ip = s.on_hand - s.backorders if not self.lost_sales else s.on_hand
            for j in range(s.pipeline.shape[1]):
                ip = ip + s.pipeline[:, j]
            q = np.clip(a - ip, 0, self.config.order_cap)
        else:
            q = np.clip(a, 0, self.config.order_cap)
        demand = self._demand()
        self.state, res = inventory_step(
            self.state,
            q,
            demand,
            lost_sales=self.lost_sales,
            holding_cost=self.h,
            penalty_cost=self.p,
            validate=False,
        )
        self.t += 1
        rewards = (-res.cost * self.inv_scale).astype(np.float32)
        obs = self.observe()
        if self.t >= self.episode_length:
            return self.reset(), rewards, True, obs, res.cost
        return obs, rewards, False, obs, res.cost
