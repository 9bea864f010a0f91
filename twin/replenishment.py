"""Replenishment of the twin: store shipments and purchase orders through the policies.

Every morning (at ``DECIDE_AT``, after the day's deliveries arrived at 00:00):

* the store replenishment policy decides warehouse -> store orders, rationed by what the
  warehouse has available and capped by the store's ``capacity_units`` (stock on hand plus
  stock on the way never exceeds it); each store's shipment leaves at once (see
  :class:`twin.operations.StockOps`);
* the warehouse policy decides supplier -> warehouse purchase orders, one per (warehouse,
  supplier), capped by the warehouse's ``capacity_units``.

Policies come from :mod:`policies.registry` by name. Required parameters the scenario leaves
out are derived per SKU-location from its demand, lead time and lead-time variance (see
:func:`derive_policy_params`). Derived levels follow the forecast: each morning they are
re-derived from the expected demand over the coming lead time, known events included (flash
sales, holidays, weather), so stock is built up ahead of an event. Policies that read
``demand_mean`` see the same forecast. With ``forecast.source: model`` in the scenario that
forecast comes from a model fitted on the twin's own recorded sales (:mod:`twin.forecasting`)
instead of the demand kernel's expected demand.

Time is days; quantities are units; money cents.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import numpy as np
from scipy import stats

from dynamics.demand import demand_rates, discount_fractions
from policies import registry
from policies.replenishment.types import ReplenishmentObservation
from scenarios.schema import Policies, PolicyRef
from twin.forecasting import ForecastProvider
from twin.operations import StockOps
from twin.state import TwinState
from twin.world import World, dist_mean, round_days

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_LEVEL = 0.99
LEAD_VARIANCE_DRAWS = 20_000
LEVEL_PARAMS = ("base_stock", "S", "s")


def lead_variance(dist: object) -> float:
    """Variance (days²) of a lead-time distribution, from a fixed private sample.

    The scenario's distributions expose their mean only; 20,000 draws from a generator seeded
    0 estimate the variance to ~1% without touching the run's random streams.
    """
    draw = dist.sample  # type: ignore[attr-defined]
    x = np.asarray(draw(np.random.default_rng(0), LEAD_VARIANCE_DRAWS), dtype=np.float64)
    return float(x.var())


def derived_level(
    horizon_mean: np.ndarray, mean: np.ndarray, lead_var: np.ndarray, z: float
) -> np.ndarray:
    """Order-up-to level covering demand over lead time + one review day.

    ``S = ceil(H + z sqrt(H + mu^2 Var(L)))`` with ``H`` the expected demand over the horizon
    (units), ``mu`` the daily mean and ``Var(L)`` the lead-time variance (Poisson demand,
    random lead time).
    """
    sd = np.sqrt(horizon_mean + mean * mean * lead_var)
    level: np.ndarray = np.ceil(horizon_mean + z * sd - 1e-9)
    return level


def derive_policy_params(
    ref: PolicyRef,
    mean: np.ndarray,
    lead: np.ndarray,
    unit_margin: np.ndarray,
    unit_holding: np.ndarray,
    lead_var: np.ndarray | float = 0.0,
    shelf_life: np.ndarray | None = None,
    horizon_mean: np.ndarray | None = None,
) -> dict[str, Any]:
    """The policy's parameters, with missing required ones derived per row from demand.

    ``mean`` is units/day, ``lead`` days, ``lead_var`` days², ``unit_margin`` and
    ``unit_holding`` cents per unit (per day for holding); ``shelf_life`` days (0 = not
    perishable) caps a level at what sells before it expires; ``horizon_mean`` (units over
    ``lead + 1`` days, e.g. a forecast with known events) replaces ``mean * (lead + 1)``.
    Levels use a 99% cycle service level (:func:`derived_level`).

    Raises:
        registry.UnknownPolicyError: the name is not registered.
        registry.PolicyParameterError: a required parameter cannot be derived.
    """
    params = dict(ref.params)
    sig = registry.parameters("replenishment", ref.name)
    horizon = mean * (lead + 1.0) if horizon_mean is None else horizon_mean
    z = float(stats.norm.ppf(DEFAULT_SERVICE_LEVEL))
    level = derived_level(horizon, mean, np.broadcast_to(lead_var, np.shape(mean)), z)
    if shelf_life is not None:
        perishable = shelf_life > 0
        cap = np.ceil(mean * (lead + shelf_life))
        level = np.where(perishable, np.maximum(np.minimum(level, cap), 1.0), level)
    step = np.maximum(1.0, np.round(mean))
    derived: dict[str, Any] = {
        "base_stock": level,
        "S": level + step,
        "s": np.maximum(0.0, level - step),
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
                f"replenishment policy {ref.name!r} needs parameter {name!r}; "
                "give it in the scenario"
            )
        params[name] = derived[name]
    return params


class _Tier:
    """One echelon's policy (stores or warehouses) and what its parameters came from."""

    def __init__(
        self,
        ref: PolicyRef,
        mean: np.ndarray,
        lead: np.ndarray,
        lead_var: np.ndarray,
        margin: np.ndarray,
        holding: np.ndarray,
        life: np.ndarray,
    ) -> None:
        self.ref = ref
        self.mean, self.lead, self.lead_var = mean, lead, lead_var
        self.margin, self.holding, self.life = margin, holding, life
        self.params = derive_policy_params(ref, mean, lead, margin, holding, lead_var, life)
        self.derived = [k for k in LEVEL_PARAMS if k in self.params and k not in ref.params]
        self.policy = registry.create("replenishment", ref.name, self.params)
        self.current: tuple[float, ...] = ()

    def level(self) -> np.ndarray:
        """The order-up-to level per row (the policy's ``base_stock`` or ``S``), for warm starts."""
        for k in ("base_stock", "S"):
            if k in self.params:
                return np.broadcast_to(np.asarray(self.params[k], dtype=float), self.mean.shape)
        return derived_level(self.mean * (self.lead + 1.0), self.mean, self.lead_var, 2.33)

    def follow(self, horizon_mean: np.ndarray, *, floor: bool = True) -> None:
        """Re-derive derived levels from a forecast over each row's horizon (known events).

        With ``floor`` the horizon demand is at least the planned mean's (events only raise
        levels); a fitted model's forecast is taken as it is (``floor=False``).
        """
        if not self.derived:
            return
        if floor:
            horizon_mean = np.maximum(horizon_mean, self.mean * (self.lead + 1.0))
        params = derive_policy_params(
            self.ref,
            self.mean,
            self.lead,
            self.margin,
            self.holding,
            self.lead_var,
            self.life,
            horizon_mean=horizon_mean,
        )
        key = tuple(float(np.asarray(params[k]).sum()) for k in self.derived)
        if key == self.current:
            return
        self.current = key
        self.policy = registry.create("replenishment", self.ref.name, params)


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
        sc = w.scenario
        through = w.expected_daily_demand()  # (S+W, n)
        sk = w.skus
        margin = (sk.list_price_cents - sk.cost_cents).astype(np.float64)
        holding = sk.cost_cents * sc.catalog.holding_cost_rate_per_year / 365.0
        whs = [sc.world.warehouses[int(w.store_warehouse[s])] for s in range(S)]
        self.store_lead_mean = np.array(
            [round_days(dist_mean(wh.store_lead_time_days)) for wh in whs], dtype=np.int64
        )
        store_lead_var = np.array([lead_variance(wh.store_lead_time_days) for wh in whs])
        sup_lead = np.array([round_days(dist_mean(sp.lead_time_days)) for sp in sc.world.suppliers])
        sup_var = np.array([lead_variance(sp.lead_time_days) for sp in sc.world.suppliers])
        self.wh_lead_mean = sup_lead[sk.supplier]  # (n,)
        wh_lead_var = sup_var[sk.supplier]
        life = sk.shelf_life_days.astype(float)
        self.capacity = np.array(
            [st.capacity_units or 0 for st in sc.world.stores]
            + [wh.capacity_units or 0 for wh in sc.world.warehouses],
            dtype=np.int64,
        )  # 0 = unlimited
        self.stores = _Tier(
            pol.replenishment,
            through[:S].reshape(-1),
            np.repeat(self.store_lead_mean, n).astype(float),
            np.repeat(store_lead_var, n),
            np.tile(margin, S),
            np.tile(holding, S),
            np.tile(life, S),
        )
        self.warehouses = _Tier(
            pol.warehouse_replenishment or pol.replenishment,
            through[S:].reshape(-1),
            np.tile(self.wh_lead_mean, W).astype(float),
            np.tile(wh_lead_var, W),
            np.tile(margin, W),
            np.tile(holding, W),
            np.tile(life, W),
        )
        self.lead_horizon = int(max(self.store_lead_mean.max(initial=0), sup_lead.max(initial=0)))
        self.provider: ForecastProvider | None = None
        if sc.forecast.source == "model":
            plan = w.demand.base_rate.T * float(np.mean(w.demand.weekly))  # (S+W, n)
            self.provider = ForecastProvider(sc.forecast, plan, self.lead_horizon)
        self.today = np.zeros((S + W, n))  # today's forecast per demand row (S+W, n)
        # echelon base-stock decides stores and warehouses together (rows linked by parent)
        self.joint = (
            pol.warehouse_replenishment is None and pol.replenishment.name == "echelon_base_stock"
        )
        if self.joint:
            wh_of_store = np.repeat(w.store_warehouse, n)
            wh_lead = np.tile(self.wh_lead_mean, W).astype(float)
            echelon_lead = wh_lead + np.tile(self.store_lead_mean[:1].astype(float), W * n)
            self.joint_policy = registry.create(
                "replenishment",
                pol.replenishment.name,
                derive_policy_params(
                    pol.replenishment,
                    np.concatenate([self.stores.mean, self.warehouses.mean]),
                    np.concatenate([self.stores.lead, echelon_lead]),
                    np.tile(margin, S + W),
                    np.tile(holding, S + W),
                ),
            )
            self.parent = np.concatenate(
                [S * n + wh_of_store * n + np.tile(np.arange(n), S), np.full(W * n, -1)]
            ).astype(np.int64)

    def levels(self) -> tuple[np.ndarray, np.ndarray]:
        """Order-up-to levels ``(S, n)`` for stores and ``(W, n)`` for warehouses (units)."""
        w = self.world
        return (
            self.stores.level().reshape(w.n_stores, w.n_skus),
            self.warehouses.level().reshape(w.n_warehouses, w.n_skus),
        )

    def forecast(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Expected demand over each row's lead time + 1 day from ``day`` (known events in).

        Returns ``(store rows (S*n,), warehouse rows (W*n,))`` in units at list prices, with
        announced flash-sale discounts; a warehouse row is its online demand plus the demand of
        the stores it serves.
        """
        w = self.world
        n, S = w.n_skus, w.n_stores
        lst = w.skus.list_price_cents.astype(np.float64)[:, None]
        rows, plain = [], []
        for k in range(self.lead_horizon + 1):
            t = day + k + 0.5
            cut = discount_fractions(w.demand, t, w.events)
            prices = None if not cut.any() else np.maximum(1.0, lst * (1.0 - cut))
            rows.append(demand_rates(w.demand, t, prices, w.events).T)
            if self.provider is not None:
                plain.append(demand_rates(w.demand, t).T)
        daily = np.stack(rows)  # (K, S+W, n)
        if self.provider is not None:  # a model fitted on the twin's sales, events as uplift
            base = np.stack(plain)
            uplift = np.where(base > 0, daily / np.where(base > 0, base, 1.0), 1.0)
            daily = self.provider.daily(day, uplift)
        self.today = daily[0]
        through = daily.copy()
        for s in range(S):
            through[:, S + int(w.store_warehouse[s])] += daily[:, s]
        cum = np.cumsum(through, axis=0)  # cum[k] = demand over days day..day+k
        store_l = np.minimum(self.store_lead_mean, self.lead_horizon)
        st = cum[store_l, np.arange(S)]  # (S, n)
        wl = np.minimum(self.wh_lead_mean, self.lead_horizon)  # (n,)
        wh = cum[wl[None, :], S + np.arange(w.n_warehouses)[:, None], np.arange(n)[None, :]]
        return st.reshape(-1), wh.reshape(-1)

    def _joint_orders(self, day: int, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Echelon mode: (store orders (S, n), warehouse orders (W, n)) from one observation."""
        w = self.world
        n, S, W = w.n_skus, w.n_stores, w.n_warehouses
        avail = self.state.available
        if self.provider is not None:
            rates = self.today.T  # the fitted model's forecast for today, not the kernel's
        through = rates[:, S:].T.copy()
        for s in range(S):
            through[int(w.store_warehouse[s])] += rates[:, s]
        mean = np.concatenate([rates[:, :S].T.reshape(-1), through.reshape(-1)])
        obs = ReplenishmentObservation.create(
            avail[: S + W].reshape(-1),
            self.state.pipeline(slice(0, S + W), day),
            0,
            lead_time=np.concatenate(
                [np.repeat(self.store_lead_mean, n), np.tile(self.wh_lead_mean, W)]
            ),
            period=day,
            demand_mean=mean,
            demand_std=np.sqrt(mean),
            parent=self.parent,
            holding_cost=np.tile(self.stores.holding[:n], S + W),
            penalty_cost=np.tile(self.stores.margin[:n], S + W),
        )
        orders = np.maximum(np.asarray(self.joint_policy.decide(obs).orders, dtype=np.int64), 0)
        return orders[: S * n].reshape(S, n), orders[S * n :].reshape(W, n)

    def _cap(self, rows: np.ndarray, orders: np.ndarray, out_before: np.ndarray) -> None:
        """Scale ``orders`` (rows x n, in place) so that the stock expected on hand when they
        arrive (on hand + pipeline - ``out_before``, the demand expected until then, per row)
        plus the orders stays within each row's capacity."""
        st = self.state
        for k, r in enumerate(rows.tolist()):
            cap = int(self.capacity[r])
            if cap <= 0:
                continue
            held = int(st.on_hand[r].sum()) + sum(
                int(v[r].sum()) for d, v in st.incoming.items() if d > st.day
            )
            room = max(0, cap - held + int(out_before[k]))
            total = int(orders[k].sum())
            if total > room:
                orders[k] = np.floor(orders[k] * (room / total)).astype(np.int64)

    def run(self, day: int, rates: np.ndarray) -> None:
        """Decide and dispatch today's store shipments and purchase orders.

        Args:
            rates: today's expected demand, ``(n_skus, S+W)`` units/day.
        """
        w = self.world
        n, S, W = w.n_skus, w.n_stores, w.n_warehouses
        st = self.state
        avail = st.available
        po_joint = None
        if self.provider is not None:
            self.provider.observe(day, st.flows["sale"][: S + W])
        fc_store, fc_wh = self.forecast(day)
        # ---- stores -------------------------------------------------------------------
        if self.joint:
            want, po_joint = self._joint_orders(day, rates)
        else:
            self.stores.follow(fc_store, floor=self.provider is None)
            lead = np.repeat(self.store_lead_mean, n)
            mean_s = fc_store / (lead + 1.0)
            obs = ReplenishmentObservation.create(
                avail[:S].reshape(-1),
                st.pipeline(slice(0, S), day),
                0,
                lead_time=lead,
                period=day,
                demand_mean=mean_s,
                demand_std=np.sqrt(mean_s),
                holding_cost=self.stores.holding,
                penalty_cost=self.stores.margin,
            )
            want = np.asarray(self.stores.policy.decide(obs).orders, dtype=np.int64).reshape(S, n)
            want = np.maximum(want, 0)
        lead_s = np.repeat(self.store_lead_mean, n)
        self._cap(np.arange(S), want, (fc_store * lead_s / (lead_s + 1.0)).reshape(S, n).sum(1))
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
            self._cap(S + np.arange(W), po_joint, self._wh_out(fc_wh))
            self._purchase(day, po_joint)
            return
        self.warehouses.follow(fc_wh, floor=self.provider is None)
        avail = st.available
        lead_w = np.tile(self.wh_lead_mean, W)
        mean_w = fc_wh / (lead_w + 1.0)
        obs_w = ReplenishmentObservation.create(
            avail[S : S + W].reshape(-1),
            st.pipeline(slice(S, S + W), day),
            0,
            lead_time=lead_w,
            period=day,
            demand_mean=mean_w,
            demand_std=np.sqrt(mean_w),
            holding_cost=self.warehouses.holding,
            penalty_cost=self.warehouses.margin,
        )
        po = np.maximum(
            np.asarray(self.warehouses.policy.decide(obs_w).orders, dtype=np.int64), 0
        ).reshape(W, n)
        self._cap(S + np.arange(W), po, self._wh_out(fc_wh))
        self._purchase(day, po)

    def _wh_out(self, fc_wh: np.ndarray) -> np.ndarray:
        """``(W,)`` units each warehouse is expected to ship before today's orders arrive."""
        w = self.world
        lead = np.tile(self.wh_lead_mean, w.n_warehouses).astype(float)
        out: np.ndarray = (fc_wh * lead / (lead + 1.0)).reshape(w.n_warehouses, -1).sum(axis=1)
        return out

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
