"""The price -> demand-rate response ``rate = a * exp(-b * price)``, written once.

Units: ``price`` is in the caller's price unit (the pricing envs and the pricing DP use one
"price unit", e.g. currency units; the twin converts cents before calling); ``a`` is the
expected demand per period at price 0 (units/period, >= 0); ``b`` is the price sensitivity per
price unit (1/price unit, >= 0). The result is the expected demand in units per period, the
Poisson mean (or the Bernoulli probability when at most one customer arrives per period).

Used by the pricing envs, the joint pricing-replenishment env, the pricing DP and the
evaluators; sampling goes through :func:`dynamics.demand.sample_demand`.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["demand_rate", "exponential_rate"]


@overload
def exponential_rate(price: float, a: float, b: float) -> float: ...


@overload
def exponential_rate(price: NDArray[np.float64], a: float, b: float) -> NDArray[np.float64]: ...


def exponential_rate(
    price: float | NDArray[np.float64], a: float, b: float
) -> float | NDArray[np.float64]:
    """``a * exp(-b * price)``: expected demand (units/period) at ``price`` (price units).

    A Python ``float`` gives a ``float`` (the fast path of single-env steps: no NumPy scalar
    overhead); an array gives an array of the same shape. Both compute the same expression,
    so a scalar and a batched simulation see identical rates.
    """
    if isinstance(price, np.ndarray):
        return np.asarray(a * np.exp(-b * price), dtype=np.float64)
    return a * math.exp(-b * float(price))


def demand_rate(price: ArrayLike, a: float, b: float) -> NDArray[np.float64]:
    """``a * exp(-b * price)`` for any array-like ``price`` (price units), as a float64 array.

    The vectorised form of :func:`exponential_rate` (same shape as ``price``; a scalar gives a
    0-d array).
    """
    return exponential_rate(np.asarray(price, dtype=np.float64), a, b)
