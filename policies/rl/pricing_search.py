"""Continuous-price dynamic pricing policies learned by cross-entropy search on common random
numbers (the model of :mod:`policies.pricing.dynamic`: ``stock`` units, ``horizon`` periods,
Poisson demand ``a * exp(-b * price)``).

Policy class
------------
With ``n`` periods and ``x`` units left, ``z = log(a * n / x)`` is the log of the ratio of
price-0 demand to stock (the fluid, re-solved price is ``max(1, z) / b``). The learned price is

    b * price = max(theta_0, theta_1 + theta_2 * z) + theta_3 / sqrt(x)

in dimensionless units, so a policy learned on one instance is expressed per SKU through the
SKU's own ``a`` (demand scale) and ``b`` (price scale); prices are continuous (no grid).
``theta = (1, 0, 1, 0)`` is the re-solved fluid price (the baseline the search starts from).

Learning
--------
:func:`train_pricing_policy`: a cross-entropy method over ``theta``. Demand uses common random
numbers exactly: in each period ``Poisson(a)`` customers arrive at price 0, each with an
``Exp(b)`` valuation, and buys when the valuation exceeds the price, so demand at price ``p``
is ``Poisson(a exp(-b p))`` and every candidate sees the same customers. Every generation draws
fresh training paths; the distribution mean is scored on fixed validation paths (seeds disjoint
from training) and the best is kept. Exact expected revenues are for reporting only
(:func:`policies.rl.exact_eval.exact_pricing_revenue`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from policies.registry import PolicyError

__all__ = [
    "FLUID_THETA",
    "FluidPricePolicy",
    "PricingSearchConfig",
    "PricingSearchError",
    "PricingSearchResult",
    "customer_paths",
    "simulate_revenue",
    "train_pricing_policy",
]

#: The re-solved fluid price.
FLUID_THETA = (1.0, 0.0, 1.0, 0.0)
_VALIDATION_STREAM = 7_919_500


class PricingSearchError(PolicyError, ValueError):
    """Invalid instance, parameters or settings of the pricing search."""


def _dimensionless_price(
    theta: NDArray[np.float64],
    a: float,
    periods_left: NDArray[np.float64],
    stock: NDArray[np.float64],
) -> NDArray[np.float64]:
    """``b * price`` for ``theta (..., 4)`` broadcast against the states."""
    x = np.maximum(stock, 0.5)
    z = np.log(a * np.maximum(periods_left, 1e-9) / x)
    t = np.moveaxis(np.asarray(theta, dtype=np.float64), -1, 0)
    out: NDArray[np.float64] = np.maximum(t[0], t[1] + t[2] * z) + t[3] / np.sqrt(x)
    return np.maximum(out, 0.0)


@dataclass(frozen=True, slots=True)
class FluidPricePolicy:
    """A learned (or fluid) continuous-price policy (module docstring).

    Attributes:
        theta: the four dimensionless parameters.
        a: arrivals per period at price 0 (the SKU's demand scale).
        b: price sensitivity per price unit (``1/b`` is the SKU's price scale).
    """

    theta: tuple[float, float, float, float]
    a: float
    b: float

    def __post_init__(self) -> None:
        if len(self.theta) != 4 or not all(math.isfinite(v) for v in self.theta):
            raise PricingSearchError(f"theta must be 4 finite numbers, got {self.theta!r}")
        if not (self.a > 0 and self.b > 0 and math.isfinite(self.a) and math.isfinite(self.b)):
            raise PricingSearchError(f"a and b must be finite and > 0, got {self.a}, {self.b}")

    def price(
        self, periods_left: NDArray[np.float64], stock: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Prices (the SKU's price units) for states ``(periods_left, stock)``, broadcast."""
        theta = np.asarray(self.theta)
        out: NDArray[np.float64] = (
            _dimensionless_price(
                theta, self.a, np.asarray(periods_left, np.float64), np.asarray(stock, np.float64)
            )
            / self.b
        )
        return out


def customer_paths(
    rng: np.random.Generator, a: float, b: float, horizon: int, paths: int
) -> NDArray[np.float64]:
    """Valuations ``(horizon, paths, M)`` of the customers arriving in each period (``-inf``
    pads absent customers): ``Poisson(a)`` arrivals, ``Exp(b)`` valuations."""
    top = int(stats.poisson.isf(1e-12, a)) + 1
    count = np.minimum(rng.poisson(a, (horizon, paths)), top)
    vals = rng.exponential(1.0 / b, (horizon, paths, top))
    vals[np.arange(top)[None, None, :] >= count[..., None]] = -np.inf
    return vals


def simulate_revenue(
    thetas: NDArray[np.float64], valuations: NDArray[np.float64], *, stock: int, a: float, b: float
) -> NDArray[np.float64]:
    """Revenue of ``K`` candidate ``thetas (K, 4)`` on the same customers (CRN).

    Returns:
        ``(K, N)`` revenue per path over the horizon (price units).
    """
    horizon, paths, _ = valuations.shape
    k = thetas.shape[0]
    left = np.full((k, paths), float(stock))
    revenue = np.zeros((k, paths))
    for t in range(horizon):
        n = float(horizon - t)
        price = _dimensionless_price(thetas[:, None, :], a, np.full((k, paths), n), left) / b
        demand = (valuations[t][None, :, :] > price[:, :, None]).sum(axis=2)
        sold = np.minimum(demand, left)
        revenue += price * sold
        left -= sold
    return revenue


@dataclass(frozen=True, slots=True)
class PricingSearchConfig:
    """Cross-entropy settings (see :class:`policies.rl.projected.SearchConfig`)."""

    generations: int = 25
    population: int = 16
    elite: int = 4
    paths: int = 512
    val_paths: int = 4096
    init_std: tuple[float, float, float, float] = (0.2, 0.3, 0.3, 0.3)
    min_std: float = 0.01
    smoothing: float = 0.8

    def __post_init__(self) -> None:
        if self.generations < 1 or self.population < 2 or not 1 <= self.elite < self.population:
            raise PricingSearchError(
                f"need generations >= 1 and 1 <= elite < population, got {self.generations}, "
                f"{self.elite}, {self.population}"
            )


@dataclass(frozen=True, slots=True)
class PricingSearchResult:
    """Outcome of :func:`train_pricing_policy`.

    Attributes:
        policy: the selected policy (best validation revenue over generations).
        validation_revenue: its mean simulated revenue on the validation paths.
        history: per generation the distribution mean's ``theta`` and validation revenue.
        simulated_periods: customer-periods simulated (training and validation).
    """

    policy: FluidPricePolicy
    validation_revenue: float
    history: list[tuple[tuple[float, ...], float]] = field(repr=False)
    simulated_periods: int


def train_pricing_policy(
    *,
    stock: int,
    horizon: int,
    a: float,
    b: float,
    seed: int,
    config: PricingSearchConfig | None = None,
) -> PricingSearchResult:
    """Learn ``theta`` by CEM with common random numbers (module docstring).

    Raises:
        PricingSearchError: on an invalid instance or settings.
    """
    cfg = config or PricingSearchConfig()
    if stock < 1 or horizon < 1 or not (a > 0 and b > 0):
        raise PricingSearchError(
            f"need stock, horizon >= 1 and a, b > 0, got {stock}, {horizon}, {a}, {b}"
        )
    rng = np.random.default_rng(seed)
    val = customer_paths(
        np.random.default_rng([_VALIDATION_STREAM, stock, horizon]), a, b, horizon, cfg.val_paths
    )
    mean = np.array(FLUID_THETA)
    std = np.array(cfg.init_std)
    history: list[tuple[tuple[float, ...], float]] = []
    best: tuple[float, NDArray[np.float64]] | None = None
    simulated = 0
    for _ in range(cfg.generations):
        cand = mean + std * rng.standard_normal((cfg.population, 4))
        cand[0] = mean
        paths = customer_paths(rng, a, b, horizon, cfg.paths)
        rev = simulate_revenue(cand, paths, stock=stock, a=a, b=b).mean(axis=1)
        simulated += cfg.population * cfg.paths * horizon
        elite = cand[np.argsort(-rev, kind="stable")[: cfg.elite]]
        mean = cfg.smoothing * elite.mean(axis=0) + (1 - cfg.smoothing) * mean
        std = np.maximum(cfg.smoothing * elite.std(axis=0) + (1 - cfg.smoothing) * std, cfg.min_std)
        score = float(simulate_revenue(mean[None], val, stock=stock, a=a, b=b).mean())
        simulated += cfg.val_paths * horizon
        history.append((tuple(float(v) for v in mean), score))
        if best is None or score > best[0]:
            best = (score, mean.copy())
    assert best is not None
    theta = tuple(float(v) for v in best[1])
    policy = FluidPricePolicy((theta[0], theta[1], theta[2], theta[3]), a, b)
    return PricingSearchResult(policy, best[0], history, simulated)
