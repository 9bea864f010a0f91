"""Forecast-driven, perishable and network replenishment policies, vectorised.

Registered names (kind ``"replenishment"``): ``forecast_order_up_to``, ``newsvendor``,
``echelon_base_stock``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from policies.registry import PolicyParameterError, register
from policies.replenishment.classic import Level, _fit, _orders, as_levels
from policies.replenishment.types import (
    ObservationError,
    ReplenishmentDecision,
    ReplenishmentObservation,
)

__all__ = ["EchelonBaseStock", "ForecastOrderUpTo", "Newsvendor", "demand_moments"]


def demand_moments(
    observation: ReplenishmentObservation, policy: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-period demand mean and standard deviation, units.

    From ``demand_mean``/``demand_std`` when present, otherwise from ``demand_history``
    (sample mean and standard deviation, ``ddof=1``).

    Raises:
        ObservationError: when neither a forecast nor a history is in the observation.
    """
    if observation.demand_mean is not None:
        mean = observation.demand_mean
        std = (
            observation.demand_std
            if observation.demand_std is not None
            else np.sqrt(np.maximum(mean, 0.0))  # Poisson-like if no error estimate
        )
        return mean, std
    if observation.demand_history is not None and observation.demand_history.shape[1] >= 2:
        hist = observation.demand_history.astype(np.float64)
        return hist.mean(axis=1), hist.std(axis=1, ddof=1)
    raise ObservationError(
        f"{policy} needs observation.demand_mean or a demand_history with >= 2 periods"
    )


def _z(service_level: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(stats.norm.ppf(service_level), dtype=np.float64)


def _service(name: str, value: Level) -> NDArray[np.float64]:
    arr = as_levels(name, value)
    if arr.max() >= 1.0 or arr.min() <= 0.0:
        raise PolicyParameterError(
            f"{name} must be in (0, 1), got {value!r}", field=name, value=value
        )
    return arr


@register("replenishment", "forecast_order_up_to")
class ForecastOrderUpTo:
    """Order up to the forecast demand over lead time plus review period, plus safety stock.

    ``target = mu * (L + R) + z * sigma * sqrt(L + R)`` where ``mu``/``sigma`` are the forecast
    mean and error standard deviation per period (see :func:`demand_moments`), ``L`` the row's
    lead time and ``z = Phi^-1(service_level)``; order ``max(target - IP, 0)`` rounded up.

    Args:
        service_level: cycle service level in (0, 1), scalar or per row.
        review_period: periods between orders ``R`` (>= 1); the policy orders every period it is
            called, the review period only sizes the protection interval.
    """

    def __init__(self, service_level: Level = 0.95, review_period: int = 1) -> None:
        self.service_level = _service("service_level", service_level)
        if int(review_period) != review_period or review_period < 1:
            raise PolicyParameterError(
                f"review_period must be an integer >= 1, got {review_period!r}",
                field="review_period",
                value=review_period,
            )
        self.review_period = int(review_period)

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        n = observation.n
        mean, std = demand_moments(observation, "forecast_order_up_to")
        horizon = observation.lead_time + self.review_period
        z = _z(_fit("service_level", self.service_level, n))
        target = mean * horizon + z * std * np.sqrt(horizon)
        return ReplenishmentDecision(
            _orders(target - observation.inventory_position), np.broadcast_to(target, (n,))
        )


@register("replenishment", "newsvendor")
class Newsvendor:
    """Newsvendor order-up-to for perishables (one selling period per order).

    Orders up to the critical-fractile quantile ``F^-1(cu / (cu + co))`` of demand over the lead
    time plus one period, where ``cu`` is the underage cost (margin or penalty per unit short)
    and ``co`` the overage cost (unit cost minus salvage, or holding plus write-off). Demand is
    Poisson with the forecast mean, or normal with the forecast mean and standard deviation.
    With ``L = 0`` and no stock carried over this is the classical newsvendor quantity (see
    :func:`policies.exact.newsvendor.newsvendor_quantity`).

    Args:
        underage_cost: cost per unit short, > 0, scalar or per row.
        overage_cost: cost per unit left over, > 0, scalar or per row.
        distribution: ``"poisson"`` or ``"normal"``.
    """

    def __init__(
        self,
        underage_cost: Level,
        overage_cost: Level,
        distribution: Literal["poisson", "normal"] = "poisson",
    ) -> None:
        self.underage_cost = as_levels("underage_cost", underage_cost, minimum=1e-12)
        self.overage_cost = as_levels("overage_cost", overage_cost, minimum=1e-12)
        if distribution not in ("poisson", "normal"):
            raise PolicyParameterError(
                f"distribution must be 'poisson' or 'normal', got {distribution!r}",
                field="distribution",
                value=distribution,
            )
        self.distribution = distribution

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        n = observation.n
        cu = _fit("underage_cost", self.underage_cost, n)
        co = _fit("overage_cost", self.overage_cost, n)
        ratio = np.broadcast_to(cu / (cu + co), (n,))
        mean, std = demand_moments(observation, "newsvendor")
        horizon = observation.lead_time + 1
        if self.distribution == "poisson":
            target = stats.poisson.ppf(ratio, np.maximum(mean * horizon, 1e-12))
        else:
            target = mean * horizon + _z(ratio) * std * np.sqrt(horizon)
        target = np.asarray(target, dtype=np.float64)
        return ReplenishmentDecision(_orders(target - observation.inventory_position), target)


@register("replenishment", "echelon_base_stock")
class EchelonBaseStock:
    """Echelon base-stock for a two-echelon warehouse-to-store network.

    Rows with ``parent == -1`` are warehouses (supplied from outside), the others are stores
    supplied by the warehouse row ``parent[i]``. Each store orders up to its installation level
    ``base_stock[i]`` (``max(S_i - IP_i, 0)``); the warehouse orders up to its *echelon* level,
    measured against its echelon inventory position (its own IP plus the IPs of its stores).
    When a warehouse's on-hand cannot cover its stores' orders, it is rationed in proportion to
    the orders (rounded down, leftovers to the largest orders), so no row ships stock it lacks.

    Args:
        base_stock: per row: the echelon level for warehouse rows, the installation level for
            store rows, units (scalar or per row).
    """

    def __init__(self, base_stock: Level) -> None:
        self.base_stock = as_levels("base_stock", base_stock)

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        n = observation.n
        parent = observation.require("parent", "echelon_base_stock").astype(np.int64)
        levels = np.broadcast_to(_fit("base_stock", self.base_stock, n), (n,))
        is_top = parent < 0
        if np.any(parent >= n) or np.any(~is_top & ~is_top[np.clip(parent, 0, n - 1)]):
            raise ObservationError(
                "echelon_base_stock needs parent[i] == -1 or the index of a row whose parent is -1"
            )
        ip = observation.inventory_position.astype(np.float64)
        store_idx = np.nonzero(~is_top)[0]
        children_ip = np.bincount(parent[store_idx], weights=ip[store_idx], minlength=n)
        echelon_ip = np.where(is_top, ip + children_ip, ip)
        orders = _orders(levels - echelon_ip)
        # Ration each warehouse's on-hand among its stores' orders.
        wanted = np.bincount(parent[store_idx], weights=orders[store_idx], minlength=n)
        supply = np.where(is_top, observation.on_hand, 0).astype(np.float64)
        short = is_top & (wanted > supply)
        if short.any() and store_idx.size:
            orders = _ration(orders, parent, store_idx, wanted, supply, short)
        return ReplenishmentDecision(orders, levels)


def _ration(
    orders: NDArray[np.int64],
    parent: NDArray[np.int64],
    store_idx: NDArray[np.int64],
    wanted: NDArray[Any],
    supply: NDArray[Any],
    short: NDArray[np.bool_],
) -> NDArray[np.int64]:
    """Proportional allocation of a short warehouse's on-hand, integer, largest remainders."""
    out = orders.copy()
    par = parent[store_idx]
    hit = short[par]
    idx = store_idx[hit]
    par = par[hit]
    share = orders[idx] * supply[par] / np.maximum(wanted[par], 1.0)
    alloc = np.floor(share).astype(np.int64)
    left = (supply - np.bincount(par, weights=alloc, minlength=len(orders))).astype(np.int64)
    # Hand leftover units to the largest fractional remainders within each warehouse.
    frac = share - alloc
    order = np.lexsort((-frac, par))
    par_sorted = par[order]
    first = np.searchsorted(par_sorted, par_sorted, side="left")
    rank = np.arange(len(order)) - first
    bonus = (rank < left[par_sorted]).astype(np.int64)
    alloc[order] += bonus
    out[idx] = alloc
    return out
