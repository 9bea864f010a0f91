"""Promotions in the twin: a plan of discount windows, their demand effect, and publishing
them to the commerce API.

A :class:`PromotionPlan` is a list of :class:`PromotionWindow` (SKUs, days ``[start, end)``,
``percent_off``, online channels). Published (:meth:`PromotionPlan.publish`), each window
becomes an automatic percentage promotion per online channel in the API
(``create_promotion``), so online orders placed in the window are charged the discount by the
API's one price composition. Its **demand effect** is the shared kernel's price response
(:func:`dynamics.demand.price_factors`): during the window the promoted SKUs' online demand
rates are multiplied by ``lift = f(p (1 - d)) / f(p)``, i.e. ``(1 - d) ** elasticity`` for a
single segment, times an optional ``attention`` factor for the promotion's visibility
(1: price effect only).

Policies plan promotions through :class:`PromotionPolicy`; :class:`SlowMoverPromotions` is a
simple one: every ``every_days``, the ``n_skus`` SKUs with the most days of cover at the
warehouses (stock over demand rate) get ``percent_off`` for ``length_days``.
:meth:`PromotionPlan.from_dict` reads the plan's YAML/JSON shape.

Units: days (simulated), percent, cents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from api.client.base import CommerceClient
from api.schemas import Channel
from api.schemas_promo import PromotionCreate
from dynamics.demand import price_factors
from twin.world import World

__all__ = [
    "PromotionPlan",
    "PromotionPolicy",
    "PromotionWindow",
    "SlowMoverPromotions",
]


@dataclass(frozen=True, slots=True)
class PromotionWindow:
    """``percent_off`` on ``skus`` (codes) online for days ``[start_day, end_day)``."""

    skus: tuple[str, ...]
    start_day: int
    end_day: int
    percent_off: int
    attention: float = 1.0
    name: str = "twin promotion"

    def __post_init__(self) -> None:
        if not self.skus:
            raise ValueError("a promotion window needs at least one sku")
        if self.end_day <= self.start_day or self.start_day < 0:
            raise ValueError(f"window days [{self.start_day}, {self.end_day}) are empty")
        if not 1 <= self.percent_off <= 90:
            raise ValueError(f"percent_off {self.percent_off} must be within 1..90")
        if self.attention < 1.0:
            raise ValueError(f"attention {self.attention} must be >= 1")


@dataclass(frozen=True, slots=True)
class PromotionPlan:
    """Discount windows (see the module docstring)."""

    windows: tuple[PromotionWindow, ...] = field(default_factory=tuple)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> PromotionPlan:
        """``{"windows": [{"skus": [...], "start_day": 7, "end_day": 14, "percent_off": 20}]}``.

        Raises ValueError naming the window and the bad value.
        """
        out = []
        for i, w in enumerate(data.get("windows", [])):
            try:
                out.append(
                    PromotionWindow(
                        skus=tuple(str(s) for s in w["skus"]),
                        start_day=int(w["start_day"]),
                        end_day=int(w["end_day"]),
                        percent_off=int(w["percent_off"]),
                        attention=float(w.get("attention", 1.0)),
                        name=str(w.get("name", "twin promotion")),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"windows[{i}]: {exc}") from exc
        return PromotionPlan(tuple(out))

    def lift(self, world: World, day: int) -> np.ndarray:
        """``(n_skus,)`` online demand multiplier on ``day`` (1 outside every window)."""
        d = world.demand
        out = np.ones(world.n_skus)
        index = {c: i for i, c in enumerate(world.skus.codes)}
        base = price_factors(d, d.list_price_cents.astype(np.float64))
        for w in self.windows:
            if not w.start_day <= day < w.end_day:
                continue
            idx = np.array([index[s] for s in w.skus], dtype=np.int64)
            promo = d.list_price_cents.astype(np.float64).copy()
            promo[idx] *= 1.0 - w.percent_off / 100.0
            f = price_factors(d, promo) / base
            out[idx] *= f[idx] * w.attention
        return out

    def apply(self, world: World, day: int, rates: np.ndarray) -> np.ndarray:
        """``rates`` (n_skus, S+W) with the online columns (warehouses) lifted on ``day``."""
        if not self.windows:
            return rates
        lift = self.lift(world, day)
        if np.all(lift == 1.0):
            return rates
        out = rates.copy()
        out[:, world.n_stores : world.n_sites] *= lift[:, None]
        return out

    def publish(self, client: CommerceClient, start: datetime) -> list[int]:
        """Create each window as an automatic promotion per online channel; returns their ids."""
        ids = []
        for w in self.windows:
            for ch in (Channel.WEB, Channel.APP):
                ids.append(
                    client.create_promotion(
                        PromotionCreate(
                            name=w.name,
                            kind="percent",
                            percent_off=w.percent_off,
                            skus=list(w.skus),
                            channel=ch,
                            valid_from=start + timedelta(days=w.start_day),
                            valid_to=start + timedelta(days=w.end_day),
                        )
                    ).id
                )
        return ids


class PromotionPolicy(Protocol):
    """Plans promotions for a run from the world it will run in."""

    def plan(self, world: World, days: int) -> PromotionPlan:
        """The promotion plan for ``days`` days."""
        ...


@dataclass(frozen=True, slots=True)
class SlowMoverPromotions:
    """Every ``every_days`` from ``first_day``, ``percent_off`` for ``length_days`` on the
    ``n_skus`` SKUs with the lowest online demand rate (the slow movers)."""

    n_skus: int = 10
    percent_off: int = 20
    first_day: int = 7
    every_days: int = 14
    length_days: int = 7

    def plan(self, world: World, days: int) -> PromotionPlan:
        rate = world.demand.base_rate[:, world.n_stores : world.n_sites].sum(axis=1)
        slow = np.argsort(rate, kind="stable")[: self.n_skus]
        codes = tuple(world.skus.codes[i] for i in sorted(slow.tolist()))
        wins: Sequence[PromotionWindow] = [
            PromotionWindow(codes, d, min(d + self.length_days, days), self.percent_off)
            for d in range(self.first_day, days, self.every_days)
            if d < days
        ]
        return PromotionPlan(tuple(wins))
