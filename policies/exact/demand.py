"""Discrete demand distributions for the exact solvers (units per period, support 0..d_max)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from policies.registry import PolicyError

__all__ = ["DiscreteDemand", "ExactSolverError", "poisson_demand"]


class ExactSolverError(PolicyError, ValueError):
    """Bad input to an exact solver; the message names the argument and the value."""


@dataclass(frozen=True, slots=True, eq=False)
class DiscreteDemand:
    """Demand per period on ``0..len(pmf)-1`` with probabilities ``pmf`` (sums to 1).

    Build it from any pmf with :meth:`from_pmf` or from a Poisson mean with
    :func:`poisson_demand` (truncated where the tail mass is negligible, then renormalised).
    """

    pmf: NDArray[np.float64]
    label: str = "discrete"

    @classmethod
    def from_pmf(cls, pmf: ArrayLike, label: str = "discrete") -> DiscreteDemand:
        """Validate and normalise a pmf over ``0..len(pmf)-1``.

        Raises:
            ExactSolverError: on negative entries, NaN, or zero total mass.
        """
        arr = np.asarray(pmf, dtype=np.float64).ravel()
        if arr.size == 0 or not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.sum() <= 0:
            raise ExactSolverError(f"pmf must be non-negative with positive mass, got {pmf!r}")
        arr = np.trim_zeros(arr / arr.sum(), "b")
        arr.setflags(write=False)
        return cls(pmf=arr, label=label)

    @property
    def d_max(self) -> int:
        """Largest demand with positive probability."""
        return int(self.pmf.shape[0] - 1)

    @property
    def mean(self) -> float:
        """Expected demand per period, units."""
        return float(np.arange(self.pmf.shape[0]) @ self.pmf)

    @property
    def cdf(self) -> NDArray[np.float64]:
        """``P(D <= d)`` for ``d = 0..d_max``."""
        return np.minimum(np.cumsum(self.pmf), 1.0)

    def convolve(self, periods: int) -> DiscreteDemand:
        """Distribution of total demand over ``periods`` independent periods (>= 1)."""
        if periods < 1:
            raise ExactSolverError(f"periods must be >= 1, got {periods}")
        out = self.pmf
        for _ in range(periods - 1):
            out = np.convolve(out, self.pmf)
        return DiscreteDemand.from_pmf(out, f"{self.label}*{periods}")

    def expected_excess(self, levels: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(E[(y - D)^+], E[(D - y)^+])`` for each integer level ``y`` (may be negative)."""
        y = np.asarray(levels, dtype=np.float64)
        d = np.arange(self.pmf.shape[0], dtype=np.float64)
        over = np.maximum(y[..., None] - d, 0.0) @ self.pmf
        under = over - y + self.mean  # E[(D-y)^+] = E[D] - y + E[(y-D)^+]
        return over, np.maximum(under, 0.0)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> NDArray[np.int64]:
        """Draw demands with ``rng``."""
        return np.asarray(rng.choice(self.pmf.shape[0], size=size, p=self.pmf), dtype=np.int64)

    def __repr__(self) -> str:
        return f"DiscreteDemand({self.label}, mean={self.mean:.4g}, d_max={self.d_max})"


def poisson_demand(mean: float, tail: float = 1e-12) -> DiscreteDemand:
    """Poisson(``mean``) demand truncated at the ``1 - tail`` quantile and renormalised.

    With the default ``tail`` the truncation changes expected costs by far less than 1e-9.

    Raises:
        ExactSolverError: for a non-positive mean or a tail outside (0, 0.5).
    """
    if not mean > 0:
        raise ExactSolverError(f"Poisson mean must be > 0, got {mean!r}")
    if not 0 < tail < 0.5:
        raise ExactSolverError(f"tail must be in (0, 0.5), got {tail!r}")
    d_max = int(stats.poisson.isf(tail, mean)) + 1
    pmf: Any = stats.poisson.pmf(np.arange(d_max + 1), mean)
    return DiscreteDemand.from_pmf(pmf, f"Poisson({mean:g})")
