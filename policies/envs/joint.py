"""``ShopSphere/JointPricingReplenishment-v0``: set a price and an order each period for one
SKU, with optional perishability (the kernel's FIFO age buckets and write-offs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from dynamics.demand import sample_demand
from dynamics.inventory import InventoryState, initial_state, inventory_step
from dynamics.price import exponential_rate
from policies.artifacts import ActionMapping

__all__ = [
    "JointConfig",
    "JointPricingReplenishmentEnv",
    "PositionPricePolicy",
    "simulate_joint_policies",
    "train_joint_policy",
]


@dataclass(frozen=True, slots=True)
class JointConfig:
    """Parameters of :class:`JointPricingReplenishmentEnv` (prices and costs in currency units)."""

    a: float = 10.0
    b: float = 0.4
    unit_cost: float = 2.0
    holding_cost: float = 0.1
    write_off_cost: float = 0.0
    lead_time: int = 1
    shelf_life: int | None = None
    n_prices: int = 11
    price_low: float = 2.0
    price_high: float = 10.0
    max_order: int = 16
    reward_scale: float = 10.0

    def __post_init__(self) -> None:
        if not (self.a > 0 and self.b > 0):
            raise ValueError(f"a and b must be > 0, got a={self.a}, b={self.b}")
        if self.lead_time < 0:
            raise ValueError(f"lead_time must be >= 0, got {self.lead_time}")
        if self.shelf_life is not None and self.shelf_life < 1:
            raise ValueError(f"shelf_life must be >= 1 or None, got {self.shelf_life}")
        if not 0 <= self.price_low < self.price_high:
            raise ValueError(
                f"need 0 <= price_low < price_high, got {self.price_low}, {self.price_high}"
            )
        if self.n_prices < 2 or self.max_order < 1:
            raise ValueError(
                f"n_prices >= 2 and max_order >= 1 required, got {self.n_prices}, {self.max_order}"
            )

    @property
    def prices(self) -> NDArray[np.float64]:
        return np.linspace(self.price_low, self.price_high, self.n_prices)

    @property
    def n_actions(self) -> int:
        return self.n_prices * (self.max_order + 1)

    @property
    def obs_dim(self) -> int:
        return 1 + self.lead_time + (self.shelf_life or 0)

    @property
    def obs_names(self) -> tuple[str, ...]:
        ages = tuple(f"on_hand_life_{k + 1}_units" for k in range(self.shelf_life or 0))
        pipe = tuple(f"pipeline_{j}_units" for j in range(self.lead_time))
        return ("on_hand_units", *pipe, *ages)

    def table(self) -> NDArray[np.float64]:
        """Action ``k`` -> ``(price, order_units)``: ``k = price_index * (max_order+1) + order``."""
        p, q = np.meshgrid(self.prices, np.arange(self.max_order + 1), indexing="ij")
        return np.column_stack([p.ravel(), q.ravel()])

    def action_mapping(self) -> ActionMapping:
        return ActionMapping(
            kind="discrete",
            decision_names=("price", "order_units"),
            decision_low=np.array([self.price_low, 0.0]),
            decision_high=np.array([self.price_high, float(self.max_order)]),
            table=self.table(),
        )

    def warm_start_action(self) -> int:
        """Price index nearest ``1/b + unit_cost`` with an order of its mean demand."""
        p_idx = int(np.argmin(np.abs(self.prices - (1.0 / self.b + self.unit_cost))))
        q = min(self.max_order, round(exponential_rate(float(self.prices[p_idx]), self.a, self.b)))
        return p_idx * (self.max_order + 1) + q


class JointPricingReplenishmentEnv(gym.Env[NDArray[np.float32], np.int64]):
    """One SKU: post a price and place an order every period; optional perishability.

    ## Description
    Each period the agent picks a price from a grid and an order quantity. The order arrives
    after ``lead_time`` periods (the kernel's timing). Demand is ``Poisson(a * exp(-b * price))``
    (the twin's exponential price response); unmet demand is lost. With ``shelf_life`` stock
    is issued oldest first and units reaching the end of their life are written off.

    ## Action Space
    ``Discrete(n_prices * (max_order + 1))``; action ``k`` posts ``prices[k // (max_order+1)]``
    and orders ``k % (max_order+1)`` units.

    ## Observation Space
    ``Box(0, inf, (1 + L + shelf_life,), float32)``: on-hand, the pipeline (``L`` slots,
    slot 0 arrives this period) and, if perishable, on-hand by remaining life (1..shelf_life).

    ## Rewards
    ``(price * sales - unit_cost * order - holding_cost * end_on_hand - write_off_cost *
    write_offs) / reward_scale``: the period's profit, scaled.

    ## Starting State
    On-hand uniform on ``0..max_order`` (fresh), empty pipeline.

    ## Episode End
    Never terminates; ``TimeLimit`` truncates (``max_episode_steps=365`` registered).

    ## Info
    ``price``, ``order``, ``demand``, ``sales``, ``lost``, ``write_offs``, ``profit``.

    ## Arguments
    ``a=10, b=0.4, unit_cost=2, holding_cost=0.1, write_off_cost=0, lead_time=1,
    shelf_life=None, n_prices=11, price_low=2, price_high=10, max_order=16, reward_scale=10``.

    ## Version History
    * v0: initial version.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, **kwargs: Any) -> None:
        self.config = c = JointConfig(**kwargs)
        self.action_space = spaces.Discrete(c.n_actions)
        self.observation_space = spaces.Box(0.0, np.inf, shape=(c.obs_dim,), dtype=np.float32)
        self._table = c.table()
        self._state: InventoryState = initial_state(1, c.lead_time, shelf_life=c.shelf_life)

    def _obs(self) -> NDArray[np.float32]:
        s = self._state
        parts = [s.on_hand, s.pipeline[0]]
        if s.age_stock is not None:
            parts.append(s.age_stock[0])
        return np.concatenate([np.atleast_1d(p) for p in parts]).astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        c = self.config
        start = int(self.np_random.integers(0, c.max_order + 1))
        self._state = initial_state(1, c.lead_time, on_hand=start, shelf_life=c.shelf_life)
        return self._obs(), {}

    def step(self, action: Any) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        k = int(action)
        if not 0 <= k < len(self._table):
            raise ValueError(f"action must be in 0..{len(self._table) - 1}, got {action}")
        c = self.config
        price, order = float(self._table[k, 0]), int(self._table[k, 1])
        demand = sample_demand(self.np_random, exponential_rate(price, c.a, c.b))
        self._state, res = inventory_step(
            self._state,
            order,
            demand,
            lost_sales=True,
            holding_cost=c.holding_cost,
            write_off_cost=c.write_off_cost,
            validate=False,
        )
        sales = int(res.sales[0])
        profit = price * sales - c.unit_cost * order - float(res.cost[0])
        info = {
            "price": price,
            "order": order,
            "demand": demand,
            "sales": sales,
            "lost": int(res.lost[0]),
            "write_offs": int(res.write_offs[0]),
            "profit": profit,
        }
        return self._obs(), profit / c.reward_scale, False, False, info


@dataclass(frozen=True, slots=True)
class PositionPricePolicy:
    """A simple joint policy on the inventory position ``x`` (on-hand after arrival plus
    pipeline): order ``clip(level - x, 0, max_order)`` units and post grid price index
    ``round(base + slope * (level - x))`` (clipped to the grid): a higher price when stock
    is short. ``level``, ``base`` and ``slope`` are real numbers (units, index, index/unit)."""

    level: float
    base: float
    slope: float

    def act(
        self, position: NDArray[np.int64], config: JointConfig
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """``(price_index, order)`` arrays for the ``position`` array (units)."""
        gap = self.level - position
        order = np.clip(np.ceil(gap), 0, config.max_order).astype(np.int64)
        idx = np.clip(np.rint(self.base + self.slope * gap), 0, config.n_prices - 1)
        return idx.astype(np.int64), order

    def tables(
        self, config: JointConfig, max_position: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """The policy as DP tables over the states of
        :class:`policies.exact.joint_dp.JointMDP` (``(y,)`` for L=1, ``(y, q1)`` for L=2),
        orders clipped so the position never passes ``max_position``."""
        y = np.arange(max_position + 1)
        pipeline = np.arange(config.max_order + 1)[None, :]
        pos = y if config.lead_time == 1 else y[:, None] + pipeline
        idx, order = self.act(pos, config)
        return idx, np.minimum(order, np.maximum(max_position - pos, 0))


def simulate_joint_policies(
    config: JointConfig,
    theta: NDArray[np.float64],
    seed: int,
    periods: int = 3000,
    warmup: int = 100,
) -> NDArray[np.float64]:
    """(E,) average profit per period of the :class:`PositionPricePolicy` copies whose
    ``(level, base, slope)`` are the rows of ``theta`` (E, 3), all on the same uniforms
    (common random numbers: each period's demand is the inverse CDF of one shared uniform at
    each copy's price), non-perishable, starting empty, with the env's timing."""
    from policies.envs.multi_echelon_sampling import TableSampler, demand_pmf

    if config.lead_time < 1 or config.shelf_life is not None:
        raise ValueError("simulate_joint_policies needs lead_time >= 1 and no shelf life")
    th = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    E, L = th.shape[0], config.lead_time
    lam = exponential_rate(config.prices, config.a, config.b)
    sampler = TableSampler(demand_pmf(lam, np.zeros_like(lam)))
    rng = np.random.default_rng(seed)
    u_all = rng.random(warmup + periods)
    prices = config.prices
    policy = PositionPricePolicy(th[:, 0], th[:, 1], th[:, 2])  # type: ignore[arg-type]
    y = np.zeros(E, dtype=np.int64)
    pend = np.zeros((E, L - 1), dtype=np.int64)  # orders arriving after next period
    total = np.zeros(E)
    for t in range(warmup + periods):
        idx, q = policy.act(y + pend.sum(axis=1), config)
        d = sampler.sample(idx, np.full(E, u_all[t]))
        z = y - np.minimum(y, d)
        if t >= warmup:
            total += prices[idx] * (y - z) - config.unit_cost * q - config.holding_cost * z
        if L == 1:
            y = z + q
        else:
            y = z + pend[:, 0]
            pend[:, :-1] = pend[:, 1:]
            pend[:, -1] = q
    return total / periods


def train_joint_policy(
    config: JointConfig,
    rng: np.random.Generator,
    generations: int = 25,
    population: int = 24,
    elite: int = 6,
    periods: int = 2000,
    validation_periods: int = 20_000,
) -> PositionPricePolicy:
    """Search for a :class:`PositionPricePolicy` on CRN simulations only (no exact oracle).

    1. Every static policy (one grid price, order-up-to levels ``0..2 max_order``) on one
       CRN simulation; the best is the starting point.
    2. The cross-entropy method over ``(level, base, slope)`` from there: each generation
       simulates the whole population on one fresh seed drawn from ``rng``.
    3. The final mean replaces the starting point only if it earns more on a separate,
       longer validation simulation.
    """
    levels = np.arange(0, 2 * config.max_order + 1, dtype=np.float64)
    lv, pi = np.meshgrid(levels, np.arange(config.n_prices, dtype=np.float64), indexing="ij")
    grid = np.column_stack([lv.ravel(), pi.ravel(), np.zeros(lv.size)])
    profit = simulate_joint_policies(config, grid, int(rng.integers(2**31)), periods)
    start = grid[int(np.argmax(profit))]
    mean, std = start.copy(), np.array([1.5, 1.0, 0.15])
    for _ in range(generations):
        pop = mean + std * rng.standard_normal((population, 3))
        pop[0] = mean
        cost = -simulate_joint_policies(config, pop, int(rng.integers(2**31)), periods)
        best = pop[np.argsort(cost)[:elite]]
        mean, std = best.mean(axis=0), np.maximum(best.std(axis=0), [0.05, 0.05, 0.01])
    val = simulate_joint_policies(
        config, np.stack([start, mean]), int(rng.integers(2**31)), validation_periods
    )
    chosen = mean if val[1] > val[0] else start
    return PositionPricePolicy(float(chosen[0]), float(chosen[1]), float(chosen[2]))
