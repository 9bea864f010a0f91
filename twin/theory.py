"""Exact long-run measures of the single-SKU base-stock system, used to validate the twin.

Model (the inventory kernel's timing, ``dynamics.inventory``): periodic review, one period
= one day; Poisson(``rate``) demand per day; an order placed at the start of day ``t`` arrives at
the start of day ``t + L``, before that day's demand; unmet demand is lost; a base-stock
(order-up-to) policy with level ``S`` raises the inventory position to ``S`` every morning.

With base-stock and lost sales each order equals the previous day's sales, so the stock
available for sale on day ``t`` is ``S`` minus the sales of the ``L`` preceding days. The state
of the Markov chain is that vector of the last ``L`` daily sales (``C(S+L, L)`` states); its
stationary distribution gives the exact fill rate ``E[sales] / rate`` and the mean end-of-day
on-hand ``S - (L + 1) E[sales]``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats


class TheoryError(ValueError):
    """Bad parameters for the analytic model (the message names the parameter and value)."""


@dataclass(frozen=True, slots=True)
class BaseStockTheory:
    """Exact stationary measures of the lost-sales base-stock system.

    Attributes:
        fill_rate: expected share of demanded units sold.
        mean_sales: expected units sold per day.
        mean_end_on_hand: expected on-hand units at the end of a day (after demand).
        stockout_probability: probability that stock runs out during a day
            (end-of-day on-hand is zero).
    """

    fill_rate: float
    mean_sales: float
    mean_end_on_hand: float
    stockout_probability: float


def lost_sales_base_stock(rate: float, lead_time_days: int, base_stock: int) -> BaseStockTheory:
    """Stationary fill rate and mean on-hand of the lost-sales base-stock system.

    Args:
        rate: mean Poisson demand per day (> 0).
        lead_time_days: order lead time ``L`` in days (0..4).
        base_stock: order-up-to level ``S`` in units (1..200).

    Raises:
        TheoryError: on a parameter outside those ranges.
    """
    if not (rate > 0 and math.isfinite(rate)):
        raise TheoryError(f"rate {rate!r} must be a positive number of units per day")
    if not 0 <= lead_time_days <= 4:
        raise TheoryError(f"lead_time_days {lead_time_days!r} must be in 0..4")
    if not 1 <= base_stock <= 200:
        raise TheoryError(f"base_stock {base_stock!r} must be in 1..200")
    S, L = base_stock, lead_time_days
    pmf = stats.poisson.pmf(np.arange(S + 1), rate)
    # P(min(D, a) = k) for k < a is pmf[k]; P(= a) is the tail P(D >= a).
    tail = stats.poisson.sf(np.arange(S + 1) - 1, rate)  # P(D >= a)

    def sales_dist(avail: int) -> tuple[np.ndarray, np.ndarray]:
        ks = np.arange(avail + 1)
        p = pmf[: avail + 1].copy()
        p[avail] = tail[avail]
        return ks, p

    if L == 0:
        ks, p = sales_dist(S)
        mean_sales = float(ks @ p)
        return BaseStockTheory(
            fill_rate=mean_sales / rate,
            mean_sales=mean_sales,
            mean_end_on_hand=S - mean_sales,
            stockout_probability=float(p[S]),
        )

    states = [s for s in itertools.product(range(S + 1), repeat=L) if sum(s) <= S]
    index = {s: i for i, s in enumerate(states)}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for s in states:
        avail = S - sum(s)
        ks, p = sales_dist(avail)
        for k, pk in zip(ks.tolist(), p.tolist(), strict=True):
            if pk > 0:
                rows.append(index[s])
                cols.append(index[(*s[1:], k)])
                vals.append(pk)
    n = len(states)
    P = sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))
    pi = np.full(n, 1.0 / n)
    for _ in range(100_000):
        nxt = P.T @ pi
        if np.abs(nxt - pi).sum() < 1e-14:
            pi = nxt
            break
        pi = nxt
    pi = pi / pi.sum()
    mean_sales = 0.0
    p_out = 0.0
    for s, w in zip(states, pi, strict=True):
        avail = S - sum(s)
        ks, p = sales_dist(avail)
        mean_sales += w * float(ks @ p)
        p_out += w * float(p[avail])
    return BaseStockTheory(
        fill_rate=float(mean_sales / rate),
        mean_sales=float(mean_sales),
        mean_end_on_hand=float(S - (L + 1) * mean_sales),
        stockout_probability=float(p_out),
    )


def batch_means_ci(series: np.ndarray, batches: int = 20, z: float = 3.0) -> tuple[float, float]:
    """Mean of a stationary daily series and the half-width of its ``z``-sigma CI.

    The standard error comes from non-overlapping batch means, which absorbs the day-to-day
    correlation of inventory processes; the width therefore shrinks like ``1/sqrt(days)``.

    Raises:
        TheoryError: if the series is shorter than ``2 * batches`` days.
    """
    x = np.asarray(series, dtype=float)
    if x.size < 2 * batches:
        raise TheoryError(f"series of {x.size} days is too short for {batches} batches")
    m = x.size // batches
    means = x[: m * batches].reshape(batches, m).mean(axis=1)
    se = means.std(ddof=1) / math.sqrt(batches)
    return float(x[: m * batches].mean()), float(z * se)


def ratio_ci(
    numerator: np.ndarray, denominator: np.ndarray, batches: int = 20, z: float = 3.0
) -> tuple[float, float]:
    """``sum(numerator) / sum(denominator)`` (e.g. a fill rate) and its ``z``-sigma half-width.

    The half-width comes from the spread of the ratio over non-overlapping batches of days.

    Raises:
        TheoryError: if the series are shorter than ``2 * batches`` days or differ in length.
    """
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    if num.shape != den.shape:
        raise TheoryError(f"series lengths differ: {num.shape} vs {den.shape}")
    if num.size < 2 * batches:
        raise TheoryError(f"series of {num.size} days is too short for {batches} batches")
    m = num.size // batches
    nb = num[: m * batches].reshape(batches, m).sum(axis=1)
    db = den[: m * batches].reshape(batches, m).sum(axis=1)
    ratios = nb / np.maximum(db, 1e-12)
    se = ratios.std(ddof=1) / math.sqrt(batches)
    return float(nb.sum() / db.sum()), float(z * se)
