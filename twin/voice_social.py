"""Traffic shapes of the voice and social channels, and the customers' basket history.

* :class:`BurstShape`: the intensity of an influencer post's spike, in sessions per hour at
  ``u`` hours after the post: a linear rise to ``peak`` over ``rise`` hours, then a power-law
  decay ``peak * (1 + (u - rise) / tau) ** -alpha`` until ``duration`` hours. Its cumulative
  intensity and the inverse are closed-form, so arrivals are drawn exactly (a Poisson count of
  the total mass, then inverse-transform times).
* :class:`BasketHistory`: what each tracked customer bought per session (SKU index -> units),
  and their *usual* basket: the most frequent one, ties to the most recent.

Hours are hours; times handed to the twin are days (:mod:`twin.simtime`).
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from twin.errors import TwinConfigError

__all__ = ["BasketHistory", "BurstShape"]

Basket = tuple[tuple[int, int], ...]
"""A basket: ``(SKU index, units)`` pairs sorted by SKU."""


@dataclass(frozen=True, slots=True)
class BurstShape:
    """A social-commerce spike (see the module docstring). All times in hours after the post.

    Raises:
        TwinConfigError: a non-positive peak, rise, tau, alpha or a duration shorter than the
            rise.
    """

    peak: float
    rise: float
    tau: float
    alpha: float
    duration: float

    def __post_init__(self) -> None:
        for name in ("peak", "rise", "tau", "alpha"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise TwinConfigError(f"burst {name} {v!r} must be positive and finite")
        if not self.duration >= self.rise:
            raise TwinConfigError(f"burst duration {self.duration!r} < rise {self.rise!r}")

    def intensity(self, u: np.ndarray | float) -> np.ndarray:
        """Sessions per hour at ``u`` hours after the post (0 outside ``[0, duration)``)."""
        x = np.asarray(u, dtype=np.float64)
        rising = self.peak * x / self.rise
        falling = self.peak * (1.0 + np.maximum(x - self.rise, 0.0) / self.tau) ** -self.alpha
        out = np.where(x < self.rise, rising, falling)
        return np.where((x >= 0) & (x < self.duration), out, 0.0)

    def _decay_mass(self, v: np.ndarray | float) -> np.ndarray:
        """Sessions in the first ``v`` hours of the decay."""
        v = np.asarray(v, dtype=np.float64)
        if abs(self.alpha - 1.0) < 1e-12:
            return self.peak * self.tau * np.log1p(v / self.tau)
        a1 = 1.0 - self.alpha
        return self.peak * self.tau / a1 * ((1.0 + v / self.tau) ** a1 - 1.0)

    def cumulative(self, u: np.ndarray | float) -> np.ndarray:
        """Expected sessions in ``[0, u)`` hours (clipped to the burst's window)."""
        x = np.clip(np.asarray(u, dtype=np.float64), 0.0, self.duration)
        rise_part = self.peak * np.minimum(x, self.rise) ** 2 / (2.0 * self.rise)
        return rise_part + self._decay_mass(np.maximum(x - self.rise, 0.0))

    @property
    def total(self) -> float:
        """Expected sessions of the whole burst."""
        return float(self.cumulative(self.duration))

    def inverse(self, mass: np.ndarray) -> np.ndarray:
        """Hours ``u`` with ``cumulative(u) == mass`` (mass in ``[0, total]``)."""
        m = np.asarray(mass, dtype=np.float64)
        rise_mass = self.peak * self.rise / 2.0
        in_rise = np.sqrt(2.0 * self.rise * np.clip(m, 0.0, rise_mass) / self.peak)
        rest = np.maximum(m - rise_mass, 0.0)
        if abs(self.alpha - 1.0) < 1e-12:
            v = self.tau * np.expm1(rest / (self.peak * self.tau))
        else:
            a1 = 1.0 - self.alpha
            base = np.maximum(1.0 + rest * a1 / (self.peak * self.tau), 1e-300)
            v = self.tau * (base ** (1.0 / a1) - 1.0)
        out = np.where(m <= rise_mass, in_rise, self.rise + v)
        return np.minimum(out, self.duration)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Sorted arrival times (hours after the post) of one realisation of the burst."""
        n = int(rng.poisson(self.total))
        return np.sort(self.inverse(rng.random(n) * self.total))


class BasketHistory:
    """Recent baskets of the tracked customers (at most ``keep`` each).

    Args:
        tracked: one flag per customer index: record this customer's baskets.
        keep: baskets remembered per customer (oldest dropped first).
    """

    def __init__(self, tracked: np.ndarray, keep: int = 30) -> None:
        if keep < 1:
            raise TwinConfigError(f"keep {keep} must be at least 1")
        self.tracked = np.asarray(tracked, dtype=bool)
        self.keep = keep
        self._baskets: dict[int, deque[Basket]] = {}

    def record(self, customer: int, units: Mapping[int, int]) -> None:
        """Note that ``customer`` bought ``units`` (SKU index -> units) in one session."""
        if not self.tracked[customer]:
            return
        basket = tuple(sorted((int(s), int(q)) for s, q in units.items() if q > 0))
        if not basket:
            return
        dq = self._baskets.get(customer)
        if dq is None:
            dq = self._baskets[customer] = deque(maxlen=self.keep)
        dq.append(basket)

    def count(self, customer: int) -> int:
        """Baskets remembered for ``customer``."""
        dq = self._baskets.get(customer)
        return 0 if dq is None else len(dq)

    def usual(self, customer: int) -> Basket | None:
        """The most frequent remembered basket, ties to the most recent; None without any."""
        dq = self._baskets.get(customer)
        if not dq:
            return None
        counts = Counter(dq)
        last = {b: i for i, b in enumerate(dq)}
        return max(counts, key=lambda b: (counts[b], last[b]))
