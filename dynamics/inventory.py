"""Vectorised inventory dynamics: one review period for ``n`` SKU-locations at once.

This is the shared inventory kernel (DESIGN.md, principle 2). The SimPy twin calls it event by
event, the Gymnasium environments call it batched, and the exact solvers in ``policies.exact``
use the same timing, so costs measured here are comparable with the optimal costs.

Units
-----
Quantities are units of stock (integers in practice; any real dtype works), time is review
periods (one period = one day in the twin), costs are in cost units per unit per period.

Timing within period ``t`` (the convention of the exact solvers)
-----------------------------------------------------------------
1. The policy observes the state at the start of period ``t`` and places ``orders``.
2. An order placed at the start of period ``t`` with lead time ``L`` arrives at the start of
   period ``t + L``, before that period's demand (``L = 0``: it arrives at once).
   ``pipeline[:, j]`` holds the units arriving at the start of period ``t + j`` (``j = 0`` is
   received in this step), so the pipeline of a state has ``L`` columns.
3. Arrivals are received. With backorders they first fill outstanding backorders.
4. Demand is served from on-hand stock (oldest first if perishable). Unmet demand is lost
   (``lost_sales=True``) or backordered.
5. Perishable stock whose remaining shelf life runs out at the end of the period is written off.
6. Costs: ``holding_cost`` per unit of end-of-period on-hand (after write-offs), plus
   ``penalty_cost`` per unit of lost demand (lost sales) or per unit of end-of-period
   backorders (backorders: the classical per unit-period shortage cost, for which the
   critical-fractile base-stock level is optimal), plus ``write_off_cost`` per unit written off.

Conservation holds exactly, per SKU-location and per step::

    on_hand + arrivals == end_on_hand + sales + write_offs

where ``sales`` counts every unit handed to customers in the period (backorders filled plus
current demand served).

API
---
- :class:`InventoryState` - ``on_hand (n,)``, ``pipeline (n, L)``, ``backorders (n,)`` and, for
  perishables, ``age_stock (n, shelf_life)`` (``age_stock[:, k]``: on-hand units with ``k + 1``
  periods of life left; ``on_hand == age_stock.sum(1)``).
- :func:`initial_state` - build a state from scalars or arrays.
- :func:`inventory_step` - one period for all SKU-locations; returns ``(new_state, StepResult)``
  and never mutates its inputs.
- :func:`scalar_step` - the same dynamics for one non-perishable SKU on Python numbers, a few
  hundred nanoseconds per call, for single-SKU environments. It mutates the pipeline list.

Errors: :class:`InventoryKernelError` (a ``ValueError``) naming the argument and the bad value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Arrays of stock quantities (int64 by default, float for fluid models).
Quantities = NDArray[Any]

__all__ = [
    "InventoryKernelError",
    "InventoryState",
    "Quantities",
    "StepResult",
    "initial_state",
    "inventory_step",
    "scalar_step",
]


class InventoryKernelError(ValueError):
    """Bad input to the inventory kernel; the message names the argument and the value."""


@dataclass(frozen=True, slots=True)
class InventoryState:
    """Inventory of ``n`` SKU-locations at the start of a period, before ordering.

    Attributes:
        on_hand: units physically on hand, shape ``(n,)``.
        pipeline: outstanding orders, shape ``(n, L)``; column ``j`` arrives at the start of
            the period ``j`` periods from now (column 0 arrives in the next step).
        backorders: units of demand owed to customers, shape ``(n,)`` (always 0 with lost
            sales).
        age_stock: perishables only, shape ``(n, shelf_life)``; column ``k`` holds on-hand
            units with ``k + 1`` periods of life left. ``None`` for non-perishable stock.
    """

    on_hand: Quantities
    pipeline: Quantities
    backorders: Quantities
    age_stock: Quantities | None = None

    @property
    def n(self) -> int:
        """Number of SKU-locations."""
        return int(self.on_hand.shape[0])

    @property
    def lead_time(self) -> int:
        """Pipeline length in periods (the longest lead time the state can hold)."""
        return int(self.pipeline.shape[1])

    @property
    def inventory_position(self) -> Quantities:
        """on-hand + pipeline - backorders, shape ``(n,)``."""
        out: Quantities = self.on_hand + self.pipeline.sum(axis=1) - self.backorders
        return out


@dataclass(frozen=True, slots=True)
class StepResult:
    """Flows and costs of one period, each of shape ``(n,)``.

    Attributes:
        orders: units ordered this period.
        arrivals: units received this period.
        demand: units demanded this period.
        sales: units handed to customers (backorders filled + current demand served).
        lost: demand lost (0 with backorders).
        backordered: new backorders created this period (0 with lost sales).
        write_offs: perished units written off at the end of the period.
        end_on_hand: on-hand at the end of the period, after write-offs.
        end_backorders: backorders at the end of the period.
        holding_cost, penalty_cost, write_off_cost, cost: cost components and their total.
    """

    orders: Quantities
    arrivals: Quantities
    demand: Quantities
    sales: Quantities
    lost: Quantities
    backordered: Quantities
    write_offs: Quantities
    end_on_hand: Quantities
    end_backorders: Quantities
    holding_cost: NDArray[np.float64]
    penalty_cost: NDArray[np.float64]
    write_off_cost: NDArray[np.float64]
    cost: NDArray[np.float64]


def initial_state(
    n: int,
    lead_time: int,
    *,
    on_hand: ArrayLike = 0,
    pipeline: ArrayLike | None = None,
    backorders: ArrayLike = 0,
    shelf_life: int | None = None,
    dtype: type = np.int64,
) -> InventoryState:
    """Build an :class:`InventoryState` for ``n`` SKU-locations.

    Args:
        n: number of SKU-locations (>= 1).
        lead_time: pipeline length in periods (>= 0).
        on_hand: initial on-hand units, scalar or shape ``(n,)``. Perishable stock starts
            fresh (full shelf life).
        pipeline: initial outstanding orders, shape ``(n, lead_time)`` or ``(lead_time,)``
            broadcast to all SKUs; zeros if omitted.
        backorders: initial backorders, scalar or ``(n,)``.
        shelf_life: periods a unit lasts on hand (>= 1), ``None`` for non-perishable.
        dtype: array dtype (``np.int64`` by default; floats for fluid models).

    Raises:
        InventoryKernelError: on negative or mis-shaped inputs.
    """
    if n < 1:
        raise InventoryKernelError(f"n must be >= 1, got {n}")
    if lead_time < 0:
        raise InventoryKernelError(f"lead_time must be >= 0, got {lead_time}")
    oh: Quantities = np.broadcast_to(np.asarray(on_hand, dtype=dtype), (n,)).copy()
    bo: Quantities = np.broadcast_to(np.asarray(backorders, dtype=dtype), (n,)).copy()
    if pipeline is None:
        pl: Quantities = np.zeros((n, lead_time), dtype=dtype)
    else:
        raw: Quantities = np.asarray(pipeline, dtype=dtype)
        try:
            pl = np.broadcast_to(raw, (n, lead_time)).copy()
        except ValueError as exc:
            raise InventoryKernelError(
                f"pipeline shape {raw.shape} does not fit (n, lead_time) = ({n}, {lead_time})"
            ) from exc
    for name, arr in (("on_hand", oh), ("pipeline", pl), ("backorders", bo)):
        if arr.size and arr.min() < 0:
            raise InventoryKernelError(f"{name} must be >= 0, got min {arr.min()}")
    ages: Quantities | None = None
    if shelf_life is not None:
        if shelf_life < 1:
            raise InventoryKernelError(f"shelf_life must be >= 1, got {shelf_life}")
        ages = np.zeros((n, shelf_life), dtype=dtype)
        ages[:, -1] = oh
    return InventoryState(on_hand=oh, pipeline=pl, backorders=bo, age_stock=ages)


def _as_vector(name: str, value: ArrayLike, n: int) -> Quantities:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return np.full(n, arr)
    if arr.shape[0] != n or arr.ndim != 1:
        raise InventoryKernelError(f"{name} must be a scalar or shape ({n},), got {arr.shape}")
    return arr


def inventory_step(
    state: InventoryState,
    orders: ArrayLike,
    demand: ArrayLike,
    *,
    lost_sales: bool = True,
    holding_cost: ArrayLike = 0.0,
    penalty_cost: ArrayLike = 0.0,
    write_off_cost: ArrayLike = 0.0,
    lead_time: ArrayLike | None = None,
    validate: bool = True,
) -> tuple[InventoryState, StepResult]:
    """Advance all SKU-locations by one period (see the module docstring for the timing).

    Args:
        state: state at the start of the period, before ordering.
        orders: units ordered now, scalar or ``(n,)``, >= 0.
        demand: units demanded this period, scalar or ``(n,)``, >= 0.
        lost_sales: ``True`` for lost sales, ``False`` for backorders.
        holding_cost: cost per unit of end-of-period on-hand, scalar or ``(n,)``.
        penalty_cost: cost per unit lost (lost sales) or per unit of end-of-period backorders
            (backorders), scalar or ``(n,)``.
        write_off_cost: cost per perished unit, scalar or ``(n,)``.
        lead_time: per-SKU lead time in periods, scalar or ``(n,)`` with values in
            ``0..state.lead_time``; default ``state.lead_time`` for all.
        validate: check shapes and signs (turn off in trusted hot loops).

    Returns:
        ``(new_state, result)``; the inputs are not modified.

    Raises:
        InventoryKernelError: on negative orders or demand, bad shapes or lead times.
    """
    n = state.n
    width = state.lead_time
    q = _as_vector("orders", orders, n)
    d = _as_vector("demand", demand, n)
    if validate:
        if q.min() < 0:
            raise InventoryKernelError(f"orders must be >= 0, got min {q.min()}")
        if d.min() < 0:
            raise InventoryKernelError(f"demand must be >= 0, got min {d.min()}")

    # 1-2. place orders into the pipeline, then receive column 0.
    dtype = np.result_type(state.on_hand.dtype, q.dtype)
    new_pipeline = np.zeros((n, width), dtype=dtype)
    if width > 1:
        new_pipeline[:, :-1] = state.pipeline[:, 1:]
    # A view of the (immutable by contract) old pipeline: no copy needed.
    arrivals = state.pipeline[:, 0].astype(dtype, copy=False) if width else np.zeros(n, dtype=dtype)
    if lead_time is None:
        if width:
            new_pipeline[:, -1] += q
        else:
            arrivals = arrivals + q
    else:
        lt = _as_vector("lead_time", lead_time, n).astype(np.int64)
        if validate and (lt.min() < 0 or lt.max() > width):
            raise InventoryKernelError(
                f"lead_time values must be in 0..{width}, got {lt.min()}..{lt.max()}"
            )
        now = lt == 0
        arrivals = arrivals + np.where(now, q, 0)
        later = ~now
        if later.any():
            idx = np.nonzero(later)[0]
            np.add.at(new_pipeline, (idx, lt[idx] - 1), q[idx])

    # 3-4. serve backorders then demand, from stock (FIFO if perishable).
    required = d + state.backorders if not lost_sales else d
    available = state.on_hand + arrivals
    sales = np.minimum(required, available)
    short = required - sales
    if lost_sales:
        lost = short
        end_bo = np.zeros_like(short)
        backordered = end_bo
    else:
        lost = np.zeros_like(short)
        end_bo = short
        backordered = np.maximum(end_bo - state.backorders, 0)
    end_on_hand = available - sales

    # 5. perishables: FIFO issue by age, then age and write off what expires.
    new_ages = None
    write_offs = np.zeros_like(end_on_hand)
    if state.age_stock is not None:
        ages = state.age_stock.astype(dtype, copy=True)
        ages[:, -1] += arrivals
        cum = np.cumsum(ages, axis=1)
        taken_cum = np.minimum(cum, sales[:, None])
        taken = np.diff(taken_cum, axis=1, prepend=0)
        left = ages - taken
        write_offs = left[:, 0].copy()
        new_ages = np.zeros_like(left)
        new_ages[:, :-1] = left[:, 1:]
        end_on_hand = end_on_hand - write_offs

    hold = np.multiply(holding_cost, end_on_hand, dtype=np.float64)
    pen = np.multiply(penalty_cost, lost if lost_sales else end_bo, dtype=np.float64)
    if new_ages is None:
        woc = np.zeros(n)
        cost = hold + pen
    else:
        woc = np.multiply(write_off_cost, write_offs, dtype=np.float64)
        cost = hold + pen + woc
    if validate and (hold.shape != (n,) or pen.shape != (n,) or woc.shape != (n,)):
        raise InventoryKernelError(
            f"holding_cost, penalty_cost and write_off_cost must be scalars or shape ({n},)"
        )

    new_state = InventoryState(
        on_hand=end_on_hand, pipeline=new_pipeline, backorders=end_bo, age_stock=new_ages
    )
    result = StepResult(
        orders=q,
        arrivals=arrivals,
        demand=d,
        sales=sales,
        lost=lost,
        backordered=backordered,
        write_offs=write_offs,
        end_on_hand=end_on_hand,
        end_backorders=end_bo,
        holding_cost=hold,
        penalty_cost=pen,
        write_off_cost=woc,
        cost=cost,
    )
    return new_state, result


def scalar_step(
    on_hand: int,
    pipeline: list[int],
    backorders: int,
    order: int,
    demand: int,
    lost_sales: bool = True,
    holding_cost: float = 0.0,
    penalty_cost: float = 0.0,
) -> tuple[int, int, int, int, int, float]:
    """One period for one non-perishable SKU on Python numbers (single-SKU env fast path).

    Same timing and costs as :func:`inventory_step`. ``pipeline`` (length ``L``, index 0
    arriving now) is updated in place: its head is received and ``order`` is appended; with
    ``L = 0`` (empty list) the order arrives at once. Inputs are trusted (no validation).

    Returns:
        ``(end_on_hand, end_backorders, arrivals, sales, shortage, cost)`` where ``shortage``
        is lost demand (lost sales) or new backorders (backorders).
    """
    if pipeline:
        arrivals = pipeline.pop(0)
        pipeline.append(order)
    else:
        arrivals = order
    available = on_hand + arrivals
    if lost_sales:
        sales = demand if demand < available else available
        lost = demand - sales
        end_on_hand = available - sales
        return (
            end_on_hand,
            0,
            arrivals,
            sales,
            lost,
            holding_cost * end_on_hand + penalty_cost * lost,
        )
    required = demand + backorders
    sales = required if required < available else available
    end_bo = required - sales
    end_on_hand = available - sales
    new_bo = end_bo - backorders if end_bo > backorders else 0
    return (
        end_on_hand,
        end_bo,
        arrivals,
        sales,
        new_bo,
        holding_cost * end_on_hand + penalty_cost * end_bo,
    )
