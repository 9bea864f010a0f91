"""Evaluate replenishment policies on the shared inventory kernel with common random numbers.

Every policy is a vectorised callable ``obs (n, obs_dim) -> orders (n,)`` over the observation
of ``ShopSphere/Replenishment-v0`` (available stock, pipeline, inventory position). Replication
``r``
of seed ``s`` draws its demand path from ``numpy.random.default_rng([s, r])`` whatever the
policy does, so policies compared on the same seeds see the same demand (common random
numbers) and their per-replication differences have a small variance.

Validation of an exported artifact needs neither torch nor stable-baselines3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from dynamics.demand import sample_demand_periods
from dynamics.inventory import initial_state, inventory_step
from policies.artifacts import ArtifactPolicy, ValidationReport, safety_checks
from policies.envs.replenishment import observation_batch
from policies.replenishment.base_stock import OrderFn
from policies.stats import mean_ci

__all__ = [
    "CostEstimate",
    "OrderFn",
    "estimate_cost",
    "from_artifact",
    "simulate_costs",
    "validate_replenishment",
]


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """Long-run average cost per period: mean and a 95% confidence half-width over replications."""

    mean: float
    half_width: float
    n_reps: int

    def __str__(self) -> str:
        return f"{self.mean:.3f} ± {self.half_width:.3f}"


def from_artifact(policy: ArtifactPolicy) -> OrderFn:
    """The order function of an exported policy (its ``decide`` in units)."""
    return lambda obs: policy.decide(obs)[:, 0].astype(np.int64)


def _demand(seeds: Sequence[int], n_reps: int, periods: int, mean: float) -> NDArray[np.int64]:
    rows = [
        sample_demand_periods(np.random.default_rng([s, r]), mean, periods)
        for s in seeds
        for r in range(n_reps)
    ]
    return np.asarray(rows, dtype=np.int64)


def simulate_costs(
    order_fn: OrderFn,
    *,
    demand_mean: float = 5.0,
    lead_time: int = 2,
    holding_cost: float = 1.0,
    penalty_cost: float = 9.0,
    lost_sales: bool = True,
    seeds: Sequence[int] = (0,),
    n_reps: int = 16,
    periods: int = 2000,
    burn_in: int = 200,
    copies: int = 1,
) -> NDArray[np.float64]:
    """Average cost per period after ``burn_in``, for each (seed, replication).

    ``copies > 1`` evaluates ``copies`` policy variants side by side on the same demand (the
    order function then sees ``copies * len(seeds) * n_reps`` rows, copy-major) and returns
    shape ``(copies, len(seeds) * n_reps)``; otherwise shape ``(len(seeds) * n_reps,)``.

    Raises:
        ValueError: ``periods <= burn_in`` or the order function returns negative orders.
    """
    if periods <= burn_in:
        raise ValueError(f"periods ({periods}) must exceed burn_in ({burn_in})")
    d = np.tile(_demand(seeds, n_reps, periods, demand_mean), (copies, 1))
    n = d.shape[0]
    start = round(demand_mean * (lead_time + 1))
    state = initial_state(
        n, lead_time, on_hand=start, pipeline=np.full(lead_time, round(demand_mean))
    )
    total = np.zeros(n)
    for t in range(periods):
        obs = observation_batch(state.on_hand - state.backorders, state.pipeline)
        q = np.asarray(order_fn(obs), dtype=np.int64)
        if q.size and q.min() < 0:
            raise ValueError(f"policy returned a negative order {q.min()} at period {t}")
        state, res = inventory_step(
            state,
            q,
            d[:, t],
            lost_sales=lost_sales,
            holding_cost=holding_cost,
            penalty_cost=penalty_cost,
            validate=False,
        )
        if t >= burn_in:
            total += res.cost
    avg = total / (periods - burn_in)
    return avg.reshape(copies, -1) if copies > 1 else avg


def estimate_cost(values: NDArray[np.float64]) -> CostEstimate:
    """Mean and 95% t-interval half-width of independent per-replication averages."""
    ci = mean_ci(values)
    return CostEstimate(ci.mean, ci.half_width, ci.n)


def validate_replenishment(
    policy: ArtifactPolicy,
    baseline: OrderFn,
    *,
    baseline_name: str,
    artifact_sha256: str,
    seeds: Sequence[int] = (101, 102, 103, 104, 105, 106, 107, 108),
    periods: int = 3000,
    alpha: float = 0.05,
    **instance: float | int | bool,
) -> ValidationReport:
    """Compare ``policy`` with ``baseline`` over ``seeds`` with CRN on the shared kernel.

    One long replication per seed; a one-sided paired t-test on the per-seed average costs
    (H1: the policy's cost is lower). Safety checks run on the states visited.
    """
    sim = dict(
        instance, seeds=tuple(seeds), n_reps=1, periods=periods, burn_in=min(200, periods // 5)
    )
    pol = simulate_costs(from_artifact(policy), **sim)  # type: ignore[arg-type]
    base = simulate_costs(baseline, **sim)  # type: ignore[arg-type]
    diff = pol - base
    if np.allclose(diff, diff[0]):
        p_value = 0.0 if diff[0] < 0 else 1.0
    else:
        p_value = float(stats.ttest_rel(pol, base, alternative="less").pvalue)
    lead_time = int(instance.get("lead_time", 2))
    mean = float(instance.get("demand_mean", 5.0))
    rng = np.random.default_rng(0)
    probe = rng.integers(0, round(4 * mean * (lead_time + 1)) + 1, size=(2000, max(lead_time, 1)))
    probe_obs = np.column_stack([probe, probe.sum(axis=1)]).astype(np.float32)
    return ValidationReport(
        artifact_sha256=artifact_sha256,
        env_id=policy.manifest.env_id,
        simulator="kernel",
        baseline=baseline_name,
        objective="cost",
        seeds=tuple(int(s) for s in seeds),
        policy_values=tuple(float(v) for v in pol),
        baseline_values=tuple(float(v) for v in base),
        p_value=p_value,
        alpha=alpha,
        safety=safety_checks(policy, probe_obs),
        periods=periods,
    )
