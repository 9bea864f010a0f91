"""Exact, fast sampling of many discrete demand distributions at once (the network kernel's
demand draws): negative-binomial/Poisson pmfs by recurrence and guide-table inverse-CDF
sampling. Pure NumPy."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["TableSampler", "demand_pmf"]

_EPS = 1e-9


class TableSampler:
    """Exact inverse-CDF sampling of many discrete distributions at once (guide tables).

    Each row ``r`` is a distribution on ``0..K_r - 1`` given by its CDF (the last entry is 1:
    the tail beyond ``1 - tail`` is folded into the last value). A draw takes one uniform, a
    guide-table lookup (the first value whose CDF reaches the uniform's bin) and a short
    forward search; in NumPy this is several times faster than ``Generator.poisson`` or
    ``gamma`` + ``poisson`` per draw, and it gives the same distribution.
    """

    def __init__(self, pmf: NDArray[np.float64], tail: float = 1e-12, bins: int = 128) -> None:
        """``pmf``: (R, K) probabilities per row (rows sum to at most 1; the remainder is the
        mass beyond ``K - 1``, folded into the last kept value)."""
        if pmf.ndim != 2 or pmf.shape[1] < 1:
            raise ValueError(f"pmf must be (rows, values), got shape {pmf.shape}")
        R, K = pmf.shape
        cdf = np.cumsum(pmf, axis=1)
        length = np.minimum((cdf < 1.0 - tail).sum(axis=1) + 1, K)  # values kept per row
        keep = np.arange(K)[None, :] < length[:, None]
        cdf[np.arange(R), length - 1] = 1.0
        self.cdf = np.ascontiguousarray(cdf[keep])
        self.start = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
        self.bins = int(bins)
        marks = np.arange(self.bins) / self.bins
        shifted = self.cdf + np.repeat(np.arange(R, dtype=np.float64), length)
        pos = np.searchsorted(shifted, np.arange(R)[:, None] + marks[None, :], side="left")
        guide = np.clip(pos - self.start[:, None] - 1, 0, length[:, None] - 1)
        self.guide = np.ascontiguousarray(guide.ravel()).astype(np.int64)

    def sample(self, rows: NDArray[np.int64], u: NDArray[np.float64]) -> NDArray[np.int64]:
        """One draw per entry of ``rows`` (flat row indices) from uniforms ``u`` in [0, 1)."""
        return self.sample_prepared(rows * self.bins, self.start[rows], u)

    def sample_prepared(
        self,
        guide_base: NDArray[np.int64],
        cdf_base: NDArray[np.int64],
        u: NDArray[np.float64],
    ) -> NDArray[np.int64]:
        """:meth:`sample` with the per-row offsets precomputed: ``guide_base = rows * bins``
        and ``cdf_base = start[rows]``, each broadcastable against ``u`` (saves two passes
        when the same rows are drawn every period)."""
        k = self.guide[guide_base + (u * self.bins).astype(np.int64)].ravel()
        base = np.broadcast_to(cdf_base, u.shape).ravel()
        uf = u.ravel()
        act = np.flatnonzero(uf >= self.cdf[base + k])
        while act.size:
            k[act] += 1
            act = act[uf[act] >= self.cdf[base[act] + k[act]]]
        return k.reshape(u.shape)


def demand_pmf(mean: NDArray[np.float64], dispersion: NDArray[np.float64]) -> NDArray[np.float64]:
    """(R, K) pmf of negative-binomial demand with ``mean`` and variance ``mean + c mean^2``
    (``c = dispersion``; ``c = 0`` is Poisson), per row, ``K`` covering ``1 - 1e-12`` of every
    row. Built by the pmf recurrence in log space (no SciPy)."""
    m = np.maximum(np.asarray(mean, dtype=np.float64).ravel(), 0.0)
    c = np.asarray(dispersion, dtype=np.float64).ravel()
    if c.shape != m.shape:
        raise ValueError(f"dispersion has {c.size} entries, mean has {m.size}")
    sd = np.sqrt(m + c * m * m)
    K = int(np.ceil((m + 16.0 * sd + 30.0).max())) + 1
    k = np.arange(K - 1, dtype=np.float64)
    pois = c <= 0
    r = np.where(pois, 1.0, 1.0 / np.maximum(c, _EPS))
    prob = r / (r + m)  # NB success probability
    with np.errstate(divide="ignore"):
        log_m = np.log(np.maximum(m, 1e-300))
        log_q = np.log(np.maximum(1.0 - prob, 1e-300))
        log0 = np.where(pois, -m, r * np.log(prob))
        # ratio pmf(k+1)/pmf(k): m/(k+1) (Poisson) or (k+r)/(k+1) (1-p) (NB)
        step = np.where(
            pois[:, None],
            log_m[:, None] - np.log(k + 1.0)[None, :],
            np.log(k[None, :] + r[:, None]) - np.log(k + 1.0)[None, :] + log_q[:, None],
        )
    logp = np.concatenate([log0[:, None], log0[:, None] + np.cumsum(step, axis=1)], axis=1)
    pmf = np.exp(logp)
    pmf[m == 0] = 0.0
    pmf[m == 0, 0] = 1.0
    return np.asarray(pmf, dtype=np.float64)
