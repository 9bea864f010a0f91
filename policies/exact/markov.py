"""Exact long-run metrics of a stationary order policy from its Markov chain.

The chain is that of :mod:`policies.exact.dp` (state ``(x, q_1, ..., q_{L-1})``, ``x`` the
on-hand after this period's arrival, or net stock with backorders). Only the states a policy
can keep (inventory position after ordering at most ``max_position``) are enumerated, its
sparse transition matrix is built in one vectorised pass, and the stationary distribution is
found by power iteration. This is far cheaper than value iteration on the full grid for
base-stock and capped base-stock policies, whose states satisfy ``x + q_1 + ... <= S``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from policies.exact.demand import ExactSolverError
from policies.exact.dp import InventoryMDP, PolicyFn

__all__ = ["StationaryMetrics", "stationary_metrics"]


@dataclass(frozen=True, slots=True)
class StationaryMetrics:
    """Long-run averages per period under a policy (exact for the truncated chain).

    Attributes:
        average_cost: holding + penalty, cost units per period.
        holding_cost, penalty_cost: the two components.
        mean_on_hand: end-of-period on-hand, units.
        mean_shortage: lost units (lost sales) or end-of-period backorders, units per period.
        fill_rate: share of demand served from stock in the period it occurs (lost sales:
            ``1 - lost / mean demand``; backorders: ``E[min(D, x^+)] / mean demand``).
        mean_order: units ordered per period.
        n_states: states enumerated.
        iterations: power-iteration sweeps.
    """

    average_cost: float
    holding_cost: float
    penalty_cost: float
    mean_on_hand: float
    mean_shortage: float
    fill_rate: float
    mean_order: float
    n_states: int
    iterations: int


def _states(mdp: InventoryMDP, lo: int, b: int, qmax: int) -> NDArray[np.int64]:
    """All ``(x, q_1..q_{L-1})`` with ``lo <= x``, ``q_j <= qmax`` and ``x + sum q <= b``."""
    dims = (b - lo + 1,) + (qmax + 1,) * (mdp.lead_time - 1)
    grid = np.indices(dims).reshape(len(dims), -1).T
    grid[:, 0] += lo
    keep = grid.sum(axis=1) <= b
    return np.ascontiguousarray(grid[keep])


def stationary_metrics(
    mdp: InventoryMDP,
    policy: PolicyFn,
    *,
    tolerance: float = 1e-11,
    max_iterations: int = 100_000,
    start_level: int | None = None,
) -> StationaryMetrics:
    """Exact stationary averages of ``policy`` on ``mdp`` (see :class:`StationaryMetrics`).

    Args:
        mdp: the instance; its ``max_position`` bounds the inventory position after ordering
            (set it to ``S`` for a base-stock level ``S``) and ``max_order`` the orders.
        policy: ``policy(x, (q_1, ..., q_{L-1}))`` -> orders, vectorised over states; orders are
            clipped to ``0..max_order`` and so the position stays ``<= max_position``.
        tolerance: stop when the L1 change of the distribution is below this.
        max_iterations: power-iteration limit.
        start_level: initial ``x`` with an empty pipeline (default ``max_position``).

    Raises:
        ExactSolverError: if the distribution does not converge.
    """
    lo, b, qmax = mdp.grid
    states = _states(mdp, lo, b, qmax)
    n, L = states.shape[0], mdp.lead_time
    x = states[:, 0]
    pipe = tuple(states[:, j] for j in range(1, L))
    ip = states.sum(axis=1)
    q = np.asarray(np.broadcast_to(policy(x, pipe), (n,)), dtype=np.int64)
    q = np.clip(q, 0, np.minimum(qmax, np.maximum(b - ip, 0)))

    # Encode states in mixed radix for lookup.
    dims = np.array((b - lo + 1,) + (qmax + 1,) * (L - 1), dtype=np.int64)
    radix = np.concatenate([np.cumprod(dims[::-1])[::-1][1:], [1]])
    lookup = np.full(int(np.prod(dims)), -1, dtype=np.int64)
    lookup[(states - np.r_[lo, np.zeros(L - 1, dtype=np.int64)]) @ radix] = np.arange(n)

    pmf = mdp.demand.pmf
    d = np.arange(pmf.shape[0])
    after = x[:, None] - d[None, :]  # (n, d)
    after = np.maximum(after, 0 if mdp.lost_sales else lo)
    head = pipe[0][:, None] if L > 1 else q[:, None]
    nxt = np.empty((n, pmf.shape[0], L), dtype=np.int64)
    nxt[:, :, 0] = after + head - lo
    for j in range(1, L - 1):
        nxt[:, :, j] = pipe[j][:, None]
    if L > 1:
        nxt[:, :, L - 1] = q[:, None]
    cols = lookup[nxt @ radix]
    if (cols < 0).any():
        raise ExactSolverError("policy leaves the enumerated state set; widen the grid")
    rows = np.repeat(np.arange(n), pmf.shape[0])
    probs = np.broadcast_to(pmf, (n, pmf.shape[0])).ravel()
    pt = sparse.csr_matrix((probs, (cols.ravel(), rows)), shape=(n, n))  # P transposed

    start = b if start_level is None else start_level
    start_state = np.zeros(L, dtype=np.int64)
    start_state[0] = min(max(start, lo), b) - lo
    pi = np.zeros(n)
    pi[lookup[start_state @ radix]] = 1.0
    for it in range(1, max_iterations + 1):
        new = pt @ pi
        if it % 10 == 0:
            change = float(np.abs(new - pi).sum())
            if change < tolerance:
                pi = new
                break
        pi = new
    else:
        raise ExactSolverError(
            f"stationary distribution did not converge in {max_iterations} sweeps"
        )
    pi = pi / pi.sum()

    over, under = mdp.demand.expected_excess(x)
    mean_demand = mdp.demand.mean
    hold = float(pi @ over) * mdp.holding
    short = float(pi @ under)
    served = float(pi @ (np.maximum(x, 0).astype(np.float64) - over))
    return StationaryMetrics(
        average_cost=hold + mdp.penalty * short,
        holding_cost=hold,
        penalty_cost=mdp.penalty * short,
        mean_on_hand=float(pi @ over),
        mean_shortage=short,
        fill_rate=served / mean_demand if mean_demand > 0 else 1.0,
        mean_order=float(pi @ q),
        n_states=n,
        iterations=it,
    )
