"""``ShopSphere/DynamicPricing-v0``: sell a fixed stock over a finite horizon, price as action.

Demand is the model of ``policies.pricing.dynamic`` (and of the twin's price response):
``D ~ Poisson(a * exp(-b * price))`` per period, sales ``min(D, stock)``, revenue
``price * sales``; unsold stock is worth nothing at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from dynamics.demand import sample_demand
from dynamics.price import exponential_rate
from policies.artifacts import ActionMapping

__all__ = ["BatchedPricing", "DynamicPricingEnv", "PricingConfig"]


@dataclass(frozen=True, slots=True)
class PricingConfig:
    """Parameters of a dynamic-pricing instance (see :class:`DynamicPricingEnv`)."""

    stock: int = 20
    horizon: int = 20
    a: float = 3.0
    b: float = 0.5
    price_low: float = 0.0
    price_high: float | None = None
    n_prices: int = 41
    reward_scale: float | None = None

    def __post_init__(self) -> None:
        if self.stock < 1 or self.horizon < 1:
            raise ValueError(f"stock and horizon must be >= 1, got {self.stock}, {self.horizon}")
        if not (self.a > 0 and self.b > 0):
            raise ValueError(f"a and b must be > 0, got a={self.a}, b={self.b}")
        if self.n_prices < 2:
            raise ValueError(f"n_prices must be >= 2, got {self.n_prices}")
        if self.price_high is not None and not self.price_high > self.price_low >= 0:
            raise ValueError(
                f"need 0 <= price_low < price_high, got {self.price_low}, {self.price_high}"
            )

    @property
    def high(self) -> float:
        """Highest price: ``price_high`` or ``1/b + ln(a)/b`` (where demand is ~1 per period)
        plus ``3/b``, above any optimal price of the instance."""
        if self.price_high is not None:
            return self.price_high
        return max(self.price_low + 1.0 / self.b, (1.0 + max(math.log(self.a), 0.0) + 3.0) / self.b)

    @property
    def prices(self) -> NDArray[np.float64]:
        """The discrete price grid (action ``k`` posts ``prices[k]``)."""
        return np.linspace(self.price_low, self.high, self.n_prices)

    @property
    def n_actions(self) -> int:
        return self.n_prices

    @property
    def scale(self) -> float:
        """Rewards are revenue divided by this (default ``1/b``, the unconstrained optimal
        price)."""
        return self.reward_scale if self.reward_scale is not None else 1.0 / self.b

    @property
    def obs_names(self) -> tuple[str, ...]:
        return ("stock_left_fraction", "periods_left_fraction")

    def warm_start_action(self) -> int:
        """Grid index nearest the run-out price ``max(1/b, ln(a T / C) / b)``."""
        runout = math.log(self.a * self.horizon / self.stock) / self.b
        return int(np.argmin(np.abs(self.prices - max(1.0 / self.b, runout))))

    def action_mapping(self) -> ActionMapping:
        return ActionMapping(
            kind="discrete",
            decision_names=("price",),
            decision_low=np.array([self.price_low]),
            decision_high=np.array([self.high]),
            table=self.prices[:, None],
        )


class DynamicPricingEnv(gym.Env[NDArray[np.float32], np.int64]):
    """Price a fixed stock over a finite horizon.

    ## Description
    The seller starts with ``stock`` units and ``horizon`` periods. Each period it posts one
    price from a grid; demand is ``Poisson(a * exp(-b * price))``, sales are
    ``min(demand, stock_left)`` and revenue is ``price * sales``. Leftover stock is worthless.
    The optimum is ``policies.pricing.dynamic.solve_dynamic_pricing``.

    ## Action Space
    ``Discrete(n_prices)``: index into ``linspace(price_low, price_high, n_prices)``.

    ## Observation Space
    ``Box(0, 1, (2,), float32)``: ``[stock_left / stock, periods_left / horizon]``.

    ## Rewards
    ``price * sales / reward_scale`` (default scale ``1/b``), so an episode's return times the
    scale is the revenue.

    ## Starting State
    Full stock and horizon (``options={"stock": x}`` starts with ``x`` units instead; used
    for exploration of all stock levels in training).

    ## Episode End
    Terminates when the horizon is over or the stock is sold out.

    ## Info
    ``price``, ``demand``, ``sales``, ``revenue``, ``stock_left``.

    ## Arguments
    ``stock=20, horizon=20, a=3.0, b=0.5, price_low=0.0, price_high=None, n_prices=41,
    reward_scale=None`` (see :class:`PricingConfig`).

    ## Version History
    * v0: initial version.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, **kwargs: Any) -> None:
        self.config = PricingConfig(**kwargs)
        self.action_space = spaces.Discrete(self.config.n_prices)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self._prices = self.config.prices.tolist()
        self._x = self.config.stock
        self._n = self.config.horizon

    def _obs(self) -> NDArray[np.float32]:
        c = self.config
        return np.array([self._x / c.stock, self._n / c.horizon], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        start = (options or {}).get("stock", self.config.stock)
        if not 0 <= int(start) <= self.config.stock:
            raise ValueError(f"options['stock'] must be in 0..{self.config.stock}, got {start}")
        self._x, self._n = int(start), self.config.horizon
        return self._obs(), {}

    def step(self, action: Any) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        k = int(action)
        if not 0 <= k < len(self._prices):
            raise ValueError(f"action must be in 0..{len(self._prices) - 1}, got {action}")
        price = self._prices[k]
        c = self.config
        demand = sample_demand(self.np_random, exponential_rate(price, c.a, c.b))
        sales = min(demand, self._x)
        self._x -= sales
        self._n -= 1
        revenue = price * sales
        info = {
            "price": price,
            "demand": demand,
            "sales": sales,
            "revenue": revenue,
            "stock_left": self._x,
        }
        done = self._n <= 0 or self._x <= 0
        return self._obs(), revenue / c.scale, done, False, info


class BatchedPricing:
    """``n`` copies of :class:`DynamicPricingEnv` in NumPy; a finished copy restarts at once
    (VecEnv semantics) with a stock drawn uniformly in ``1..stock`` with probability
    ``explore_start`` (so training sees every stock level), else full stock."""

    def __init__(
        self, n: int, *, seed: int | None = None, explore_start: float = 0.5, **kwargs: Any
    ) -> None:
        self.config = PricingConfig(**kwargs)
        self.n = n
        self.prices = self.config.prices
        self.rng = np.random.default_rng(seed)
        self.explore_start = explore_start
        self.x = np.full(n, self.config.stock)
        self.t = np.full(n, self.config.horizon)

    def _starts(self, m: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        c = self.config
        x = np.where(
            self.rng.random(m) < self.explore_start, self.rng.integers(1, c.stock + 1, m), c.stock
        )
        t = np.where(
            self.rng.random(m) < self.explore_start,
            self.rng.integers(1, c.horizon + 1, m),
            c.horizon,
        )
        return x, t

    def observe(self) -> NDArray[np.float32]:
        c = self.config
        return np.column_stack([self.x / c.stock, self.t / c.horizon]).astype(np.float32)

    def reset(self, seed: int | None = None) -> NDArray[np.float32]:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.x, self.t = self._starts(self.n)
        return self.observe()

    def step(
        self, actions: NDArray[Any]
    ) -> tuple[
        NDArray[np.float32],
        NDArray[np.float32],
        NDArray[np.bool_],
        NDArray[np.float32],
        NDArray[np.float64],
    ]:
        """Returns ``(obs, rewards, dones, terminal_obs, revenue)`` (per-copy ``dones``)."""
        c = self.config
        price = self.prices[np.clip(np.asarray(actions, dtype=np.int64), 0, c.n_prices - 1)]
        sales = np.minimum(sample_demand(self.rng, exponential_rate(price, c.a, c.b)), self.x)
        self.x = self.x - sales
        self.t = self.t - 1
        revenue = price * sales
        terminal = self.observe()
        dones = (self.t <= 0) | (self.x <= 0)
        if dones.any():
            x0, t0 = self._starts(int(dones.sum()))
            self.x[dones], self.t[dones] = x0, t0
        return self.observe(), (revenue / c.scale).astype(np.float32), dones, terminal, revenue
