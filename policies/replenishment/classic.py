"""Classical stock-level replenishment policies, vectorised over SKU-locations.

Every policy here works on the inventory position ``IP = on_hand + pipeline - backorders`` of
a :class:`~policies.replenishment.types.ReplenishmentObservation` and returns integer orders.
Parameters are units; each may be a scalar (all rows) or a sequence with one value per row.

Registered names (kind ``"replenishment"``): ``base_stock``, ``capped_base_stock``, ``s_S``,
``R_s_S``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from policies.registry import PolicyParameterError, register
from policies.replenishment.types import ReplenishmentDecision, ReplenishmentObservation

__all__ = ["SS", "BaseStock", "CappedBaseStock", "PeriodicSS", "as_levels"]

Level = float | int | Sequence[float] | NDArray[Any]


def as_levels(name: str, value: Level, *, minimum: float = 0.0) -> NDArray[np.float64]:
    """A parameter as a float array (0-d for a scalar), checked against ``minimum``.

    Raises:
        PolicyParameterError: naming the parameter and the bad value.
    """
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 1:
        raise PolicyParameterError(
            f"{name} must be a scalar or 1-D, got shape {arr.shape}", field=name, value=value
        )
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise PolicyParameterError(
            f"{name} must be finite numbers, got {value!r}", field=name, value=value
        )
    if arr.min() < minimum:
        raise PolicyParameterError(
            f"{name} must be >= {minimum}, got {value!r}", field=name, value=value
        )
    return arr


def _fit(name: str, levels: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    if levels.ndim == 0 or levels.shape == (n,):
        return levels
    raise PolicyParameterError(
        f"{name} has {levels.shape[0]} values but the observation has {n} rows"
    )


def _full(levels: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """``levels`` as an ``(n,)`` array (cheaper than ``np.broadcast_to`` for hot loops)."""
    return levels if levels.ndim == 1 else np.full(n, float(levels))


def _orders(raw: NDArray[Any]) -> NDArray[np.int64]:
    return np.maximum(np.ceil(raw - 1e-9), 0).astype(np.int64)


@register("replenishment", "base_stock")
class BaseStock:
    """Order-up-to: each period order ``max(S - IP, 0)``.

    Args:
        base_stock: order-up-to level ``S``, units (scalar or per row).
    """

    def __init__(self, base_stock: Level) -> None:
        self.base_stock = as_levels("base_stock", base_stock)

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        s = _fit("base_stock", self.base_stock, observation.n)
        target = _full(s, observation.n)
        return ReplenishmentDecision(_orders(target - observation.inventory_position), target)

    def __repr__(self) -> str:
        return f"BaseStock(base_stock={self.base_stock.tolist()})"


@register("replenishment", "capped_base_stock")
class CappedBaseStock:
    """Capped base-stock (Xin 2021): order ``min(max(S - IP, 0), cap)``.

    Args:
        base_stock: order-up-to level ``S``, units.
        cap: largest order per period, units.
    """

    def __init__(self, base_stock: Level, cap: Level) -> None:
        self.base_stock = as_levels("base_stock", base_stock)
        self.cap = as_levels("cap", cap)

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        n = observation.n
        s = _fit("base_stock", self.base_stock, n)
        cap = _fit("cap", self.cap, n)
        raw = np.minimum(s - observation.inventory_position, np.floor(cap))
        return ReplenishmentDecision(_orders(raw), _full(s, n))

    def __repr__(self) -> str:
        return f"CappedBaseStock(base_stock={self.base_stock.tolist()}, cap={self.cap.tolist()})"


@register("replenishment", "s_S")
class SS:
    """(s, S): when ``IP <= s`` order up to ``S``, otherwise nothing.

    Args:
        s: reorder point, units (may be negative with backorders).
        S: order-up-to level, units, ``S >= s``.

    Raises:
        PolicyParameterError: if ``S < s``.
    """

    def __init__(self, s: Level, S: Level) -> None:
        self.s = as_levels("s", s, minimum=-np.inf)
        self.S = as_levels("S", S, minimum=-np.inf)
        if np.any(
            np.broadcast_to(self.S, np.broadcast_shapes(self.s.shape, self.S.shape)) < self.s
        ):
            raise PolicyParameterError(f"S must be >= s, got s={s!r}, S={S!r}", field="S", value=S)

    def _raw(self, observation: ReplenishmentObservation) -> NDArray[np.float64]:
        n = observation.n
        s = _fit("s", self.s, n)
        big_s = _fit("S", self.S, n)
        ip = observation.inventory_position
        return np.where(ip <= s, big_s - ip, 0.0)

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        target = _full(_fit("S", self.S, observation.n), observation.n)
        return ReplenishmentDecision(_orders(self._raw(observation)), target)

    def __repr__(self) -> str:
        return f"SS(s={self.s.tolist()}, S={self.S.tolist()})"


@register("replenishment", "R_s_S")
class PeriodicSS(SS):
    """(R, s, S): review every ``R`` periods (when ``period % R == offset``) and apply (s, S).

    Args:
        R: review interval, periods (>= 1).
        s: reorder point, units.
        S: order-up-to level, units.
        offset: review phase, ``0 <= offset < R`` (scalar or per row, to stagger reviews).
    """

    def __init__(self, R: int, s: Level, S: Level, offset: Level = 0) -> None:
        super().__init__(s, S)
        if int(R) != R or R < 1:
            raise PolicyParameterError(f"R must be an integer >= 1, got {R!r}", field="R", value=R)
        self.R = int(R)
        self.offset = as_levels("offset", offset)
        if self.offset.max() >= self.R:
            raise PolicyParameterError(
                f"offset must be < R={self.R}, got {offset!r}", field="offset", value=offset
            )

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        n = observation.n
        review = (observation.period % self.R) == _fit("offset", self.offset, n)
        raw = np.where(review, self._raw(observation), 0.0)
        return ReplenishmentDecision(_orders(raw), _full(_fit("S", self.S, n), n))

    def __repr__(self) -> str:
        return f"PeriodicSS(R={self.R}, s={self.s.tolist()}, S={self.S.tolist()})"
