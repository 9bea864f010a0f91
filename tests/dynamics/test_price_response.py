"""The price -> demand-rate response a * exp(-b * p), written once in dynamics.price."""

from __future__ import annotations

import math

import numpy as np

from dynamics.price import demand_rate, exponential_rate


def test_rate_at_price_zero_is_a_and_falls_by_e_every_one_over_b() -> None:
    assert exponential_rate(0.0, 3.0, 0.5) == 3.0
    assert math.isclose(exponential_rate(2.0, 3.0, 0.5), 3.0 / math.e, rel_tol=1e-15)


def test_scalar_and_vector_forms_agree_exactly() -> None:
    prices = np.linspace(0.0, 20.0, 41)
    vector = demand_rate(prices, 4.0, 0.3)
    scalar = np.array([exponential_rate(float(p), 4.0, 0.3) for p in prices])
    assert vector.shape == (41,)
    assert vector.dtype == np.float64
    np.testing.assert_allclose(vector, scalar, rtol=1e-15, atol=0.0)


def test_scalar_input_gives_a_python_float_and_list_input_an_array() -> None:
    assert type(exponential_rate(1.0, 2.0, 1.0)) is float
    assert demand_rate([1.0, 2.0], 2.0, 1.0).shape == (2,)
    assert demand_rate(1.0, 2.0, 1.0).shape == ()
