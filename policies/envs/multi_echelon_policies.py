"""Policies for the network kernel: echelon base-stock and a feature-conditioned learned
policy, with common-random-number (CRN) search and evaluation.

- :func:`protection_demand`: mean and standard deviation of demand over each location's
  protection interval (stochastic lead time + one review day; the echelon lead time at
  warehouses).
- :class:`LevelPolicy`: order-up-to levels per copy, location and SKU, stores on their local
  position and warehouses on their echelon position (echelon base-stock), optionally capped.
- :func:`global_levels`: levels ``mean + k * sd`` with one safety factor per echelon.
- :func:`feature_levels`: safety factors and order caps as linear functions of SKU-location
  features (:func:`sku_features`), so one parameter vector serves any SKU and any network.
- :func:`evaluate_levels`: mean daily cost of many policies on the same random numbers.
- :func:`search_global_levels`: echelon base-stock tuned by CRN grid search.
- :func:`search_dispatch_levels`: the same plus a tuned truck dispatch threshold per echelon
  (the strongest hand-built heuristic here; fixed truck costs make daily dispatch wasteful).
- :func:`train_feature_policy`: the cross-entropy method over CRN rollouts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from policies.envs.multi_echelon_core import NetworkKernel, NetworkParams

__all__ = [
    "FEATURE_NAMES",
    "CEMResult",
    "LevelPolicy",
    "dispatch_levels",
    "evaluate_levels",
    "feature_levels",
    "global_levels",
    "initial_theta",
    "protection_demand",
    "search_dispatch_levels",
    "search_global_levels",
    "sku_features",
    "stack_policies",
    "train_feature_policy",
]

FEATURE_NAMES = ("bias", "log_mean/3", "cv", "log(p/h)/8", "lead_sd", "volume")
#: Parameters per echelon: one safety-factor weight per feature, a log order cap and a
#: dispatch threshold (logit of the fraction of the lane's truck volume).
PER_ECHELON = len(FEATURE_NAMES) + 2


def protection_demand(params: NetworkParams) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(W+S, N) mean and sd of demand over each location's protection interval (units).

    Stores: their own demand over ``lead + 1`` days. Warehouses: their stores' total demand
    over ``lead_in + lead_out + 1`` days (the echelon lead time). With i.i.d. daily demand of
    mean ``m`` and variance ``v`` and a random interval ``T``: mean ``E[T] m`` and variance
    ``E[T] v + m^2 Var[T]``. Weekly seasonality is averaged out.
    """
    p = params
    W = p.n_warehouses
    m_store = p.rate
    v_store = p.rate + p.dispersion[None, :] * p.rate**2
    lead_m, lead_v = p.lead_mean, p.lead_var
    t_store = lead_m[W:, None] + 1.0
    mean_s = t_store * m_store
    var_s = t_store * v_store + m_store**2 * lead_v[W:, None]
    blocks = p.store_blocks()
    m_wh = np.add.reduceat(m_store, blocks, axis=0)
    v_wh = np.add.reduceat(v_store, blocks, axis=0)
    out_m = np.add.reduceat(lead_m[W:], blocks) / np.diff(np.append(blocks, p.n_stores))
    out_v = np.add.reduceat(lead_v[W:], blocks) / np.diff(np.append(blocks, p.n_stores))
    t_wh = lead_m[:W, None] + out_m[:, None] + 1.0
    mean_w = t_wh * m_wh
    var_w = t_wh * v_wh + m_wh**2 * (lead_v[:W, None] + out_v[:, None])
    return np.concatenate([mean_w, mean_s]), np.sqrt(np.concatenate([var_w, var_s]))


def sku_features(params: NetworkParams) -> NDArray[np.float64]:
    """(W+S, N, 6) features of every SKU-location (:data:`FEATURE_NAMES`), fixed transforms
    (no statistics of the catalog), so they mean the same on any network."""
    p = params
    mu = np.maximum(p.mean_demand, 1e-3)
    W = p.n_warehouses
    var_store = p.rate + p.dispersion[None, :] * p.rate**2
    var_wh = np.add.reduceat(var_store, p.store_blocks(), axis=0)
    cv = np.sqrt(np.concatenate([var_wh, var_store])) / mu
    ratio = np.log(p.penalty[None, :] / np.maximum(p.holding, 1e-9)) / 8.0
    lead_sd = np.broadcast_to(np.sqrt(p.lead_var)[:, None], mu.shape)
    vol = np.broadcast_to(p.volume[None, :], mu.shape)
    del W
    return np.stack([np.ones_like(mu), np.log(mu) / 3.0, cv, ratio, lead_sd, vol], axis=-1)


@dataclass(frozen=True, slots=True)
class LevelPolicy:
    """Echelon base-stock: ``levels`` (E or 1, W+S, N) order-up-to levels in units; stores
    order up to their level on their local position, warehouses on their echelon position;
    every order is at most ``caps`` (same shape) if given; a location orders nothing on a day
    when its total order volume is below ``min_dispatch`` (E or 1, W+S) volume units (a truck
    is only worth its fixed cost when full enough)."""

    levels: NDArray[np.float64]
    caps: NDArray[np.float64] | None = None
    min_dispatch: NDArray[np.float64] | None = None

    def orders(self, kernel: NetworkKernel) -> NDArray[np.int64]:
        """(E, W+S, N) orders for the kernel's current state (units)."""
        W = kernel.W
        pos = (kernel.on_hand + kernel.in_transit).astype(np.float64)
        pos[:, :W] = kernel.echelon_position()
        q = np.maximum(np.ceil(self.levels - pos), 0.0)
        if self.caps is not None:
            q = np.minimum(q, np.floor(self.caps))
        if self.min_dispatch is not None:
            q = np.where((q @ kernel.p.volume < self.min_dispatch)[..., None], 0.0, q)
        return q.astype(np.int64)


def stack_policies(*policies: LevelPolicy) -> LevelPolicy:
    """One :class:`LevelPolicy` whose copies are those of ``policies`` in order (missing caps
    become infinite, missing dispatch thresholds zero), for paired CRN evaluation."""
    if not policies:
        raise ValueError("stack_policies needs at least one policy")
    levels = [np.atleast_3d(q.levels) for q in policies]
    caps = [
        np.full_like(lv, np.inf) if q.caps is None else np.broadcast_to(q.caps, lv.shape)
        for q, lv in zip(policies, levels, strict=True)
    ]
    disp = [
        np.zeros(lv.shape[:2])
        if q.min_dispatch is None
        else np.broadcast_to(q.min_dispatch, lv.shape[:2])
        for q, lv in zip(policies, levels, strict=True)
    ]
    return LevelPolicy(np.concatenate(levels), np.concatenate(caps), np.concatenate(disp))


def global_levels(
    params: NetworkParams, k_store: NDArray[np.float64], k_wh: NDArray[np.float64]
) -> LevelPolicy:
    """Echelon base-stock with one safety factor per echelon and copy: ``k_store``, ``k_wh``
    (E,) give levels ``mean + k sd`` of :func:`protection_demand`."""
    mean, sd = protection_demand(params)
    W = params.n_warehouses
    k = np.empty((len(k_store), params.n_locations, 1))
    k[:, :W] = np.asarray(k_wh, dtype=np.float64)[:, None, None]
    k[:, W:] = np.asarray(k_store, dtype=np.float64)[:, None, None]
    return LevelPolicy(levels=mean[None] + k * sd[None])


def feature_levels(params: NetworkParams, theta: NDArray[np.float64]) -> LevelPolicy:
    """The learned policy: ``theta`` (E, 2 * 8) holds, per echelon (warehouses, then stores),
    six safety-factor weights on :func:`sku_features`, a log order cap in days of expected
    demand and a dispatch threshold. Levels are ``mean + (features . w) sd``; orders are capped
    at ``exp(cap) * mean daily demand``; a location orders only when its order volume reaches
    ``sigmoid(threshold)`` of its lane's truck volume."""
    th = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    if th.shape[1] != 2 * PER_ECHELON:
        raise ValueError(f"theta must have {2 * PER_ECHELON} columns, got {th.shape}")
    f = sku_features(params)
    mean, sd = protection_demand(params)
    W = params.n_warehouses
    F = len(FEATURE_NAMES)
    k = np.empty((th.shape[0], params.n_locations, params.n_skus))
    k[:, :W] = np.einsum("lnf,ef->eln", f[:W], th[:, :F])
    k[:, W:] = np.einsum("lnf,ef->eln", f[W:], th[:, PER_ECHELON : PER_ECHELON + F])
    cap_days = np.empty((th.shape[0], params.n_locations, 1))
    cap_days[:, :W] = np.exp(np.clip(th[:, F], -3, 4))[:, None, None]
    cap_days[:, W:] = np.exp(np.clip(th[:, PER_ECHELON + F], -3, 4))[:, None, None]
    frac = np.empty((th.shape[0], params.n_locations))
    frac[:, :W] = 1.0 / (1.0 + np.exp(-th[:, F + 1]))[:, None]
    frac[:, W:] = 1.0 / (1.0 + np.exp(-th[:, PER_ECHELON + F + 1]))[:, None]
    return LevelPolicy(
        levels=mean[None] + k * sd[None],
        caps=cap_days * params.mean_demand[None],
        min_dispatch=frac * params.truck_capacity[None],
    )


def evaluate_levels(
    params: NetworkParams,
    policy: LevelPolicy,
    seeds: list[int] | tuple[int, ...],
    days: int = 120,
    warmup: int = 30,
) -> NDArray[np.float64]:
    """(len(seeds), E) mean daily cost (currency units) of each of the policy's ``E`` copies
    after ``warmup`` days, every copy on the same random numbers within a seed (CRN)."""
    E = policy.levels.shape[0]
    out = np.empty((len(seeds), E))
    for i, s in enumerate(seeds):
        k = NetworkKernel(params, E, common_random_numbers=True, seed=s)
        total = np.zeros(E)
        for t in range(warmup + days):
            res = k.step(policy.orders(k))
            if t >= warmup:
                total += res.cost
        out[i] = total / days
    return out


def search_global_levels(
    params: NetworkParams,
    seeds: list[int] | tuple[int, ...],
    days: int = 120,
    warmup: int = 30,
    coarse: NDArray[np.float64] | None = None,
) -> tuple[float, float, float]:
    """Echelon base-stock tuned by CRN grid search: a coarse grid of (store, warehouse) safety
    factors, then a 0.1-step 5 x 5 grid around the best; returns ``(k_store, k_wh, cost)``
    with the mean daily training cost."""
    grid = np.arange(-0.5, 4.51, 0.5) if coarse is None else np.asarray(coarse)
    ks, kw = (a.ravel() for a in np.meshgrid(grid, grid, indexing="ij"))
    cost = evaluate_levels(params, global_levels(params, ks, kw), seeds, days, warmup).mean(0)
    b = int(np.argmin(cost))
    fine = np.arange(-0.2, 0.21, 0.1)
    ks2, kw2 = (a.ravel() for a in np.meshgrid(ks[b] + fine, kw[b] + fine, indexing="ij"))
    cost2 = evaluate_levels(params, global_levels(params, ks2, kw2), seeds, days, warmup).mean(0)
    b2 = int(np.argmin(cost2))
    return float(ks2[b2]), float(kw2[b2]), float(cost2[b2])


def dispatch_levels(
    params: NetworkParams,
    k_store: NDArray[np.float64],
    k_wh: NDArray[np.float64],
    frac_store: NDArray[np.float64],
    frac_wh: NDArray[np.float64],
) -> LevelPolicy:
    """:func:`global_levels` plus a truck dispatch threshold per echelon: a location orders
    only when its order volume reaches ``frac`` of its lane's truck volume (all (E,))."""
    base = global_levels(params, k_store, k_wh)
    W = params.n_warehouses
    frac = np.empty((len(k_store), params.n_locations))
    frac[:, :W] = np.asarray(frac_wh, dtype=np.float64)[:, None]
    frac[:, W:] = np.asarray(frac_store, dtype=np.float64)[:, None]
    return LevelPolicy(base.levels, None, frac * params.truck_capacity[None])


def search_dispatch_levels(
    params: NetworkParams,
    seeds: list[int] | tuple[int, ...],
    k_store: float,
    k_wh: float,
    days: int = 120,
    warmup: int = 30,
) -> tuple[float, float, float, float, float]:
    """Echelon base-stock with tuned truck dispatch thresholds, by CRN grid search: thresholds
    ``{0, .1, .2, .3, .45, .6, .8}`` per echelon at the given safety factors, then safety
    factors ``+-0.6`` (step 0.3) at the best thresholds, then thresholds ``+-0.05`` again.
    Returns ``(k_store, k_wh, frac_store, frac_wh, training cost per day)``."""
    grid = np.array([0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8])
    fs, fw = (a.ravel() for a in np.meshgrid(grid, grid, indexing="ij"))
    ones = np.ones(fs.size)
    pol = dispatch_levels(params, k_store * ones, k_wh * ones, fs, fw)
    b = int(np.argmin(evaluate_levels(params, pol, seeds, days, warmup).mean(0)))
    f_s, f_w = float(fs[b]), float(fw[b])
    step = np.arange(-0.6, 0.61, 0.3)
    ks, kw = (a.ravel() for a in np.meshgrid(k_store + step, k_wh + step, indexing="ij"))
    ones = np.ones(ks.size)
    pol = dispatch_levels(params, ks, kw, f_s * ones, f_w * ones)
    b = int(np.argmin(evaluate_levels(params, pol, seeds, days, warmup).mean(0)))
    k_s, k_w = float(ks[b]), float(kw[b])
    near = np.arange(-0.05, 0.051, 0.05)
    fs, fw = (
        np.clip(a.ravel(), 0.0, 1.0) for a in np.meshgrid(f_s + near, f_w + near, indexing="ij")
    )
    ones = np.ones(fs.size)
    cost = evaluate_levels(
        params, dispatch_levels(params, k_s * ones, k_w * ones, fs, fw), seeds, days, warmup
    ).mean(0)
    b = int(np.argmin(cost))
    return k_s, k_w, float(fs[b]), float(fw[b]), float(cost[b])


@dataclass(frozen=True, slots=True)
class CEMResult:
    """Outcome of :func:`train_feature_policy`: the selected ``theta``, the generation it came
    from, its validation cost, and the per-generation mean training cost of the population."""

    theta: NDArray[np.float64]
    generation: int
    validation_cost: float
    history: list[float]


def initial_theta(
    k_store: float = 1.5,
    k_wh: float = 1.5,
    cap_days: float = 4.0,
    frac_store: float = 0.05,
    frac_wh: float = 0.05,
) -> NDArray[np.float64]:
    """A starting ``theta``: constant safety factors, order caps (days of expected demand)
    and truck dispatch thresholds (fractions of a truck, clipped to [0.001, 0.999])."""
    th = np.zeros(2 * PER_ECHELON)
    th[0], th[PER_ECHELON] = k_wh, k_store
    F = len(FEATURE_NAMES)
    th[F] = th[PER_ECHELON + F] = np.log(cap_days)

    def logit(f: float) -> float:
        f = min(max(f, 1e-3), 0.999)
        return float(np.log(f / (1.0 - f)))

    th[F + 1], th[PER_ECHELON + F + 1] = logit(frac_wh), logit(frac_store)
    return th


def train_feature_policy(
    params: NetworkParams,
    rng: np.random.Generator,
    generations: int = 20,
    population: int = 32,
    elite: int = 8,
    days: int = 120,
    warmup: int = 30,
    validation_seeds: tuple[int, ...] = (),
    validate_every: int = 5,
    theta0: NDArray[np.float64] | None = None,
    log: Callable[[str], None] | None = None,
) -> CEMResult:
    """The cross-entropy method over CRN rollouts: each generation samples ``population``
    parameter vectors around the mean, simulates them all on one fresh training seed drawn
    from ``rng`` (common random numbers: the population differs only by its policy), and
    refits mean and std on the ``elite`` cheapest. Every ``validate_every`` generations (and
    at the end) the current mean is scored on ``validation_seeds``; the best-scoring mean is
    returned (checkpoint selection on validation simulations, never on the reported test
    seeds). Without validation seeds the final mean is returned."""
    mean = initial_theta() if theta0 is None else np.array(theta0, dtype=np.float64)
    std = np.full(mean.size, 0.3)
    F = len(FEATURE_NAMES)
    std[F + 1] = std[PER_ECHELON + F + 1] = 2.0
    history: list[float] = []
    best = (np.inf, mean.copy(), 0)
    if validation_seeds:  # the starting point is a candidate too (generation 0)
        v0 = evaluate_levels(params, feature_levels(params, mean), validation_seeds, days, warmup)
        best = (float(v0.mean()), mean.copy(), 0)
    for g in range(1, generations + 1):
        pop = mean + std * rng.standard_normal((population, mean.size))
        pop[0] = mean
        seed = int(rng.integers(2**31))
        cost = evaluate_levels(params, feature_levels(params, pop), [seed], days, warmup)[0]
        order = np.argsort(cost)[:elite]
        mean = pop[order].mean(axis=0)
        std = np.maximum(pop[order].std(axis=0), 0.02)
        history.append(float(cost.mean()))
        if log is not None:
            log(f"gen {g}: population mean {cost.mean():.2f}, best {cost[order[0]]:.2f}")
        if validation_seeds and (g % validate_every == 0 or g == generations):
            v = float(
                evaluate_levels(
                    params, feature_levels(params, mean), validation_seeds, days, warmup
                ).mean()
            )
            if v < best[0]:
                best = (v, mean.copy(), g)
    if not validation_seeds:
        return CEMResult(mean, generations, float("nan"), history)
    return CEMResult(best[1], best[2], best[0], history)
