"""Typed observation, decision and protocol of replenishment policies.

A replenishment policy sees many SKU-locations at once and returns one order quantity per
SKU-location. Quantities are units; time is review periods (days in the twin); costs are cost
units per unit per period. The timing is that of :mod:`dynamics.inventory`: the
observation is the state at the start of a period, before the order is placed and before the
pipeline's first column arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from policies.registry import PolicyError

__all__ = [
    "ObservationError",
    "ReplenishmentDecision",
    "ReplenishmentObservation",
    "ReplenishmentPolicy",
]


class ObservationError(PolicyError, ValueError):
    """An observation is malformed or lacks a field a policy needs (named in the message)."""


def _vec(name: str, value: ArrayLike | None, n: int, dtype: type) -> NDArray[Any] | None:
    if value is None:
        return None
    arr: NDArray[Any] = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        return np.full(n, arr, dtype=dtype)
    if arr.shape != (n,):
        raise ObservationError(f"{name} must be a scalar or shape ({n},), got shape {arr.shape}")
    return arr


@dataclass(frozen=True, slots=True)
class ReplenishmentObservation:
    """What a replenishment policy sees for ``n`` SKU-locations at the start of a period.

    Build it with :meth:`create`, which broadcasts scalars and checks shapes.

    Attributes:
        on_hand: units on hand, ``(n,)``.
        pipeline: outstanding orders, ``(n, L)``; column ``j`` arrives ``j`` periods from now
            (column 0 arrives this period, before demand).
        backorders: units owed to customers, ``(n,)``.
        lead_time: lead time of an order placed now, periods, ``(n,)`` int.
        period: index of the current period (periodic-review policies use it).
        demand_mean: forecast mean demand per period, ``(n,)``, or ``None``.
        demand_std: forecast error standard deviation per period, ``(n,)``, or ``None``.
        demand_history: past demand, ``(n, H)`` oldest first, or ``None``.
        holding_cost: cost per unit of end-of-period on-hand, ``(n,)``, or ``None``.
        penalty_cost: cost per unit short (lost or backordered), ``(n,)``, or ``None``.
        parent: for networks, index of the supplying SKU-location (e.g. the warehouse row for
            a store row) or -1 for rows supplied from outside, ``(n,)`` int, or ``None``.
        skus: optional labels of the rows, for logging and the API.
    """

    on_hand: NDArray[Any]
    pipeline: NDArray[Any]
    backorders: NDArray[Any]
    lead_time: NDArray[np.int64]
    period: int = 0
    demand_mean: NDArray[np.float64] | None = None
    demand_std: NDArray[np.float64] | None = None
    demand_history: NDArray[Any] | None = None
    holding_cost: NDArray[np.float64] | None = None
    penalty_cost: NDArray[np.float64] | None = None
    parent: NDArray[np.int64] | None = None
    skus: tuple[str, ...] | None = None

    @classmethod
    def create(
        cls,
        on_hand: ArrayLike,
        pipeline: ArrayLike | None = None,
        backorders: ArrayLike = 0,
        *,
        lead_time: ArrayLike | None = None,
        period: int = 0,
        demand_mean: ArrayLike | None = None,
        demand_std: ArrayLike | None = None,
        demand_history: ArrayLike | None = None,
        holding_cost: ArrayLike | None = None,
        penalty_cost: ArrayLike | None = None,
        parent: ArrayLike | None = None,
        skus: tuple[str, ...] | None = None,
    ) -> ReplenishmentObservation:
        """Validate and broadcast the fields (see the class docstring).

        ``lead_time`` defaults to the pipeline width. Raises :class:`ObservationError` on a
        bad shape or a negative stock level.
        """
        oh = np.atleast_1d(np.asarray(on_hand))
        if oh.ndim != 1:
            raise ObservationError(f"on_hand must be 1-D, got shape {oh.shape}")
        n = oh.shape[0]
        if pipeline is None:
            pl = np.zeros((n, 0), dtype=oh.dtype)
        else:
            pl = np.asarray(pipeline)
            if pl.ndim == 1 and n == 1:
                pl = pl[None, :]
            if pl.ndim != 2 or pl.shape[0] != n:
                raise ObservationError(f"pipeline must have shape ({n}, L), got {pl.shape}")
        bo = _vec("backorders", backorders, n, oh.dtype.type)
        assert bo is not None
        lt = _vec("lead_time", pl.shape[1] if lead_time is None else lead_time, n, np.int64)
        assert lt is not None
        for name, arr in (("on_hand", oh), ("pipeline", pl), ("backorders", bo), ("lead_time", lt)):
            if arr.size and arr.min() < 0:
                raise ObservationError(f"{name} must be >= 0, got min {arr.min()}")
        hist = None
        if demand_history is not None:
            hist = np.asarray(demand_history)
            if hist.ndim == 1 and n == 1:
                hist = hist[None, :]
            if hist.ndim != 2 or hist.shape[0] != n:
                raise ObservationError(f"demand_history must have shape ({n}, H), got {hist.shape}")
        if skus is not None and len(skus) != n:
            raise ObservationError(f"skus has {len(skus)} labels for {n} rows")
        return cls(
            on_hand=oh,
            pipeline=pl,
            backorders=bo,
            lead_time=lt,
            period=int(period),
            demand_mean=_vec("demand_mean", demand_mean, n, np.float64),
            demand_std=_vec("demand_std", demand_std, n, np.float64),
            demand_history=hist,
            holding_cost=_vec("holding_cost", holding_cost, n, np.float64),
            penalty_cost=_vec("penalty_cost", penalty_cost, n, np.float64),
            parent=_vec("parent", parent, n, np.int64),
            skus=skus,
        )

    @property
    def n(self) -> int:
        """Number of SKU-locations."""
        return int(self.on_hand.shape[0])

    @property
    def inventory_position(self) -> NDArray[Any]:
        """on-hand + pipeline - backorders, units, ``(n,)``."""
        out: NDArray[Any] = self.on_hand + self.pipeline.sum(axis=1) - self.backorders
        return out

    def require(self, field: str, policy: str) -> NDArray[Any]:
        """The named optional field, or :class:`ObservationError` saying ``policy`` needs it."""
        value = getattr(self, field)
        if value is None:
            raise ObservationError(f"{policy} needs observation.{field}, which is None")
        return np.asarray(value)


@dataclass(frozen=True, slots=True)
class ReplenishmentDecision:
    """Orders for ``n`` SKU-locations, units, ``(n,)`` int64, all >= 0.

    Attributes:
        orders: units to order now (arriving after each row's lead time).
        target: the level the policy aimed at (order-up-to level or similar), ``(n,)``, for
            logging; ``None`` where it has no meaning.
    """

    orders: NDArray[np.int64]
    target: NDArray[Any] | None = None


@runtime_checkable
class ReplenishmentPolicy(Protocol):
    """A replenishment policy: a plain object mapping an observation to orders."""

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        """Orders for every row of ``observation``."""
        ...
