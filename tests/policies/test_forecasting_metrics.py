"""Forecast metrics against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from policies.forecasting import ForecastingError, metrics

HISTORY = np.array([[1.0, 3.0, 2.0, 4.0]])  # lag-1 |diffs| 2, 1, 2 -> 5/3; squares -> 3
ACTUAL = np.array([[2.0, 4.0]])
FORECAST = np.array([[3.0, 2.0]])  # errors f - y = +1, -2


def test_mase_is_mae_over_in_sample_naive_mae() -> None:
    assert metrics.naive_scale_mae(HISTORY)[0] == pytest.approx(5 / 3)
    assert metrics.mase(ACTUAL, FORECAST, HISTORY)[0] == pytest.approx(1.5 / (5 / 3))


def test_seasonal_lag_changes_the_scale() -> None:
    # lag 2: |2-1|, |4-3| -> 1
    assert metrics.mase(ACTUAL, FORECAST, HISTORY, lag=2)[0] == pytest.approx(1.5)


def test_rmsse_is_rmse_over_in_sample_naive_rmse() -> None:
    assert metrics.naive_scale_mse(HISTORY)[0] == pytest.approx(3.0)
    assert metrics.rmsse(ACTUAL, FORECAST, HISTORY)[0] == pytest.approx(math.sqrt(2.5 / 3.0))


def test_bias_signs_over_forecast_positive() -> None:
    assert metrics.scaled_bias(ACTUAL, FORECAST, HISTORY)[0] == pytest.approx(-0.5 / (5 / 3))
    assert metrics.percent_bias(ACTUAL, FORECAST)[0] == pytest.approx(-1 / 6)
    assert metrics.percent_bias(ACTUAL, ACTUAL + 1.0)[0] == pytest.approx(2 / 6)


def test_coverage_counts_bounds_as_inside() -> None:
    lower = np.array([[2.5, 4.0]])
    upper = np.array([[3.5, 5.0]])
    assert metrics.coverage(ACTUAL, lower, upper)[0] == pytest.approx(0.5)


def test_metrics_are_row_wise_and_ignore_nan_actuals() -> None:
    actual = np.vstack([ACTUAL, [[np.nan, 4.0]]])
    forecast = np.vstack([FORECAST, FORECAST])
    history = np.vstack([HISTORY, HISTORY])
    got = metrics.mase(actual, forecast, history)
    assert got == pytest.approx([0.9, 2.0 / (5 / 3)])
    assert metrics.coverage(actual, forecast - 1, forecast + 1)[1] == 0.0


def test_flat_history_has_undefined_scaled_error() -> None:
    flat = np.array([[5.0, 5.0, 5.0]])
    assert np.isnan(metrics.mase(ACTUAL, FORECAST, flat)[0])
    assert np.isnan(metrics.rmsse(ACTUAL, FORECAST, flat)[0])


def test_shape_mismatch_names_the_field() -> None:
    with pytest.raises(ForecastingError, match="forecast"):
        metrics.mase(ACTUAL, np.zeros((1, 3)), HISTORY)
