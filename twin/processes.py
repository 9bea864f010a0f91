"""Operations of the twin as SimPy processes: replenishment, suppliers, shipments, pricing.

Every morning (at ``DECIDE_AT``, after the day's deliveries arrived at 00:00):

* the pricing policy sets prices (through the API when they change);
* the store replenishment policy decides warehouse -> store orders, rationed by what the
  warehouse has available; each store's shipment leaves at once (API transfer into the
  warehouse's transit location) and a shipment process delivers it after a sampled lead time
  (API transfer from transit into the store) at 00:00 of the arrival day;
* the warehouse policy decides supplier -> warehouse purchase orders, one per (warehouse,
  supplier); a supplier process delivers each after a sampled lead time (API receipt),
  later and short with probability ``1 - reliability``, and never during an outage.

Policies come from :mod:`policies.registry` by name. Required parameters the scenario leaves
out are derived from the expected demand (see :func:`derive_policy_params`).
Time is days; quantities are units; money cents.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import numpy as np
from scipy import stats

from policies import registry
from policies.replenishment.types import ReplenishmentObservation
from scenarios.schema import Policies, PolicyRef
from twin.operations import StockOps
from twin.state import TwinState
from twin.world import World, dist_mean, round_days

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_LEVEL = 0.99


def derive_policy_params(
    ref: PolicyRef,
    mean: np.ndarray,
    lead: np.ndarray,
    unit_margin: np.ndarray,
    unit_holding: np.ndarray,
) -> dict[str, Any]:
    """The policy's parameters, with missing required ones derived per row from demand.

    ``mean`` is units/day, ``lead`` days, ``unit_margin`` and ``unit_holding`` cents per unit
    (per day for holding). Derived levels use a 99% cycle service level over ``L + 1`` days
    of Poisson-like demand: ``S = ceil(mu (L+1) + z sqrt(mu (L+1)))``.

    Raises:
        registry.UnknownPolicyError: the name is not registered.
    """
    params = dict(ref.params)
    sig = registry.parameters("replenishment", ref.name)
    horizon = mean * (lead + 1.0)
    z = float(stats.norm.ppf(DEFAULT_SERVICE_LEVEL))
    level = np.ceil(horizon + z * np.sqrt(horizon) - 1e-9)
    derived: dict[str, Any] = {
        "base_stock": level,
        "S": level + np.maximum(1.0, np.round(mean)),
        "s": np.maximum(0.0, level - np.maximum(1.0, np.round(mean))),
        "cap": np.maximum(1.0, np.ceil(2.0 * mean + 2.0 * np.sqrt(mean))),
        "R": 1,  # daily review, like every other policy in the twin
        "underage_cost": np.maximum(unit_margin, 1.0),
        "overage_cost": np.maximum(unit_holding, 1e-3),
    }
    for name, p in sig.items():
        if name in params or p.default is not inspect.Parameter.empty:
            continue
        if name not in derived:
            raise registry.PolicyParameterError(
                f"replenishment policy {ref.name!r} needs parameter {name!r}; give it in the scenario"
            )
        params[name] = derived[name]
    return params


class Replenisher:
    """Store and warehouse replenishment through the configured policies.

    Args:
        world: the static world.
        state: the twin's state (available stock and pipeline the policies observe).
        policies: the run's policies.
        ops: stock operations (shipments to stores, purchase orders).
    """

    def __init__(self, world: World, state: TwinState, policies: Policies, ops: StockOps) -> None:
        self.world = w = world
        self.state = state
        self.ops = ops
        pol = policies
        n, S, W = w.n_skus, w.n_stores, w.n_warehouses
        through = w.expected_daily_demand()  # (S+W, n)
        sk = w.skus
        margin = (sk.list_price_cents - sk.cost_cents).astype(np.float64)
        holding = sk.cost_cents * w.scenario.catalog.holding_cost_rate_per_year / 365.0
        self.store_lead_mean = np.array(
            [
                round_days(
                    dist_mean(
                        w.scenario.world.warehouses[int(w.store_warehouse[s])].store_lead_time_days
                    )
                )
                for s in range(S)
            ],
            dtype=np.int64,
        )
        sup_lead = np.array(
            [round_days(dist_mean(sp.lead_time_days)) for sp in w.scenario.world.suppliers]
        )
        self.wh_lead_mean = sup_lead[sk.supplier]  # (n,)
        store_mean = through[:S].reshape(-1)
        store_lead = np.repeat(self.store_lead_mean, n)
        self.store_policy = registry.create(
            "replenishment",
            pol.replenishment.name,
            derive_policy_params(
                pol.replenishment,
                store_mean,
                store_lead.astype(float),
                np.tile(margin, S),
                np.tile(holding, S),
            ),
        )
        wref = pol.warehouse_replenishment or pol.replenishment
        wh_mean = through[S:].reshape(-1)
        wh_lead = np.tile(self.wh_lead_mean, W).astype(float)
        self.wh_policy = registry.create(
            "replenishment",
            wref.name,
            derive_policy_params(wref, wh_mean, wh_lead, np.tile(margin, W), np.tile(holding, W)),
        )
        self.margin = margin
        self.holding = holding
        # echelon base-stock decides stores and warehouses together (rows linked by parent)
        self.joint = (
            pol.warehouse_replenishment is None and pol.replenishment.name == "echelon_base_stock"
        )
        if self.joint:
            wh_of_store = np.repeat(w.store_warehouse, n)
            echelon_lead = wh_lead + np.tile(self.store_lead_mean[:1].astype(float), W * n)
            self.joint_policy = registry.create(
                "replenishment",
                pol.replenishment.name,
                derive_policy_params(
                    pol.replenishment,
                    np.concatenate([store_mean, wh_mean]),
                    np.concatenate([store_lead.astype(float), echelon_lead]),
                    np.tile(margin, S + W),
                    np.tile(holding, S + W),
                ),
            )
            self.parent = np.concatenate(
                [S * n + wh_of_store * n + np.tile(np.arange(n), S), np.full(W * n, -1)]
            ).astype(np.int64)

    def _joint_orders(self, day: int, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Echelon mode: (store orders (S, n), warehouse orders (W, n)) from one observation."""
        w = self.world
        n, S, W = w.n_skus, w.n_stores, w.n_warehouses
        avail = self.state.available
        through = rates[:, S:].T.copy()
        for s in range(S):
            through[int(w.store_warehouse[s])] += rates[:, s]
        mean = np.concatenate([rates[:, :S].T.reshape(-1), through.reshape(-1)])
        obs = ReplenishmentObservation.create(
            avail[: S + W].reshape(-1),
            self._pipeline(slice(0, S + W), day),
            0,
            lead_time=np.concatenate(
                [np.repeat(self.store_lead_mean, n), np.tile(self.wh_lead_mean, W)]
            ),
            period=day,
            demand_mean=mean,
            demand_std=np.sqrt(mean),
            parent=self.parent,
            holding_cost=np.tile(self.holding, S + W),
            penalty_cost=np.tile(self.margin, S + W),
        )
        orders = np.maximum(np.asarray(self.joint_policy.decide(obs).orders, dtype=np.int64), 0)
        return orders[: S * n].reshape(S, n), orders[S * n :].reshape(W, n)

    def _pipeline(self, rows: slice, day: int) -> np.ndarray:
        """(rows * n_skus, width) outstanding units by days from now (column 0 = today)."""
        return self.state.pipeline(rows, day)

    def run(self, day: int, rates: np.ndarray) -> None:
        """Decide and dispatch today's store shipments and purchase orders.

        Args:
            rates: today's expected demand, ``(n_skus, S+W)`` units/day.
        """
        w = self.world
        n, S, W = w.n_skus, w.n_stores, w.n_warehouses
        avail = self.state.available
        po_joint = None
        # ---- stores -------------------------------------------------------------------
        if self.joint:
            want, po_joint = self._joint_orders(day, rates)
        else:
            mean_s = rates[:, :S].T.reshape(-1)
            obs = ReplenishmentObservation.create(
                avail[:S].reshape(-1),
                self._pipeline(slice(0, S), day),
                0,
                lead_time=np.repeat(self.store_lead_mean, n),
                period=day,
                demand_mean=mean_s,
                demand_std=np.sqrt(mean_s),
                holding_cost=np.tile(self.holding, S),
                penalty_cost=np.tile(self.margin, S),
            )
            want = np.asarray(self.store_policy.decide(obs).orders, dtype=np.int64).reshape(S, n)
            want = np.maximum(want, 0)
        # ration each warehouse's available stock over its stores, proportionally
        for wh in range(W):
            stores = np.flatnonzero(w.store_warehouse == wh)
            if stores.size == 0:
                continue
            total = want[stores].sum(axis=0)
            have = avail[S + wh]
            short = total > have
            if short.any():
                frac = np.where(short, have / np.maximum(total, 1), 1.0)
                want[np.ix_(stores, np.flatnonzero(short))] = np.floor(
                    want[np.ix_(stores, np.flatnonzero(short))] * frac[short]
                ).astype(np.int64)
            for s in stores.tolist():
                if want[s].any():
                    self.ops.dispatch_to_store(day, wh, s, want[s])
        # ---- warehouses -----------------------------------------------------------------
        if po_joint is not None:
            self._purchase(day, po_joint)
            return
        avail = self.state.available
        through = rates[:, S:].T.copy()
        for s in range(S):
            through[int(w.store_warehouse[s])] += rates[:, s]
        mean_w = through.reshape(-1)
        obs_w = ReplenishmentObservation.create(
            avail[S : S + W].reshape(-1),
            self._pipeline(slice(S, S + W), day),
            0,
            lead_time=np.tile(self.wh_lead_mean, W),
            period=day,
            demand_mean=mean_w,
            demand_std=np.sqrt(mean_w),
            holding_cost=np.tile(self.holding, W),
            penalty_cost=np.tile(self.margin, W),
        )
        po = np.maximum(np.asarray(self.wh_policy.decide(obs_w).orders, dtype=np.int64), 0).reshape(
            W, n
        )
        self._purchase(day, po)

    def _purchase(self, day: int, po: np.ndarray) -> None:
        """One purchase order per (warehouse, supplier) with units; ``po`` is ``(W, n)``."""
        w = self.world
        sk = w.skus
        for wh in range(w.n_warehouses):
            for sup_i, sup in enumerate(w.scenario.world.suppliers):
                lines = np.where(sk.supplier == sup_i, po[wh], 0)
                units = int(lines.sum())
                if units == 0 or units < sup.min_order_units:
                    continue
                self.ops.place_purchase_order(day, wh, sup_i, lines)
