"""Exact average-profit DP for joint pricing and replenishment of one SKU (the model of
``ShopSphere/JointPricingReplenishment-v0``, :mod:`policies.envs.joint`).

Model (the timing of :mod:`dynamics.inventory`, lost sales, non-perishable): at the start of a
period the state is ``(y, q_1, ..., q_{L-1})``: ``y`` units on hand after this period's
arrival and the orders arriving in later periods. The seller posts a price ``p`` from a grid
and orders ``q`` units (arriving after ``L`` periods) at ``unit_cost`` each. Demand is
``Poisson(a exp(-b p))`` (:func:`dynamics.price.exponential_rate`); sales are ``min(y, D)``;
end-of-period stock ``z = (y - D)^+`` pays ``holding_cost`` per unit. The period's profit is
``p * sales - unit_cost * q - holding_cost * z``; the next state is ``(z + q)`` for ``L = 1``
and ``(z + q_1, q)`` for ``L = 2``.

Finite inventory: the inventory position after ordering, ``y + q_1 + ... + q``, is at most
``max_position`` (a storage limit; pick it wide enough not to bind, checked by
:func:`solve_joint` reporting ``position_binds``), and ``q <= max_order``. Demand needs no
truncation: only ``P(D = d)`` for ``d < max_position`` and the tail ``P(D >= y)`` enter.

Solver: relative value iteration (maximising the long-run average profit per period), every
expectation one batched matrix product; it stops when the Odoni bounds on the optimal gain
are within ``tolerance``. :func:`evaluate_joint_policy` gives the exact long-run profit of any
stationary policy from its Markov chain (used for brute-force checks and for scoring learned
or heuristic policies without sampling error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dynamics.price import demand_rate
from policies.exact.demand import ExactSolverError

__all__ = [
    "JointDPSolution",
    "JointMDP",
    "evaluate_joint_policy",
    "solve_joint",
]


@dataclass(frozen=True, slots=True)
class JointMDP:
    """A joint pricing-replenishment instance (see the module docstring).

    Attributes:
        a, b: demand ``a exp(-b price)`` per period (units; 1/price unit).
        prices: the price grid (price units), ascending.
        unit_cost: purchase cost per unit ordered.
        holding_cost: per unit of end-of-period on-hand.
        lead_time: ``L`` in {1, 2} periods.
        max_order: largest order (units).
        max_position: largest inventory position after ordering (units).
    """

    a: float
    b: float
    prices: tuple[float, ...]
    unit_cost: float
    holding_cost: float
    lead_time: int = 1
    max_order: int = 16
    max_position: int = 48

    def __post_init__(self) -> None:
        if self.lead_time not in (1, 2):
            raise ExactSolverError(f"lead_time must be 1 or 2 for the DP, got {self.lead_time}")
        if not (self.a > 0 and self.b >= 0):
            raise ExactSolverError(f"need a > 0 and b >= 0, got a={self.a}, b={self.b}")
        if len(self.prices) < 1 or list(self.prices) != sorted(self.prices):
            raise ExactSolverError(f"prices must be a non-empty ascending grid, got {self.prices}")
        if self.max_order < 1 or self.max_position < self.max_order:
            raise ExactSolverError(
                f"need 1 <= max_order <= max_position, got {self.max_order}, {self.max_position}"
            )
        if self.unit_cost < 0 or self.holding_cost < 0:
            raise ExactSolverError("unit_cost and holding_cost must be >= 0")

    @classmethod
    def from_env_config(cls, config: object, max_position: int = 48) -> JointMDP:
        """The DP of a :class:`policies.envs.joint.JointConfig` (non-perishable only)."""
        if getattr(config, "shelf_life", None) is not None:
            raise ExactSolverError("the joint DP covers non-perishable stock (shelf_life=None)")
        return cls(
            a=float(config.a),  # type: ignore[attr-defined]
            b=float(config.b),  # type: ignore[attr-defined]
            prices=tuple(float(p) for p in config.prices),  # type: ignore[attr-defined]
            unit_cost=float(config.unit_cost),  # type: ignore[attr-defined]
            holding_cost=float(config.holding_cost),  # type: ignore[attr-defined]
            lead_time=int(config.lead_time),  # type: ignore[attr-defined]
            max_order=int(config.max_order),  # type: ignore[attr-defined]
            max_position=max_position,
        )

    @property
    def state_shape(self) -> tuple[int, ...]:
        """``(Y,)`` for ``L = 1``, ``(Y, Q)`` for ``L = 2`` (``Y = max_position + 1``,
        ``Q = max_order + 1``)."""
        Y, Q = self.max_position + 1, self.max_order + 1
        return (Y,) if self.lead_time == 1 else (Y, Q)

    def transitions(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``T`` (P, Y, Y): ``P(z | y, price)`` of end-of-period stock, and the expected
        period revenue minus holding ``r`` (P, Y) (before the order's cost)."""
        Y = self.max_position + 1
        lam = demand_rate(np.asarray(self.prices), self.a, self.b)  # (P,)
        d = np.arange(Y)
        logf = np.array([math.lgamma(k + 1.0) for k in d])
        with np.errstate(divide="ignore"):
            pmf = np.exp(d[None, :] * np.log(lam)[:, None] - lam[:, None] - logf[None, :])
        pmf[lam == 0] = 0.0
        pmf[lam == 0, 0] = 1.0
        tail = np.clip(1.0 - np.cumsum(pmf, axis=1), 0.0, 1.0)  # P(D > d)
        y = d[:, None]
        z = d[None, :]
        # z = y - D for 1 <= z <= y (D = y - z); z = 0 when D >= y
        inside = (z >= 1) & (z <= y)
        T = np.where(inside[None], pmf[:, np.clip(y - z, 0, Y - 1)], 0.0)
        p_ge = np.concatenate([np.ones((len(lam), 1)), tail[:, :-1]], axis=1)  # P(D >= y)
        T[:, :, 0] = p_ge
        # E[min(y, D)] = sum_{k < y} P(D > k); end stock z = y - sales
        sales = np.concatenate([np.zeros((len(lam), 1)), np.cumsum(tail[:, :-1], axis=1)], 1)
        rev = np.asarray(self.prices)[:, None] * sales - self.holding_cost * (d[None, :] - sales)
        return T, rev


@dataclass(frozen=True, slots=True)
class JointDPSolution:
    """The optimum: ``gain`` (profit per period), ``price_index`` and ``order`` per state
    (arrays of :attr:`JointMDP.state_shape`), the relative ``values``, ``iterations``, and
    whether a state visited in the long run orders up to the ``max_position`` limit
    (``position_binds``: if True, widen ``max_position``)."""

    gain: float
    price_index: NDArray[np.int64]
    order: NDArray[np.int64]
    values: NDArray[np.float64]
    iterations: int
    position_binds: bool

    def price(self, mdp: JointMDP) -> NDArray[np.float64]:
        """Optimal price per state (price units)."""
        return np.asarray(mdp.prices)[self.price_index]


def _q_values(
    mdp: JointMDP, T: NDArray[np.float64], rev: NDArray[np.float64], v: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Q (P, *state_shape, Qo) of every (price, order) in every state; -inf where the order
    would break ``max_position``."""
    Y, Qo = mdp.max_position + 1, mdp.max_order + 1
    q = np.arange(Qo)
    y = np.arange(Y)
    if mdp.lead_time == 1:
        # next state z + q (z + q <= y + q <= max_position)
        idx = np.clip(y[:, None] + q[None, :], 0, Y - 1)  # z index + q
        vq = v[idx]  # (Z, Qo): V(z + q)
        ev = T @ vq  # (P, Y, Qo)
        ok = (y[:, None] + q[None, :]) <= mdp.max_position
        out = rev[:, :, None] - mdp.unit_cost * q[None, None, :] + ev
        return np.where(ok[None], out, -np.inf)
    # L = 2: state (y, q1), next (z + q1, q)
    idx = np.clip(y[:, None] + q[None, :], 0, Y - 1)  # (Z, Q1)
    vz = v[idx]  # (Z, Q1, Qo): V(z + q1, q)
    ev = (T @ vz.reshape(Y, -1)).reshape(T.shape[0], Y, Qo, Qo)  # (P, Y, Q1, Qo)
    pos = y[:, None, None] + q[None, :, None] + q[None, None, :]
    # states already past the limit (unreachable from an empty start) may order nothing
    ok = (pos <= mdp.max_position) | (q[None, None, :] == 0)
    out = rev[:, :, None, None] - mdp.unit_cost * q[None, None, None, :] + ev
    return np.where(ok[None], out, -np.inf)


def solve_joint(
    mdp: JointMDP, tolerance: float = 1e-7, max_iterations: int = 50_000
) -> JointDPSolution:
    """Optimal stationary pricing-and-ordering policy by relative value iteration.

    Raises:
        ExactSolverError: if the Odoni bounds do not close within ``max_iterations``.
    """
    T, rev = mdp.transitions()
    v = np.zeros(mdp.state_shape)
    P = len(mdp.prices)
    for it in range(1, max_iterations + 1):
        qv = _q_values(mdp, T, rev, v)
        tv = qv.max(axis=(0, -1))
        diff = tv - v
        lo, hi = float(diff.min()), float(diff.max())
        # damped update keeps the iteration aperiodic; the bounds stay valid
        v = 0.5 * v + 0.5 * (tv - tv.flat[0])
        if hi - lo < tolerance:
            Qo = qv.shape[-1]
            best = np.moveaxis(qv, 0, -2).reshape(*mdp.state_shape, P * Qo).argmax(axis=-1)
            p_idx, order = best // Qo, best % Qo
            gain = 0.5 * (lo + hi)
            binds = _binds(mdp, p_idx, order)
            return JointDPSolution(gain, p_idx, order, v, it, binds)
    raise ExactSolverError(
        f"joint DP did not converge in {max_iterations} sweeps (bounds {lo:.6g}..{hi:.6g})"
    )


def _binds(mdp: JointMDP, p_idx: NDArray[np.int64], order: NDArray[np.int64]) -> bool:
    """Whether a state visited under the policy orders up to ``max_position`` exactly."""
    pi = _stationary(mdp, p_idx, order)
    y = np.arange(mdp.max_position + 1)
    if mdp.lead_time == 1:
        pos = y + order
    else:
        pos = y[:, None] + np.arange(mdp.max_order + 1)[None, :] + order
    return bool(((pos >= mdp.max_position) & (pi > 1e-9)).any())


def _chain(
    mdp: JointMDP, p_idx: NDArray[np.int64], order: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Transition matrix (S, S) over flattened states and expected profit (S,) of a policy."""
    T, rev = mdp.transitions()
    Y, Qo = mdp.max_position + 1, mdp.max_order + 1
    p_idx = np.asarray(p_idx, dtype=np.int64)
    order = np.asarray(order, dtype=np.int64)
    if p_idx.shape != mdp.state_shape or order.shape != mdp.state_shape:
        raise ExactSolverError(f"policy arrays must have shape {mdp.state_shape}")
    y = np.arange(Y)
    if mdp.lead_time == 1:
        if (y + order > mdp.max_position).any() or (order < 0).any():
            raise ExactSolverError("policy orders beyond max_position or below 0")
        S = Y
        M = np.zeros((S, S))
        rows = T[p_idx, y]  # (Y, Z)
        for yy in range(Y):
            nxt = np.arange(Y) + order[yy]
            ok = nxt < Y
            np.add.at(M[yy], nxt[ok], rows[yy, ok])
        r = rev[p_idx, y] - mdp.unit_cost * order
        return M, r
    q1 = np.arange(Qo)
    pos = y[:, None] + q1[None, :] + order
    bad = (pos > mdp.max_position) & (order > 0)  # past the limit only an empty order is valid
    if bad.any() or (order < 0).any() or (order > mdp.max_order).any():
        raise ExactSolverError("policy orders beyond max_position / max_order or below 0")
    S = Y * Qo
    rows = T[p_idx, y[:, None]]  # (Y, Q1, Z): P(z | y, price(y, q1))
    z = np.arange(Y)
    nxt_y = z[None, None, :] + q1[None, :, None]  # (1, Q1, Z)
    ok = np.broadcast_to(nxt_y < Y, rows.shape)
    src = np.broadcast_to((y[:, None] * Qo + q1[None, :])[:, :, None], rows.shape)
    dst = np.broadcast_to(nxt_y * Qo + order[:, :, None], rows.shape)
    M = np.zeros((S, S))
    np.add.at(M, (src[ok], dst[ok]), rows[ok])
    r = (rev[p_idx, y[:, None]] - mdp.unit_cost * order).ravel()
    return M, r


def _stationary(
    mdp: JointMDP, p_idx: NDArray[np.int64], order: NDArray[np.int64], start: int = 0
) -> NDArray[np.float64]:
    """Long-run state distribution from flat state ``start``."""
    M, _ = _chain(mdp, p_idx, order)
    return _limit(M, start).reshape(mdp.state_shape)


def _limit(M: NDArray[np.float64], start: int, tol: float = 1e-14) -> NDArray[np.float64]:
    """Long-run (Cesàro) state distribution of the chain ``M`` from ``start``.

    Fast path: on the states reachable from ``start``, solve ``pi = pi M``, ``sum(pi) = 1``
    (unique when they hold one closed class); if that system is singular (several closed
    classes) fall back to iterating the lazy chain ``(I + M) / 2``, whose limit is the same."""
    reach = np.zeros(M.shape[0], dtype=bool)
    reach[start] = True
    while True:
        nxt = reach | ((reach.astype(np.float64) @ M) > 0)
        if (nxt == reach).all():
            break
        reach = nxt
    idx = np.flatnonzero(reach)
    A = M[np.ix_(idx, idx)].T - np.eye(idx.size)
    A[-1] = 1.0
    b = np.zeros(idx.size)
    b[-1] = 1.0
    try:
        sol = np.linalg.solve(A, b)
        if sol.min() > -1e-10 and np.abs(sol @ M[np.ix_(idx, idx)] - sol).max() < 1e-10:
            pi = np.zeros(M.shape[0])
            pi[idx] = np.clip(sol, 0.0, None)
            return np.asarray(pi / pi.sum(), dtype=np.float64)
    except np.linalg.LinAlgError:
        pass
    pi = np.zeros(M.shape[0])
    pi[start] = 1.0
    for _ in range(1_000_000):
        step = 0.5 * (pi + pi @ M)
        if np.abs(step - pi).sum() < tol:
            return step
        pi = step
    raise ExactSolverError("policy chain did not mix within 1,000,000 steps")


def evaluate_joint_policy(
    mdp: JointMDP, price_index: NDArray[np.int64], order: NDArray[np.int64], start: int = 0
) -> float:
    """Exact long-run average profit per period of a stationary policy, starting from flat
    state ``start`` (0: empty), from the limit of its Markov chain.

    Raises:
        ExactSolverError: if the arrays have the wrong shape or break the grid's limits.
    """
    M, r = _chain(mdp, price_index, order)
    return float(_limit(M, start) @ r)
