"""Long-run average cost of a replenishment policy by simulation on the shared kernel.

``evaluate(policy, instance, periods, seed)`` runs ``policy`` on a single-SKU instance
(:class:`policies.exact.dp.InventoryMDP`: demand, lead time, holding and penalty costs, lost
sales or backorders) with :func:`dynamics.inventory.inventory_step`, the kernel the twin and
the Gymnasium environments use, so its costs are those of the exact solvers. ``n_paths``
independent copies run side by side as rows of one vectorised state. The confidence interval
comes from batch means: after a warm-up, each path's periods are cut into ``batches``
consecutive batches, and the batch averages are treated as independent (Student t).

The policy sees the true demand mean and standard deviation per period (an oracle forecast)
in ``demand_mean``/``demand_std``, plus the last ``history`` demands in ``demand_history``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dynamics.inventory import initial_state, inventory_step
from policies.exact.demand import ExactSolverError
from policies.exact.dp import InventoryMDP
from policies.replenishment.types import ReplenishmentObservation, ReplenishmentPolicy
from policies.stats import mean_ci

__all__ = ["EvaluationResult", "evaluate"]


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    """Simulated long-run averages per period, with a confidence interval on the cost.

    Attributes:
        average_cost: mean cost per period after warm-up, cost units.
        ci_low, ci_high: confidence interval on the long-run average cost.
        confidence: level of the interval (e.g. 0.95).
        mean_on_hand: end-of-period on-hand, units.
        mean_shortage: lost units (lost sales) or end-of-period backorders, units per period.
        fill_rate: share of demand served in the period it occurs.
        mean_order: units ordered per period.
        periods, warmup, n_paths, batches: the run's design.
    """

    average_cost: float
    ci_low: float
    ci_high: float
    confidence: float
    mean_on_hand: float
    mean_shortage: float
    fill_rate: float
    mean_order: float
    periods: int
    warmup: int
    n_paths: int
    batches: int

    @property
    def half_width(self) -> float:
        """Half the width of the confidence interval."""
        return 0.5 * (self.ci_high - self.ci_low)

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the confidence interval."""
        return self.ci_low <= value <= self.ci_high


def _draw(
    cdf: NDArray[np.float64], rng: np.random.Generator, shape: tuple[int, int]
) -> NDArray[np.int64]:
    u = rng.random(shape)
    out: NDArray[np.int64] = np.minimum(
        np.searchsorted(cdf, u, side="right"), cdf.shape[0] - 1
    ).astype(np.int64)
    return out


def evaluate(
    policy: ReplenishmentPolicy,
    instance: InventoryMDP,
    periods: int = 100_000,
    seed: int | np.random.Generator = 0,
    *,
    n_paths: int = 1,
    warmup: int | None = None,
    batches: int = 20,
    confidence: float = 0.95,
    history: int = 0,
) -> EvaluationResult:
    """Simulate ``policy`` on ``instance`` and estimate its long-run average cost.

    Args:
        policy: any replenishment policy (``decide(observation) -> decision``).
        instance: single-SKU instance (its grid bounds are ignored here).
        periods: periods simulated per path after the warm-up (>= ``batches``).
        seed: seed or generator; the one generator draws all demand.
        n_paths: independent paths simulated together (rows of one state).
        warmup: periods discarded first (default ``max(100, periods // 10)``).
        batches: batches per path for the batch-means interval (>= 2 in total).
        confidence: level of the interval, in (0, 1).
        history: past demands passed to the policy in ``demand_history`` (0: none).

    Returns:
        An :class:`EvaluationResult`.

    Raises:
        ExactSolverError: on bad run-design arguments.
    """
    if periods < batches or batches < 1 or n_paths < 1 or n_paths * batches < 2:
        raise ExactSolverError(
            f"need periods >= batches >= 1 and n_paths * batches >= 2, got periods={periods}, "
            f"batches={batches}, n_paths={n_paths}"
        )
    if not 0 < confidence < 1:
        raise ExactSolverError(f"confidence must be in (0, 1), got {confidence!r}")
    warm = max(100, periods // 10) if warmup is None else warmup
    if warm < 0:
        raise ExactSolverError(f"warmup must be >= 0, got {warm}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    demand = instance.demand
    L = instance.lead_time
    mean = demand.mean
    std = float(np.sqrt(((np.arange(demand.pmf.shape[0]) - mean) ** 2) @ demand.pmf))
    cdf = demand.cdf
    n = n_paths
    state = initial_state(n, L, on_hand=math.ceil(mean), pipeline=np.full(L, round(mean)))
    mean_v = np.full(n, mean)
    std_v = np.full(n, std)
    lead_v = np.full(n, L, dtype=np.int64)
    hist: NDArray[Any] | None = (
        np.full((n, history), round(mean), dtype=np.int64) if history else None
    )

    total = warm + periods
    per_batch = periods // batches
    used = per_batch * batches
    # Per-period records after warm-up, (used, n); reduced into batches at the end.
    rec = {k: np.zeros((used, n)) for k in ("cost", "on_hand", "short", "served", "order")}
    demand_used = 0.0
    chunk = 4096
    draws = _draw(cdf, rng, (min(chunk, total), n))
    for t in range(total):
        if t % chunk == 0 and t:
            draws = _draw(cdf, rng, (min(chunk, total - t), n))
        obs = ReplenishmentObservation(
            on_hand=state.on_hand,
            pipeline=state.pipeline,
            backorders=state.backorders,
            lead_time=lead_v,
            period=t,
            demand_mean=mean_v,
            demand_std=std_v,
            demand_history=hist,
            holding_cost=None,
            penalty_cost=None,
        )
        orders = np.asarray(policy.decide(obs).orders)
        if orders.shape != (n,) or (orders < 0).any():
            raise ExactSolverError(f"policy returned bad orders {orders!r} for {n} rows")
        d = draws[t % chunk]
        before_bo = state.backorders
        state, r = inventory_step(
            state,
            orders,
            d,
            lost_sales=instance.lost_sales,
            holding_cost=instance.holding,
            penalty_cost=instance.penalty,
            validate=False,
        )
        if hist is not None:
            hist = np.concatenate([hist[:, 1:], d[:, None]], axis=1)
        k = t - warm
        if 0 <= k < used:
            rec["cost"][k] = r.cost
            rec["on_hand"][k] = r.end_on_hand
            rec["short"][k] = r.lost if instance.lost_sales else r.end_backorders
            rec["served"][k] = r.sales - np.minimum(before_bo, r.sales)
            rec["order"][k] = orders
            demand_used += float(d.sum())
    sums = {k: v.reshape(batches, per_batch, n).sum(axis=1).T for k, v in rec.items()}

    batch_cost = (sums["cost"] / per_batch).ravel()
    ci = mean_ci(batch_cost, confidence)
    avg, half = ci.mean, ci.half_width
    total_used = used * n
    dem = demand_used
    return EvaluationResult(
        average_cost=avg,
        ci_low=avg - half,
        ci_high=avg + half,
        confidence=confidence,
        mean_on_hand=float(sums["on_hand"].sum()) / total_used,
        mean_shortage=float(sums["short"].sum()) / total_used,
        fill_rate=float(sums["served"].sum()) / dem if dem > 0 else 1.0,
        mean_order=float(sums["order"].sum()) / total_used,
        periods=periods,
        warmup=warm,
        n_paths=n,
        batches=batches,
    )
