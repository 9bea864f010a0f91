"""Scenario distributions: exact means, supports, and sample means inside derived bounds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter

from scenarios.distributions import Dist

ADAPTER: TypeAdapter[object] = TypeAdapter(Dist)

CASES: list[tuple[dict[str, Any], float, float, tuple[float, float]]] = [
    ({"kind": "fixed", "value": 3.0}, 3.0, 0.0, (3.0, 3.0)),
    ({"kind": "uniform", "low": 2.0, "high": 6.0}, 4.0, 16.0 / 12.0, (2.0, 6.0)),
    ({"kind": "lognormal", "mean": 10.0, "sd": 3.0}, 10.0, 9.0, (0.0, math.inf)),
    ({"kind": "gamma", "mean": 3.0, "cv": 0.5}, 3.0, 2.25, (0.0, math.inf)),
    ({"kind": "poisson", "mean": 4.0, "offset": 2.0}, 6.0, 4.0, (2.0, math.inf)),
    ({"kind": "pmf", "values": [3, 4, 5], "probs": [0.25, 0.5, 0.25]}, 4.0, 0.5, (3.0, 5.0)),
]


@pytest.mark.parametrize(
    ("spec", "mean", "var", "support"), CASES, ids=[c[0]["kind"] for c in CASES]
)
def test_sample_mean_is_within_five_standard_errors(
    spec: dict[str, Any], mean: float, var: float, support: tuple[float, float]
) -> None:
    dist = ADAPTER.validate_python(spec)
    assert dist.mean_value() == pytest.approx(mean, rel=1e-12)  # type: ignore[attr-defined]
    assert dist.mean() == dist.mean_value()  # type: ignore[attr-defined]
    assert dist.support() == support  # type: ignore[attr-defined]
    n = 200_000
    x = dist.sample(np.random.default_rng(11), n)  # type: ignore[attr-defined]
    assert x.shape == (n,)
    # CLT: the sample mean has sd sqrt(var/n); 5 sd leaves a false-alarm chance below 1e-6
    assert abs(x.mean() - mean) <= 5 * math.sqrt(var / n) + 1e-12
    assert x.min() >= support[0] and x.max() <= support[1]


def test_lognormal_parameters_reproduce_the_requested_mean_and_sd() -> None:
    d = ADAPTER.validate_python({"kind": "lognormal", "mean": 450.0, "sd": 300.0})
    mu, sigma = d.mu, d.sigma  # type: ignore[attr-defined]
    assert math.exp(mu + sigma**2 / 2) == pytest.approx(450.0, rel=1e-12)
    assert math.sqrt((math.exp(sigma**2) - 1) * math.exp(2 * mu + sigma**2)) == pytest.approx(
        300.0, rel=1e-12
    )


def test_lognormal_max_clips_draws() -> None:
    d = ADAPTER.validate_python({"kind": "lognormal", "mean": 450.0, "sd": 600.0, "max": 1000.0})
    assert d.sample(np.random.default_rng(1), 10_000).max() == 1000.0  # type: ignore[attr-defined]


def test_same_generator_state_gives_same_draws() -> None:
    d = ADAPTER.validate_python({"kind": "gamma", "mean": 2.0, "cv": 1.3})
    a = d.sample(np.random.default_rng(5), 100)  # type: ignore[attr-defined]
    b = d.sample(np.random.default_rng(5), 100)  # type: ignore[attr-defined]
    c = d.sample(np.random.default_rng(6), 100)  # type: ignore[attr-defined]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_mean_key_is_read_and_written_as_mean() -> None:
    d = ADAPTER.validate_python({"kind": "gamma", "mean": 2.0, "cv": 0.5})
    assert ADAPTER.dump_python(d) == {"kind": "gamma", "mean": 2.0, "cv": 0.5}
