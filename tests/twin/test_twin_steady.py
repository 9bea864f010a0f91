"""Steady state: MSER-5 warm-up detection, the trend test, and a stationary baseline."""

from __future__ import annotations

import numpy as np
import pytest
from twin_helpers import scenario_data

from scenarios.schema import parse_scenario
from twin.errors import TwinConfigError
from twin.runner import run_scenario
from twin.steady import mser5, trend_ci


def test_mser5_cuts_an_initial_transient_and_keeps_a_stationary_series_whole() -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 1.0, 200)
    transient = np.concatenate([np.linspace(30.0, 0.0, 25), np.zeros(175)])
    cut = mser5(transient + noise)
    assert cut is not None and 15 <= cut <= 35 and cut % 5 == 0
    assert mser5(noise) is not None and mser5(noise) <= 20
    assert mser5(np.arange(200.0)) is None  # a ramp never settles
    assert mser5(noise[:15]) is None  # too short to judge


def test_trend_ci_holds_zero_for_noise_and_rejects_a_ramp() -> None:
    rng = np.random.default_rng(4)
    noise = rng.normal(100.0, 5.0, 70)
    assert trend_ci(noise).flat
    ramp = trend_ci(noise + 0.5 * np.arange(70))
    assert not ramp.flat and ramp.slope == pytest.approx(0.5, abs=0.15)
    with pytest.raises(TwinConfigError, match="too short"):
        trend_ci(noise[:20])


@pytest.mark.slow
def test_baseline_stock_is_stationary_after_the_warm_up(fake_client) -> None:
    d = scenario_data("baseline.yaml")
    d["duration_days"] = 63  # nine weeks: eight weekly batches after the warm-up
    sc = parse_scenario(d, source="baseline, 63 days")
    out = run_scenario(sc, write=False, client=fake_client(sc))
    on_hand = out.result.book.data["on_hand_units"].sum(axis=1).astype(float)
    warm = sc.warmup_days
    assert out.kpis["warmup_mser5_days"] >= 0, "MSER-5 found no steady state"
    assert out.kpis["warmup_mser5_days"] <= 21
    trend = trend_ci(on_hand[warm:], batch=7)
    assert trend.flat, trend
    # the stock level the trend is about is not degenerate
    assert on_hand[warm:].mean() > 1000 and out.kpis["fill_rate"] > 0.95
