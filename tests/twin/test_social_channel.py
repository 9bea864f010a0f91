"""Social-commerce bursts: the spike's shape (fast rise, power-law decay) and the channel."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from twin_helpers import clock_for, scenario_data

from scenarios.errors import ScenarioError
from scenarios.schema import Scenario, parse_scenario
from scenarios.voice_social import SocialBurst
from twin.channels import SocialChannel
from twin.engine import Twin
from twin.errors import TwinConfigError
from twin.voice_social import BurstShape

SHAPE = BurstShape(peak=600.0, rise=1.0, tau=2.0, alpha=1.5, duration=48.0)


def test_intensity_rises_linearly_to_the_peak_then_decays_as_a_power_law() -> None:
    u = np.array([-1.0, 0.0, 0.5, 1.0, 3.0, 7.0, 48.0])
    got = SHAPE.intensity(u)
    want = [0.0, 0.0, 300.0, 600.0, 600.0 * 2.0**-1.5, 600.0 * 4.0**-1.5, 0.0]
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("alpha", [0.7, 1.0, 1.5, 3.0])
def test_cumulative_is_the_integral_and_inverse_undoes_it(alpha: float) -> None:
    shape = BurstShape(peak=50.0, rise=0.5, tau=3.0, alpha=alpha, duration=30.0)
    grid = np.linspace(0.0, 30.0, 300_001)
    lam = shape.intensity(grid)
    numeric = np.concatenate([[0.0], np.cumsum((lam[1:] + lam[:-1]) / 2 * np.diff(grid))])
    np.testing.assert_allclose(
        shape.cumulative(grid[::1000]), numeric[::1000], rtol=1e-4, atol=1e-6
    )
    m = np.linspace(0.0, shape.total, 101)
    np.testing.assert_allclose(shape.cumulative(shape.inverse(m)), m, rtol=1e-9, atol=1e-9)


def test_sampled_arrivals_follow_the_shape_bin_by_bin() -> None:
    """Counts per 30-minute bin are Poisson with the shape's mass: each lies within 4.5 sd (a
    false alarm over 96 bins has probability < 1e-3); the busiest bin touches the peak (1 h);
    the decay's log-log slope matches that of the exact bin masses within 4 standard errors
    (delta method: var(log count) = 1 / mass)."""
    shape = BurstShape(peak=20_000.0, rise=1.0, tau=2.0, alpha=1.5, duration=48.0)
    times = shape.sample(np.random.default_rng(2026))
    edges = np.arange(0.0, 48.0 + 1e-9, 0.5)
    counts, _ = np.histogram(times, edges)
    expected = np.diff(shape.cumulative(edges))
    assert np.all(np.abs(counts - expected) <= 4.5 * np.sqrt(expected) + 1.0)
    assert int(np.argmax(expected)) == 2  # [1.0, 1.5): the first half hour of the decay
    assert int(np.argmax(counts)) in (1, 2) and counts[0] < counts[1]
    mid = (edges[:-1] + edges[1:]) / 2
    tail = (mid > 2.0) & (expected > 20)
    x = np.log1p((mid[tail] - shape.rise) / shape.tau)
    design = np.c_[np.ones_like(x), x]
    bread = np.linalg.inv(design.T @ design)
    cov = bread @ (design.T @ (design / expected[tail, None])) @ bread
    se = float(np.sqrt(cov[1, 1]))
    slope = np.polyfit(x, np.log(counts[tail]), 1)[0]
    reference = np.polyfit(x, np.log(expected[tail]), 1)[0]  # bin averages, not point values
    assert abs(reference + 1.5) < 0.15 and se < 0.03
    assert abs(slope - reference) < 4 * se


def test_the_same_seed_gives_the_same_arrivals() -> None:
    a = SHAPE.sample(np.random.default_rng(5))
    b = SHAPE.sample(np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_a_bad_shape_names_the_value() -> None:
    with pytest.raises(TwinConfigError, match="alpha -1"):
        BurstShape(peak=1.0, rise=1.0, tau=1.0, alpha=-1.0, duration=5.0)
    with pytest.raises(TwinConfigError, match=r"duration 0\.5"):
        BurstShape(peak=1.0, rise=1.0, tau=1.0, alpha=1.0, duration=0.5)


def _scenario(**burst: Any) -> Scenario:
    d = scenario_data("baseline.yaml")
    d["duration_days"] = 3
    d["warmup_days"] = 1
    d["catalog"]["n_skus"] = 20
    d["customers"]["population"] = 300
    spec = {
        "sku": "SKU000003",
        "start_day": 1,
        "start_hour": 10.0,
        "peak_sessions_per_hour": 20,
        "duration_hours": 30,
    }
    d["customers"]["social_bursts"] = [{**spec, **burst}]
    return parse_scenario(d)


def test_the_scenario_refuses_a_burst_shorter_than_its_rise() -> None:
    with pytest.raises(ScenarioError, match="rise_hours"):
        _scenario(rise_hours=5.0, duration_hours=2.0)
    assert SocialBurst(sku="X", start_day=0, peak_sessions_per_hour=1).decay_exponent == 1.5


@pytest.mark.slow
def test_a_burst_runs_through_the_api_for_its_sku_only_after_the_post(fake_client: Any) -> None:
    sc = _scenario()
    client = fake_client(sc)
    twin = Twin(sc, client, clock_for(sc))
    result = twin.run()
    (ch,) = [c for c in twin.channels if isinstance(c, SocialChannel)]
    (planned,) = ch.planned
    t0 = 1.0 + 10.0 / 24.0
    assert planned and all(t0 <= se.t < t0 + 30.0 / 24.0 for se in planned)
    sku = twin.world.skus.index_of("SKU000003")
    assert {tuple(se.basket) for se in planned} == {(sku,)}  # one unit each
    k = result.kpis
    assert k["social_sessions"] == len(planned)
    assert k["social_units"] + k["social_lost_units"] == len(planned)
    assert k["social_units"] > 0 and k["social_revenue_cents"] > 0
    # every social sale is an order of one unit of the SKU on the web channel of the API
    single = [
        o
        for o in client.orders.values()
        if o.channel == "web" and [(ln.sku, ln.quantity) for ln in o.lines] == [("SKU000003", 1)]
    ]
    assert len(single) >= k["social_units"]  # no substitutes: a miss is a lost sale


def test_a_burst_for_an_unknown_sku_is_refused(fake_client: Any) -> None:
    sc = _scenario(sku="SKU999999")
    with pytest.raises(TwinConfigError, match="SKU999999"):
        Twin(sc, fake_client(sc), clock_for(sc)).run()
