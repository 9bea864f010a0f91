"""Average-cost dynamic programming for the single-SKU periodic-review inventory model.

Model (the timing of :mod:`dynamics.inventory`): at the start of period ``t`` the state is
``(x, q_1, ..., q_{L-1})`` where ``x`` is the on-hand stock after this period's arrival (net
of backorders with backorders) and ``q_j`` the order arriving ``j`` periods later. An order
``q`` is placed and arrives at the start of ``t + L``. Demand ``D`` is served; the period costs
``h * E[(x - D)^+] + p * E[(D - x)^+]`` (holding on end-of-period on-hand; penalty per unit lost,
or per unit of end-of-period backorders). The next state is ``(x' + q_1, q_2, ..., q_{L-1}, q)``
with ``x' = (x - D)^+`` (lost sales) or ``x - D`` (backorders). With ``L = 1`` the state is
``x`` alone and ``x' + q`` is next.

Solver: relative value iteration on a truncated grid, vectorised in NumPy. The expectation over
demand is one batched matrix product per sweep (a transition matrix over ``x`` applied to the
value function shifted by ``q_1``); the minimisation over orders is a masked ``min`` along one
axis. Stopping uses the Odoni bounds: ``min(TV - V) <= g* <= max(TV - V)``, so the reported
average cost is within ``tolerance`` of the optimum of the truncated model.

Truncation: the inventory position after ordering is at most ``max_position`` (orders that
would exceed it are not allowed), each order is at most ``max_order`` units, and with
backorders net stock below ``min_level`` is clipped to it. Defaults are chosen wide enough that
the optimal policy does not touch them in its recurrent states (checked in the tests by
widening them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from policies.exact.closed_form import optimal_backorder_base_stock
from policies.exact.demand import DiscreteDemand, ExactSolverError

__all__ = ["DPSolution", "InventoryMDP", "PolicyFn", "evaluate_policy", "solve"]

logger = logging.getLogger(__name__)

#: Maps the state grid (``x``, then one array per pipeline slot ``q_1..q_{L-1}``, broadcastable
#: to the grid) to the order placed in each state.
PolicyFn = Callable[[NDArray[np.int64], tuple[NDArray[np.int64], ...]], NDArray[np.int64]]


@dataclass(frozen=True, slots=True)
class InventoryMDP:
    """A single-SKU periodic-review instance (see the module docstring).

    Attributes:
        demand: demand per period.
        lead_time: ``L >= 1`` periods.
        holding: ``h``, cost per unit of end-of-period on-hand.
        penalty: ``p``, cost per unit lost (lost sales) or per unit backordered per period.
        lost_sales: lost sales (``True``) or backorders.
        max_position: largest inventory position after ordering (grid bound); default: the
            backorder-optimal base-stock level plus 2 (the lost-sales optimum never raises the
            position above the backorder base-stock level, Morton 1969).
        max_order: largest order (grid bound); default: the ``1 - 1e-4`` quantile of demand
            (Poisson(5): 15), at most ``max_position``.
        min_level: backorders only, lowest net stock kept on the grid; default
            ``-(L + 1) * d_max``.
    """

    demand: DiscreteDemand
    lead_time: int
    holding: float
    penalty: float
    lost_sales: bool = True
    max_position: int | None = None
    max_order: int | None = None
    min_level: int | None = None

    def __post_init__(self) -> None:
        if self.lead_time < 1:
            raise ExactSolverError(f"lead_time must be >= 1 for the DP, got {self.lead_time}")
        for name in ("holding", "penalty"):
            if not getattr(self, name) > 0:
                raise ExactSolverError(f"{name} must be > 0, got {getattr(self, name)!r}")

    @property
    def grid(self) -> tuple[int, int, int]:
        """``(min_level, max_position, max_order)`` after defaults."""
        d_max = self.demand.d_max
        b = self.max_position
        if b is None:
            level = optimal_backorder_base_stock(
                self.demand, self.lead_time, self.holding, self.penalty
            ).level
            b = level + 2
        lo = (
            0
            if self.lost_sales
            else (self.min_level if self.min_level is not None else -(self.lead_time + 1) * d_max)
        )
        if self.max_order is not None:
            qmax = self.max_order
        else:
            qmax = min(int(np.searchsorted(self.demand.cdf, 1.0 - 1e-4)), b)
        if b < 0 or qmax < 0 or lo > 0:
            raise ExactSolverError(f"bad grid: max_position={b}, max_order={qmax}, min_level={lo}")
        return lo, b, qmax


@dataclass(frozen=True, slots=True)
class DPSolution:
    """Result of :func:`solve` or :func:`evaluate_policy`.

    Attributes:
        average_cost: long-run average cost per period (midpoint of the bounds).
        lower_bound, upper_bound: Odoni bounds on the average cost of the truncated model.
        orders: order in each grid state, shape ``(n_x,) + (max_order + 1,) * (L - 1)``;
            axis 0 is ``x - min_level``, axis ``j`` is ``q_j``.
        relative_value: relative value function on the same grid.
        min_level: the ``x`` of index 0.
        iterations: sweeps performed.
    """

    average_cost: float
    lower_bound: float
    upper_bound: float
    orders: NDArray[np.int64] = field(repr=False)
    relative_value: NDArray[np.float64] = field(repr=False)
    min_level: int
    iterations: int

    def order_for(self, x: NDArray[Any], pipeline: NDArray[Any]) -> NDArray[np.int64]:
        """Optimal orders for states ``x`` (``(n,)``) and ``pipeline`` ``(n, L-1)``, clipped
        to the grid."""
        shape = self.orders.shape
        idx = [np.clip(np.asarray(x, dtype=np.int64) - self.min_level, 0, shape[0] - 1)]
        for j in range(1, len(shape)):
            idx.append(np.clip(np.asarray(pipeline[:, j - 1], dtype=np.int64), 0, shape[j] - 1))
        return np.asarray(self.orders[tuple(idx)], dtype=np.int64)


class _Grid:
    """Precomputed arrays of a truncated instance."""

    def __init__(self, mdp: InventoryMDP) -> None:
        lo, b, qmax = mdp.grid
        self.L = mdp.lead_time
        self.lo, self.b, self.nq = lo, b, qmax + 1
        self.nx = b - lo + 1
        xs = np.arange(lo, b + 1)
        over, under = mdp.demand.expected_excess(xs)
        self.cost = mdp.holding * over + mdp.penalty * under  # (nx,)
        # T[i, k]: probability that stock x = lo + i leaves level lo + k after demand.
        pmf = mdp.demand.pmf
        t = np.zeros((self.nx, self.nx))
        for i, x in enumerate(xs):
            d = np.arange(pmf.shape[0])
            after = x - d
            after = np.maximum(after, 0) if mdp.lost_sales else np.maximum(after, lo)
            np.add.at(t[i], after - lo, pmf)
        self.T = t
        # shift[q1] = index of x' + q1 for every x' index (clipped at the grid top).
        self.shift = np.minimum(
            np.arange(self.nx)[None, :] + np.arange(self.nq)[:, None], self.nx - 1
        )
        self.state_shape = (self.nx,) + (self.nq,) * (self.L - 1)
        # Inventory position of each state, in the layout of _expect's output.
        if self.L == 1:
            self.ip = xs[None, :]  # (1, nx); the action plays q1's role
        else:
            rest = self.L - 2
            ip = np.arange(self.nq)[:, None] + xs[None, :]
            ip = ip.reshape(ip.shape + (1,) * rest)
            for j in range(rest):
                shape = [1, 1] + [1] * rest
                shape[2 + j] = self.nq
                ip = ip + np.arange(self.nq).reshape(shape)
            self.ip = ip  # (nq, nx, nq, ..., nq) with L-2 trailing axes
        q = np.arange(self.nq)
        self.feasible = (q <= np.maximum(b - self.ip[..., None], 0)) | (q == 0)

    def expect(self, v: NDArray[np.float64]) -> NDArray[np.float64]:
        """``E[V(next state)]`` for every state and order, laid out as ``(q1, x, ..., q)``.

        For ``L = 1`` the layout is ``(1, x, q)``.
        """
        vflat = v.reshape(self.nx, -1)
        shifted = vflat[self.shift]  # (nq, nx, rest*nq)
        g = np.matmul(self.T, shifted)  # (nq[q1], nx[x], rest*nq)
        out: NDArray[np.float64]
        if self.L == 1:
            out = np.moveaxis(g[:, :, 0], 0, 1)[None, :, :]  # (1, x, q)
        else:
            out = g.reshape((self.nq, self.nx) + (self.nq,) * (self.L - 1))
        return out

    def to_state_layout(self, a: NDArray[Any]) -> NDArray[Any]:
        """From ``(q1, x, q2..q_{L-1})`` (or ``(1, x)``) to the state layout."""
        if self.L == 1:
            out: NDArray[Any] = a[0]
            return out
        return np.swapaxes(a, 0, 1)

    def from_state_layout(self, a: NDArray[Any]) -> NDArray[Any]:
        if self.L == 1:
            return a[None]
        return np.swapaxes(a, 0, 1)


def _iterate(
    grid: _Grid,
    step: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    v0: NDArray[np.float64] | None,
    tolerance: float,
    max_iterations: int,
) -> tuple[NDArray[np.float64], float, float, int]:
    v = np.zeros(grid.state_shape) if v0 is None else v0.copy()
    lo_b, hi_b = -np.inf, np.inf
    for it in range(1, max_iterations + 1):
        tv = step(v)
        diff = tv - v
        lo_b, hi_b = float(diff.min()), float(diff.max())
        v = tv - tv.flat[0]
        if hi_b - lo_b < tolerance:
            return v, lo_b, hi_b, it
    raise ExactSolverError(
        f"value iteration did not converge in {max_iterations} sweeps "
        f"(bounds {lo_b:.6g}..{hi_b:.6g}); raise max_iterations or tolerance"
    )


def solve(mdp: InventoryMDP, tolerance: float = 1e-6, max_iterations: int = 20_000) -> DPSolution:
    """Optimal long-run average cost and policy by relative value iteration.

    Args:
        mdp: the instance.
        tolerance: stop when the Odoni bounds are within this (cost units per period).
        max_iterations: sweep limit.

    Raises:
        ExactSolverError: if it does not converge within ``max_iterations``.
    """
    grid = _Grid(mdp)
    inf_mask = np.where(grid.feasible, 0.0, np.inf)
    cost = grid.cost.reshape((grid.nx,) + (1,) * (grid.L - 1))

    def step(v: NDArray[np.float64]) -> NDArray[np.float64]:
        q = grid.expect(v) + inf_mask
        out: NDArray[np.float64] = cost + grid.to_state_layout(q.min(axis=-1))
        return out

    v, lo_b, hi_b, it = _iterate(grid, step, None, tolerance, max_iterations)
    q = grid.expect(v) + inf_mask
    orders = grid.to_state_layout(q.argmin(axis=-1)).astype(np.int64)
    logger.info("DP solved %s in %d sweeps: g in [%.6f, %.6f]", mdp, it, lo_b, hi_b)
    return DPSolution(0.5 * (lo_b + hi_b), lo_b, hi_b, orders, v, grid.lo, it)


def evaluate_policy(
    mdp: InventoryMDP,
    policy: PolicyFn,
    tolerance: float = 1e-6,
    max_iterations: int = 20_000,
    initial_value: NDArray[np.float64] | None = None,
) -> DPSolution:
    """Exact long-run average cost of a stationary policy (relative value iteration).

    ``policy(x, (q_1, ..., q_{L-1}))`` receives broadcastable integer grids and returns the
    order in each state; orders are clipped to ``0..max_order`` and to the position bound.
    ``initial_value`` (a previous ``relative_value`` on the same grid) warm-starts the sweeps.

    Raises:
        ExactSolverError: if it does not converge within ``max_iterations``.
    """
    grid = _Grid(mdp)
    axes = np.ix_(*[np.arange(n) for n in grid.state_shape])
    x = axes[0] + grid.lo
    orders = np.broadcast_to(
        np.asarray(policy(x, tuple(axes[1:])), dtype=np.int64), grid.state_shape
    )
    ip_state = grid.to_state_layout(grid.ip) if grid.L > 1 else grid.ip[0]
    orders = np.clip(orders, 0, np.maximum(np.minimum(grid.nq - 1, grid.b - ip_state), 0))
    pick = grid.from_state_layout(orders)[..., None]
    cost = grid.cost.reshape((grid.nx,) + (1,) * (grid.L - 1))

    def step(v: NDArray[np.float64]) -> NDArray[np.float64]:
        q = np.take_along_axis(grid.expect(v), pick, axis=-1)[..., 0]
        out: NDArray[np.float64] = cost + grid.to_state_layout(q)
        return out

    v0 = (
        initial_value
        if initial_value is not None and initial_value.shape == grid.state_shape
        else None
    )
    v, lo_b, hi_b, it = _iterate(grid, step, v0, tolerance, max_iterations)
    return DPSolution(0.5 * (lo_b + hi_b), lo_b, hi_b, np.array(orders), v, grid.lo, it)
