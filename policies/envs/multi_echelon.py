"""``ShopSphere/MultiEchelonReplenishment-v0``: one warehouse supplying several stores, many
SKUs, shared storage and truck capacity, seasonal and event-driven demand.

The network is plain data (:class:`EchelonNetwork`: the shared demand kernel's parameters and
per-SKU costs), so this module imports neither the twin nor the scenarios; the twin builds an
:class:`EchelonNetwork` from a scenario file on its side. Without one, the env uses
:func:`synthetic_network` (a baseline-shaped warehouse with 3 stores)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from dynamics.demand import DemandEvent, DemandParams, demand_rates, sample_demand
from dynamics.inventory import initial_state, inventory_step
from policies.artifacts import ActionMapping

__all__ = ["EchelonNetwork", "MultiEchelonEnv", "synthetic_network"]


@dataclass(frozen=True, slots=True)
class EchelonNetwork:
    """A warehouse and the stores it supplies, as plain parameters.

    Attributes:
        demand: demand-kernel parameters over ``n_skus`` SKUs and any locations; demand at
            list price (no price argument).
        store_columns: (n_stores,) columns of ``demand.base_rate`` that are this warehouse's
            stores.
        unit_cost: (n_skus,) unit cost in currency units.
        unit_price: (n_skus,) list price in currency units (``price - cost`` is the margin lost
            per unit of lost sales).
        holding_cost_rate_per_year: holding cost as a fraction of unit cost per year.
        truck_capacity_units: units per day the fleet can carry, shared by the stores.
        initial_stock_days: days of expected demand on hand at the start, everywhere.
        events: demand events (flash sales, weather) applied by the demand kernel.
    """

    demand: DemandParams
    store_columns: NDArray[np.int64]
    unit_cost: NDArray[np.float64]
    unit_price: NDArray[np.float64]
    holding_cost_rate_per_year: float
    truck_capacity_units: float
    initial_stock_days: float
    events: tuple[DemandEvent, ...] = ()

    def __post_init__(self) -> None:
        n = self.demand.n_skus
        if self.store_columns.ndim != 1 or self.store_columns.size == 0:
            raise ValueError(
                f"store_columns must name at least one store, got {self.store_columns}"
            )
        if self.store_columns.min() < 0 or self.store_columns.max() >= self.demand.n_locations:
            raise ValueError(
                f"store_columns {self.store_columns.tolist()} outside "
                f"0..{self.demand.n_locations - 1}"
            )
        for name in ("unit_cost", "unit_price"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, expected ({n},)")
        if self.truck_capacity_units <= 0:
            raise ValueError(f"truck_capacity_units must be > 0, got {self.truck_capacity_units}")
        if self.initial_stock_days < 0 or self.holding_cost_rate_per_year < 0:
            raise ValueError(
                "initial_stock_days and holding_cost_rate_per_year must be >= 0, got "
                f"{self.initial_stock_days} and {self.holding_cost_rate_per_year}"
            )


def synthetic_network(n_skus: int = 50, n_stores: int = 3, seed: int = 0) -> EchelonNetwork:
    """A baseline-shaped network: ``n_skus`` SKUs, ``n_stores`` stores, weekly and yearly
    seasonality, a Black-Friday-like event; deterministic in ``seed``.

    Rates are units/day per store (log-normal around 2), prices 2..40 currency units with costs
    at 55-70 % of price, holding 25 %/year, a fleet carrying 1.5 x the expected daily demand.
    """
    if n_skus < 1 or n_stores < 1:
        raise ValueError(f"need at least one SKU and one store, got {n_skus} and {n_stores}")
    rng = np.random.default_rng(seed)
    base = rng.lognormal(np.log(2.0), 0.8, (n_skus, 1)) * rng.uniform(0.6, 1.4, (1, n_stores))
    price = np.round(rng.uniform(2.0, 40.0, n_skus), 2)
    cost = np.round(price * rng.uniform(0.55, 0.70, n_skus), 2)
    weekly = np.array([0.9, 0.9, 0.95, 1.0, 1.1, 1.35, 0.8])
    params = DemandParams(
        base_rate=base,
        category=np.zeros(n_skus, dtype=np.int64),
        list_price_cents=np.round(price * 100.0),
        elasticity=np.full(n_skus, -1.5),
        weekly=weekly / weekly.mean(),
        yearly_amplitude=0.15,
        yearly_peak_day=350,
        start_date=date(2026, 1, 1),
    )
    event = DemandEvent(start_day=327.0, end_day=331.0, multiplier=2.5, name="black_friday")
    return EchelonNetwork(
        demand=params,
        store_columns=np.arange(n_stores, dtype=np.int64),
        unit_cost=cost,
        unit_price=price,
        holding_cost_rate_per_year=0.25,
        truck_capacity_units=float(1.5 * base.sum()),
        initial_stock_days=7.0,
        events=(event,),
    )


class MultiEchelonEnv(gym.Env[NDArray[np.float32], NDArray[np.float32]]):
    """A warehouse and its stores, ``max_skus`` SKUs of a network, daily review.

    ## Description
    The catalog, store sizes, weekly/yearly seasonality, holidays, closures and events
    (flash sales, weather) come from an :class:`EchelonNetwork` through the shared demand
    kernel (:func:`dynamics.demand.demand_rates`; demand at list price). Each day the agent sets a
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
    ``initial_stock_days`` of expected demand everywhere (the network's), empty pipelines;
    day 0 is the demand parameters' start date.

    ## Episode End
    Never terminates; ``TimeLimit`` truncates (``max_episode_steps=365`` registered).

    ## Info
    ``cost``, ``holding_cost``, ``lost_margin``, ``demand``, ``sales``, ``lost``, ``shipped``,
    ``truck_limited`` (units cut by truck capacity), ``fill_rate``.

    ## Arguments
    ``network=None (synthetic_network(max_skus)), max_skus=50, max_cover_days=21.0,
    store_lead_time=1, supplier_lead_time=4, truck_capacity_units=None (the network's fleet
    capacity per day, shared by the stores), store_capacity_days=14.0``.

    ## Version History
    * v0: initial version (network given as plain parameters since the layering change).
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        network: EchelonNetwork | None = None,
        max_skus: int = 50,
        max_cover_days: float = 21.0,
        store_lead_time: int = 1,
        supplier_lead_time: int = 4,
        truck_capacity_units: float | None = None,
        store_capacity_days: float = 14.0,
    ) -> None:
        net = network if network is not None else synthetic_network(n_skus=max_skus)
        stores = np.asarray(net.store_columns, dtype=np.int64)
        self._network = net
        self._stores = stores
        self.n_skus = min(max_skus, net.demand.n_skus)
        self.n_stores = int(stores.size)
        self.max_cover_days = float(max_cover_days)
        self.L_store, self.L_wh = int(store_lead_time), int(supplier_lead_time)
        n = self.n_skus
        cost = net.unit_cost[:n]
        self.margin = net.unit_price[:n] - cost
        self.h = cost * net.holding_cost_rate_per_year / 365.0
        weekly = float(np.mean(net.demand.weekly))
        self.mean_rate = net.demand.base_rate[:n][:, stores] * weekly  # (n, S)
        self.mean_rate = np.maximum(self.mean_rate, 1e-3)
        self.wh_rate = self.mean_rate.sum(axis=1)
        self.store_cap = store_capacity_days * self.mean_rate.sum(axis=0)  # (S,) units
        fleet = truck_capacity_units or net.truck_capacity_units
        self.truck_cap = np.full(self.n_stores, fleet / self.n_stores)
        self.init_days = float(net.initial_stock_days)
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
        net = self._network
        rates = demand_rates(net.demand, self._day + 0.5, None, net.events)
        return rates[: self.n_skus][:, self._stores]

    def _obs(self) -> NDArray[np.float32]:
        n, S = self.n_skus, self.n_stores
        oh = self._store.on_hand.reshape(n, S).sum(axis=0)
        pipe = self._store.pipeline.sum(axis=1).reshape(n, S).sum(axis=0)
        daily = self.mean_rate.sum(axis=0)
        per = np.column_stack([oh / daily, pipe / daily, self._fill]).ravel()
        wd = np.zeros(7)
        wd[self._network.demand.date_of(self._day).weekday()] = 1.0
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
        demand = sample_demand(self.np_random, rates).ravel()
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
