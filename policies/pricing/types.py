"""Typed contract of every pricing policy: observation in, decision out, arrays over SKUs.

Units, written down once for the whole package:

* money is integer minor units (``*_cents``, ``int64`` arrays), as in :mod:`api.schemas`;
* quantities are units of stock (``on_hand`` is ``int64``, sales are ``float64`` so that a
  history may hold averages or ``nan`` for days without a record);
* time is days: ``days_left`` counts the selling days remaining in the season or horizon,
  today included, and the history columns are consecutive days, oldest first, the last
  column being yesterday.

A policy never loops over SKUs in Python: every decision is a NumPy expression over the
SKU axis, so one call prices thousands of SKU-locations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from policies.registry import PolicyError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class PricingError(PolicyError, ValueError):
    """Bad input to a pricing policy or solver; the message names the field and the value."""

    def __init__(self, field_name: str, value: object, reason: str) -> None:
        # args rebuild the error: SimPy (and pickle) copy it as type(e)(*e.args)
        super().__init__(field_name, value, reason)
        self.field = field_name
        self.value = value
        self.reason = reason
        self.message = f"{field_name}={value!r}: {reason}"

    def __str__(self) -> str:
        return self.message


def _first_bad(values: npt.NDArray[np.generic], bad: npt.NDArray[np.bool_]) -> object:
    """The first offending entry, for error messages (as a Python scalar)."""
    return values[np.argwhere(bad)[0][0] if bad.ndim == 1 else tuple(np.argwhere(bad)[0])].item()


def _as_int_vector(name: str, values: npt.ArrayLike, n: int | None) -> IntArray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise PricingError(name, arr.shape, "must be a 1-D array over SKUs")
    if n is not None and arr.shape[0] != n:
        raise PricingError(name, arr.shape, f"must have one entry per SKU ({n})")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise PricingError(name, arr.tolist()[:5], "must hold whole numbers")
    elif arr.dtype.kind not in "iu":
        raise PricingError(name, arr.dtype.str, "must be an integer array")
    return arr.astype(np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class PricingObservation:
    """What a pricing policy sees for ``n`` SKU-locations on one day.

    Attributes:
        price_cents: current selling price, shape ``(n,)``.
        list_price_cents: regular (list) price, shape ``(n,)``.
        cost_cents: unit cost, shape ``(n,)``.
        on_hand: units in stock now, shape ``(n,)``, ``>= 0``.
        days_left: selling days left in the season/horizon, today included, shape ``(n,)``,
            ``>= 0`` (0 means the season is over).
        min_price_cents: lowest allowed price, shape ``(n,)``.
        max_price_cents: highest allowed price, shape ``(n,)``, ``>= min_price_cents``.
        sales_history: units sold per day, shape ``(n, h)``, oldest first, ``nan`` where
            unknown; ``h`` may be 0.
        price_history_cents: price charged per day, shape ``(n, h)``, aligned with
            ``sales_history``.

    Raises:
        PricingError: on a shape mismatch, a negative quantity or money amount, or
            ``min_price_cents > max_price_cents``, naming the field and the first bad value.
    """

    price_cents: IntArray
    list_price_cents: IntArray
    cost_cents: IntArray
    on_hand: IntArray
    days_left: IntArray
    min_price_cents: IntArray
    max_price_cents: IntArray
    sales_history: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    price_history_cents: IntArray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))

    def __post_init__(self) -> None:
        n = np.asarray(self.price_cents).shape[0] if np.ndim(self.price_cents) == 1 else None
        for name in (
            "price_cents",
            "list_price_cents",
            "cost_cents",
            "on_hand",
            "days_left",
            "min_price_cents",
            "max_price_cents",
        ):
            arr = _as_int_vector(name, getattr(self, name), n)
            negative = arr < 0
            if np.any(negative):
                raise PricingError(name, _first_bad(arr, negative), "must be >= 0")
            object.__setattr__(self, name, arr)
        n = self.price_cents.shape[0]
        inverted = self.min_price_cents > self.max_price_cents
        if np.any(inverted):
            i = int(np.argmax(inverted))
            raise PricingError(
                "min_price_cents",
                int(self.min_price_cents[i]),
                f"exceeds max_price_cents={int(self.max_price_cents[i])} for SKU index {i}",
            )
        sales = np.asarray(self.sales_history, dtype=np.float64)
        prices = np.asarray(self.price_history_cents)
        if sales.size == 0 and prices.size == 0:
            sales = np.zeros((n, 0))
            prices = np.zeros((n, 0), dtype=np.int64)
        if sales.ndim != 2 or sales.shape[0] != n:
            raise PricingError("sales_history", sales.shape, f"must have shape ({n}, h)")
        if prices.shape != sales.shape:
            raise PricingError(
                "price_history_cents", prices.shape, f"must match sales_history {sales.shape}"
            )
        if np.any(sales < 0):
            raise PricingError("sales_history", _first_bad(sales, sales < 0), "must be >= 0")
        if prices.dtype.kind not in "iu":
            raise PricingError("price_history_cents", prices.dtype.str, "must be integer cents")
        prices = prices.astype(np.int64)
        if np.any(prices < 0):
            raise PricingError(
                "price_history_cents", _first_bad(prices, prices < 0), "must be >= 0"
            )
        object.__setattr__(self, "sales_history", sales)
        object.__setattr__(self, "price_history_cents", prices)

    @property
    def n_skus(self) -> int:
        """Number of SKU-locations in this observation."""
        return int(self.price_cents.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class PricingDecision:
    """Prices a policy sets for the SKU-locations of one observation, same order.

    Attributes:
        price_cents: the new selling price per SKU, shape ``(n,)``, integer minor units,
            always within the observation's ``[min_price_cents, max_price_cents]``.
    """

    price_cents: IntArray

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "price_cents", _as_int_vector("price_cents", self.price_cents, None)
        )


@runtime_checkable
class PricingPolicy(Protocol):
    """A pricing policy: one vectorised decision per observation."""

    def decide(self, observation: PricingObservation) -> PricingDecision:
        """Prices for every SKU of ``observation``, within its price bounds."""
        ...


def to_bounded_cents(prices: npt.ArrayLike, observation: PricingObservation) -> IntArray:
    """Round prices (in cents, float) to whole cents and clip them into the observation's bounds.

    Rounding happens before clipping, and the bounds are whole cents, so the result is always
    within ``[min_price_cents, max_price_cents]``.
    """
    cents = np.rint(np.asarray(prices, dtype=np.float64))
    return np.clip(cents, observation.min_price_cents, observation.max_price_cents).astype(np.int64)
