"""Warm start: begin a run at the replenishment policies' steady state, not from an arbitrary
stock level.

For every SKU-location with daily mean demand ``mu``, lead time ``L`` (days) and order-up-to
level ``S`` (the policy's, from :meth:`twin.replenishment.Replenisher.levels`), a base-stock
system in steady state holds, at the start of a day after the morning deliveries,

* on hand ``S - L mu`` (the level minus what is on order), and
* ``L - 1`` earlier orders of ``mu`` each still on the way, arriving on days ``1 .. L-1``.

The twin starts there: store shipments already on the road sit in the warehouse's transit
location (seeded with the starting stock) and are delivered by their SimPy processes;
supplier purchase orders placed before the run arrive on their days as receipts. Perishable
stock is capped at what sells within its shelf life (``mu * shelf_life``), and a location's
stock on hand is scaled down to its ``capacity_units`` where one is set. Daily
amounts are rounded so that the cumulative pipeline equals ``round(mu * k)`` after ``k`` days.

Units: quantities in units, time in days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.world import World

__all__ = ["WarmStart", "warm_start"]


@dataclass(frozen=True, slots=True)
class WarmStart:
    """The starting stock and the pipeline of a warm start.

    Attributes:
        on_hand: ``(n_locations, n_skus)`` starting units, transit rows included.
        shipments: ``(arrival day, warehouse, store, lines)`` store shipments on the road.
        purchase_orders: ``(due day, warehouse, supplier, lines)`` supplier orders on the way.
    """

    on_hand: np.ndarray
    shipments: list[tuple[int, int, int, np.ndarray]]
    purchase_orders: list[tuple[int, int, int, np.ndarray]]


def _daily(mu: np.ndarray, days: int) -> np.ndarray:
    """``(days, ...)`` integer amounts per day whose running sums are ``round(mu * k)``."""
    k = np.arange(days + 1, dtype=float).reshape((-1,) + (1,) * mu.ndim)
    cum = np.floor(mu[None] * k + 0.5).astype(np.int64)
    return np.diff(cum, axis=0)


def _fit(on_hand: np.ndarray, cap: int) -> float:
    """Scale factor (<= 1) so that the stock on hand fits ``cap`` (0 = unlimited)."""
    total = int(on_hand.sum())
    return 1.0 if cap <= 0 or total <= cap else cap / total


def warm_start(
    world: World,
    store_levels: np.ndarray,
    wh_levels: np.ndarray,
    store_lead: np.ndarray,
    sku_wh_lead: np.ndarray,
    capacity: np.ndarray,
) -> WarmStart:
    """The steady-state start of ``world`` (see the module docstring).

    Args:
        store_levels: ``(S, n)`` order-up-to levels of the stores.
        wh_levels: ``(W, n)`` order-up-to levels of the warehouses.
        store_lead: ``(S,)`` lead time (days) of each store's shipments.
        sku_wh_lead: ``(n,)`` supplier lead time (days) of each SKU.
        capacity: ``(S+W,)`` capacity in units (0 = unlimited).
    """
    S, W, n = world.n_stores, world.n_warehouses, world.n_skus
    mu = world.expected_daily_demand()  # (S+W, n)
    life = world.skus.shelf_life_days
    perishable = life > 0
    stock = np.zeros((world.n_locations, n), dtype=np.int64)
    shipments: list[tuple[int, int, int, np.ndarray]] = []
    pos: list[tuple[int, int, int, np.ndarray]] = []

    def start_level(row: int, level: np.ndarray, lead: np.ndarray) -> np.ndarray:
        oh = np.maximum(0.0, level - np.floor(mu[row] * lead + 0.5))
        oh = np.where(perishable, np.minimum(oh, np.ceil(mu[row] * life)), oh)
        start: np.ndarray = oh.astype(np.int64)
        return start

    for s in range(S):
        L = int(store_lead[s])
        oh = start_level(s, store_levels[s], np.full(n, float(L)))
        pipe = _daily(mu[s], max(0, L - 1))  # (L-1, n)
        f = _fit(oh, int(capacity[s]))
        if f < 1.0:
            oh = np.floor(oh * f).astype(np.int64)
        stock[s] = oh
        wh = int(world.store_warehouse[s])
        for j in range(pipe.shape[0]):
            if pipe[j].any():
                shipments.append((j + 1, wh, s, pipe[j]))
                stock[world.transit_row(wh)] += pipe[j]
    sup = world.skus.supplier
    for wh in range(W):
        row = S + wh
        lead = sku_wh_lead.astype(float)
        oh = start_level(row, wh_levels[wh], lead)
        span = int(sku_wh_lead.max(initial=1))
        pipe = _daily(mu[row], max(0, span - 1))  # (span-1, n)
        day = np.arange(1, span)[:, None]
        pipe = np.where(day <= (sku_wh_lead[None, :] - 1), pipe, 0)
        f = _fit(oh, int(capacity[row]))
        if f < 1.0:
            oh = np.floor(oh * f).astype(np.int64)
        stock[row] = oh
        for j in range(pipe.shape[0]):
            for sp in np.unique(sup).tolist():
                lines = np.where(sup == sp, pipe[j], 0)
                if lines.any():
                    pos.append((j + 1, wh, int(sp), lines))
    return WarmStart(on_hand=stock, shipments=shipments, purchase_orders=pos)
