"""``ShopSphere/MultiEchelonReplenishment-v0``: one warehouse supplying several stores, many
SKUs, shared storage and truck capacity, seasonal and event-driven demand from a scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from dynamics.inventory import initial_state, inventory_step
from policies.artifacts import ActionMapping

__all__ = ["MultiEchelonEnv"]

_DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"


class MultiEchelonEnv(gym.Env[NDArray[np.float32], NDArray[np.float32]]):
    """A warehouse and its stores, ``max_skus`` SKUs of a scenario, daily review.

    ## Description
    The catalog, store sizes, weekly/yearly seasonality, holidays, closures and events
    (flash sales, weather) come from a scenario file through the twin's demand kernel
    (``twin.world.build_world``; demand at list price). Each day the agent sets a
    *days-of-cover* target per location; every SKU-location orders up to ``cover x expected
    daily demand``. Stores are replenished from the warehouse (lead ``store_lead_time``
    days) on trucks of limited capacity, within each store's storage capacity; the warehouse
    ships what it has (pro rata) and orders from its supplier (lead ``supplier_lead_time``).
    Store demand is Poisson, lost when out of stock. All SKU-locations step at once with the
    shared inventory kernel.

    ## Action Space
    ``Box(0, 1, (n_stores + 1,), float32)``: cover targets as fractions of
    ``max_cover_days`` (stores, then the warehouse).

    ## Observation Space
    ``Box(0, inf, (3 n_stores + 10,), float32)``: per store its on-hand cover, pipeline cover
    (days of expected demand) and yesterday's fill rate; the warehouse's on-hand and pipeline
    cover; the weekday one-hot (7); today's demand relative to a typical day (season,
    holidays and events).

    ## Rewards
    ``-(holding + lost margin) / reward_scale`` in currency units per day: holding at
    ``holding_cost_rate_per_year`` of unit cost per year on end-of-day on-hand (stores and
    warehouse), plus the lost margin (price - cost) of every lost unit; ``reward_scale`` is
    the expected daily margin of all SKU-locations.

    ## Starting State
    ``initial_stock_days`` of expected demand everywhere (the scenario's), empty pipelines;
    day 0 is the scenario's start date.

    ## Episode End
    Never terminates; ``TimeLimit`` truncates (``max_episode_steps=365`` registered).

    ## Info
    ``cost``, ``holding_cost``, ``lost_margin``, ``demand``, ``sales``, ``lost``, ``shipped``,
    ``truck_limited`` (units cut by truck capacity), ``fill_rate``.

    ## Arguments
    ``scenario=<scenarios/baseline.yaml>, max_skus=50, warehouse=0, max_cover_days=21.0,
    store_lead_time=1, supplier_lead_time=4, truck_capacity_units=None (fleet capacity per day
    shared by the stores), store_capacity_days=14.0``.

    ## Version History
    * v0: initial version.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        scenario: str | Path = _DEFAULT_SCENARIO,
        max_skus: int = 50,
        warehouse: int = 0,
        max_cover_days: float = 21.0,
        store_lead_time: int = 1,
        supplier_lead_time: int = 4,
        truck_capacity_units: float | None = None,
        store_capacity_days: float = 14.0,
    ) -> None:
        from scenarios.schema import load_scenario
        from twin.world import build_world

        sc = load_scenario(scenario, check_policies=False)
        world = build_world(sc, np.random.default_rng(sc.seed))
        stores = np.flatnonzero(world.store_warehouse == warehouse)
        if stores.size == 0:
            raise ValueError(f"warehouse {warehouse} serves no store in {scenario}")
        self._world = world
        self._stores = stores
        self.n_skus = min(max_skus, world.n_skus)
        self.n_stores = int(stores.size)
        self.max_cover_days = float(max_cover_days)
        self.L_store, self.L_wh = int(store_lead_time), int(supplier_lead_time)
        n = self.n_skus
        skus = world.skus
        cost = skus.cost_cents[:n] / 100.0
        self.margin = (skus.list_price_cents[:n] - skus.cost_cents[:n]) / 100.0
        self.h = cost * sc.catalog.holding_cost_rate_per_year / 365.0
        weekly = float(np.mean(world.demand.weekly))
        self.mean_rate = world.demand.base_rate[:n][:, stores] * weekly  # (n, S)
        self.mean_rate = np.maximum(self.mean_rate, 1e-3)
        self.wh_rate = self.mean_rate.sum(axis=1)
        self.store_cap = store_capacity_days * self.mean_rate.sum(axis=0)  # (S,) units
        fleet = sum(v.count * v.capacity_units for v in sc.world.fleet.vehicles)
        self.truck_cap = np.full(self.n_stores, (truck_capacity_units or fleet) / self.n_stores)
        self.init_days = float(sc.catalog.initial_stock_days)
        self.reward_scale = float((self.mean_rate * self.margin[:, None]).sum())
        self.action_space = spaces.Box(0.0, 1.0, shape=(self.n_stores + 1,), dtype=np.float32)
        self.observation_space = spaces.Box(
            0.0, np.inf, shape=(3 * self.n_stores + 10,), dtype=np.float32
        )
        self._day = 0
        self._fill = np.ones(self.n_stores)
        self._store = initial_state(n * self.n_stores, self.L_store)
        self._wh = initial_state(n, self.L_wh)

    @property
    def obs_names(self) -> tuple[str, ...]:
        per = [
            f"store{j}_{k}"
            for j in range(self.n_stores)
            for k in ("cover_days", "pipeline_days", "fill_rate")
        ]
        return (
            *per,
            "warehouse_cover_days",
            "warehouse_pipeline_days",
            *(f"weekday_{d}" for d in range(7)),
            "demand_index",
        )

    def action_mapping(self) -> ActionMapping:
        """Box actions -> cover days per location."""
        k = self.n_stores + 1
        names = (*(f"store{j}_cover_days" for j in range(self.n_stores)), "warehouse_cover_days")
        return ActionMapping(
            kind="box",
            decision_names=names,
            decision_low=np.zeros(k),
            decision_high=np.full(k, self.max_cover_days),
            action_low=np.zeros(k),
            action_high=np.ones(k),
            decision_offset=np.zeros(k),
            decision_scale=np.full(k, self.max_cover_days),
        )

    def _rates(self) -> NDArray[np.float64]:
        return self._world.rates(self._day, None)[: self.n_skus][:, self._stores]

    def _obs(self) -> NDArray[np.float32]:
        n, S = self.n_skus, self.n_stores
        oh = self._store.on_hand.reshape(n, S).sum(axis=0)
        pipe = self._store.pipeline.sum(axis=1).reshape(n, S).sum(axis=0)
        daily = self.mean_rate.sum(axis=0)
        per = np.column_stack([oh / daily, pipe / daily, self._fill]).ravel()
        wd = np.zeros(7)
        wd[self._world.demand.date_of(self._day).weekday()] = 1.0
        index = self._rates().sum() / self.mean_rate.sum()
        total = self.wh_rate.sum()
        return np.concatenate(
            [
                per,
                [self._wh.on_hand.sum() / total, self._wh.pipeline.sum() / total],
                wd,
                [index],
            ]
        ).astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        n, S = self.n_skus, self.n_stores
        store0 = np.ceil(self.mean_rate * self.init_days).astype(np.int64).ravel()
        self._store = initial_state(n * S, self.L_store, on_hand=store0)
        self._wh = initial_state(
            n, self.L_wh, on_hand=np.ceil(self.wh_rate * self.init_days).astype(np.int64)
        )
        self._day = 0
        self._fill = np.ones(S)
        return self._obs(), {}

    def step(self, action: Any) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        a = np.clip(np.asarray(action, dtype=np.float64).ravel(), 0.0, 1.0)
        if a.shape != (self.n_stores + 1,):
            raise ValueError(
                f"action must have shape ({self.n_stores + 1},), got {np.shape(action)}"
            )
        n, S = self.n_skus, self.n_stores
        cover = a * self.max_cover_days
        # store requests: order up to cover x mean demand, within storage capacity and trucks
        ip = self._store.inventory_position.reshape(n, S)
        want = np.maximum(np.ceil(cover[:S] * self.mean_rate) - ip, 0.0)
        room = np.maximum(self.store_cap - ip.sum(axis=0), 0.0)
        limit = np.minimum(room, self.truck_cap)
        tot = want.sum(axis=0)
        scale = np.where(tot > limit, limit / np.maximum(tot, 1e-9), 1.0)
        req = np.floor(want * scale)
        truck_limited = float((want - req).sum())
        # the warehouse ships what it has this period, pro rata over stores
        available = self._wh.on_hand + (self._wh.pipeline[:, 0] if self.L_wh else 0)
        req_sku = req.sum(axis=1)
        frac = np.where(req_sku > available, available / np.maximum(req_sku, 1e-9), 1.0)
        ship = np.floor(req * frac[:, None]).astype(np.int64)
        wh_order = np.maximum(
            np.ceil(cover[S] * self.wh_rate) - self._wh.inventory_position, 0
        ).astype(np.int64)
        self._wh, wres = inventory_step(
            self._wh,
            wh_order,
            ship.sum(axis=1),
            lost_sales=True,
            holding_cost=self.h,
            validate=False,
        )
        rates = self._rates()
        demand = self.np_random.poisson(rates).ravel()
        self._store, sres = inventory_step(
            self._store,
            ship.ravel(),
            demand,
            lost_sales=True,
            holding_cost=np.repeat(self.h, S),
            penalty_cost=np.repeat(self.margin, S),
            validate=False,
        )
        self._day += 1
        d_loc = demand.reshape(n, S).sum(axis=0)
        lost_loc = sres.lost.reshape(n, S).sum(axis=0)
        self._fill = np.where(d_loc > 0, 1.0 - lost_loc / np.maximum(d_loc, 1), 1.0)
        holding = float(sres.holding_cost.sum() + wres.holding_cost.sum())
        lost_margin = float(sres.penalty_cost.sum())
        cost = holding + lost_margin
        info = {
            "cost": cost,
            "holding_cost": holding,
            "lost_margin": lost_margin,
            "demand": int(demand.sum()),
            "sales": int(sres.sales.sum()),
            "lost": int(sres.lost.sum()),
            "shipped": int(ship.sum()),
            "truck_limited": truck_limited,
            "fill_rate": float(1.0 - sres.lost.sum() / max(int(demand.sum()), 1)),
        }
        return self._obs(), -cost / self.reward_scale, False, False, info
