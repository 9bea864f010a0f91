"""The demand kernel: exact multipliers on constructed parameters, Poisson sampling, seeding."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pytest

from dynamics.demand import (
    DemandEvent,
    DemandParams,
    HolidayEffect,
    calendar_multiplier,
    demand_rates,
    discount_fractions,
    sample_arrival_times,
    sample_demand,
)

MONDAY = date(2026, 3, 2)


def _params(n_skus: int = 4, n_loc: int = 3, **kw: Any) -> DemandParams:
    base = np.arange(1.0, n_skus * n_loc + 1).reshape(n_skus, n_loc)
    defaults: dict[str, object] = {
        "base_rate": base,
        "category": np.arange(n_skus) % 2,
        "list_price_cents": np.full(n_skus, 1000),
        "elasticity": np.full(n_skus, -2.0),
        "start_date": MONDAY,
        "n_categories": 2,
    }
    defaults.update(kw)
    return DemandParams(**defaults)  # type: ignore[arg-type]


def test_pure_poisson_single_sku_rate_is_exactly_lambda() -> None:
    p = DemandParams(
        base_rate=np.array([[5.0]]),
        category=np.array([0]),
        list_price_cents=np.array([1000]),
        elasticity=np.array([0.0]),
        start_date=MONDAY,
    )
    for day in (0.0, 0.5, 3.0, 6.99, 200.0, 364.0):
        rates = demand_rates(p, day, prices_cents=np.array([1000]))
        assert rates.tolist() == [[5.0]]
        assert demand_rates(p, day).tolist() == [[5.0]]


def test_weekly_seasonality_multiplies_by_the_weekday_factor() -> None:
    weekly = np.array([0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 0.25])
    p = _params(weekly=weekly)
    for day in range(14):
        assert np.array_equal(demand_rates(p, day + 0.3), p.base_rate * weekly[day % 7])


def test_yearly_seasonality_follows_the_cosine() -> None:
    p = _params(yearly_amplitude=0.3, yearly_peak_day=70)  # day of year 61 is 2026-03-02
    for day in (0, 9, 100, 250):
        doy = (MONDAY.toordinal() + day) - date(2026 if day < 305 else 2027, 1, 1).toordinal() + 1
        expected = 1 + 0.3 * math.cos(2 * math.pi * (doy - 70) / 365.25)
        assert calendar_multiplier(p, day) == pytest.approx(expected, rel=1e-14)
        np.testing.assert_allclose(demand_rates(p, day), p.base_rate * expected, rtol=1e-14)
    assert calendar_multiplier(p, 9) == pytest.approx(1.3, rel=1e-14)  # 2026-03-11 is day 70


def test_holidays_recur_yearly_unless_one_off() -> None:
    p = _params(
        holidays=(
            HolidayEffect(date(2025, 3, 4), multiplier=0.5, recurring=True),
            HolidayEffect(date(2025, 3, 5), multiplier=3.0, recurring=False),
        )
    )
    assert calendar_multiplier(p, 2) == 0.5  # 2026-03-04: recurring from 2025
    assert calendar_multiplier(p, 3) == 1.0  # 2026-03-05: the one-off was in 2025
    assert calendar_multiplier(p, 1) == 1.0


def test_price_elasticity_is_a_power_of_the_price_ratio() -> None:
    p = _params(elasticity=np.array([-2.0, -1.0, 0.0, -0.5]))
    prices = np.array([800, 1250, 500, 1000])
    expected = p.base_rate * np.array([0.8**-2.0, 1.25**-1.0, 1.0, 1.0])[:, None]
    np.testing.assert_allclose(demand_rates(p, 0, prices), expected, rtol=1e-14)
    # per-location prices
    per_loc = np.full((4, 3), 1000)
    per_loc[0, 2] = 500
    rates = demand_rates(p, 0, per_loc)
    assert rates[0, 2] == pytest.approx(p.base_rate[0, 2] * 4.0, rel=1e-14)
    assert np.array_equal(rates[1:], p.base_rate[1:])


def test_event_multipliers_apply_only_within_their_window_and_scope() -> None:
    p = _params()
    sale = DemandEvent(2.0, 4.0, multiplier=3.0, sku_mask=np.array([True, False, True, False]))
    heat = DemandEvent(
        3.0,
        5.0,
        category_multipliers=np.array([1.0, 2.5]),
        location_mask=np.array([False, True, True]),
    )
    events = (sale, heat)
    assert np.array_equal(demand_rates(p, 1.99, events=events), p.base_rate)
    on_sale = demand_rates(p, 2.0, events=events)
    assert np.array_equal(on_sale, p.base_rate * np.array([3.0, 1.0, 3.0, 1.0])[:, None])
    both = demand_rates(p, 3.5, events=events)
    expected = p.base_rate * np.array([3.0, 1.0, 3.0, 1.0])[:, None]
    expected[:, 1:] *= np.array([1.0, 2.5, 1.0, 2.5])[:, None]  # category 1 = SKUs 1 and 3
    assert np.array_equal(both, expected)
    assert np.array_equal(demand_rates(p, 4.0, events=events)[:, 0], p.base_rate[:, 0])  # sale over
    assert np.array_equal(
        demand_rates(p, 5.0, events=events), p.base_rate
    )  # [start, end) is half-open


def test_closed_locations_have_no_demand() -> None:
    closed = np.zeros((7, 3), dtype=bool)
    closed[6, 0] = True  # location 0 closed on Sundays
    p = _params(
        closed_weekdays=closed,
        store_mask=np.array([True, True, False]),
        holidays=(HolidayEffect(date(2026, 3, 4), stores_closed=True),),
    )
    sunday = demand_rates(p, 6)
    assert np.array_equal(sunday[:, 0], np.zeros(4)) and np.array_equal(
        sunday[:, 1:], p.base_rate[:, 1:]
    )
    holiday = demand_rates(p, 2)
    assert np.array_equal(holiday[:, :2], np.zeros((4, 2)))
    assert np.array_equal(holiday[:, 2], p.base_rate[:, 2])  # the warehouse (online) stays open
    shut = DemandEvent(
        0.0, 1.0, location_mask=np.array([False, False, True]), closes_locations=True
    )
    assert np.array_equal(demand_rates(p, 0, events=[shut])[:, 2], np.zeros(4))


def test_discount_fractions_take_the_deepest_active_cut() -> None:
    p = _params()
    events = [
        DemandEvent(0, 2, discount=0.1),
        DemandEvent(
            1,
            3,
            discount=0.3,
            sku_mask=np.array([True, False, False, False]),
            location_mask=np.array([True, False, False]),
        ),
    ]
    assert np.array_equal(discount_fractions(p, 0.5, events), np.full((4, 3), 0.1))
    cut = discount_fractions(p, 1.5, events)
    assert cut[0, 0] == 0.3 and cut[0, 1] == 0.1 and cut[1, 0] == 0.1
    assert np.array_equal(discount_fractions(p, 3.0, events), np.zeros((4, 3)))


def test_out_parameter_is_filled_in_place() -> None:
    p = _params()
    out = np.empty((4, 3))
    assert demand_rates(p, 0, out=out) is out
    with pytest.raises(ValueError, match="out has shape"):
        demand_rates(p, 0, out=np.empty((3, 3)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"base_rate": np.array([1.0, 2.0])}, "base_rate must be"),
        ({"elasticity": np.array([-1.0, 0.5, -1.0, -1.0])}, "elasticity must be <= 0"),
        (
            {"list_price_cents": np.array([1000, 0, 1000, 1000])},
            "list_price_cents must be positive",
        ),
        ({"category": np.array([0, 1, 2, 0])}, r"category indices outside 0\.\.1"),
        ({"yearly_amplitude": 1.0}, "yearly_amplitude 1.0"),
    ],
)
def test_bad_parameters_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _params(**change)


def test_non_positive_price_is_refused() -> None:
    with pytest.raises(ValueError, match="prices must be positive"):
        demand_rates(_params(), 0, np.array([1000, 0, 1000, 1000]))


def test_poisson_sample_mean_is_within_a_derived_bound() -> None:
    rates = np.full((500, 40), 3.7)
    draws = sample_demand(np.random.default_rng(2026), rates)
    assert draws.dtype.kind == "i" and draws.shape == rates.shape
    n = draws.size
    # mean of n i.i.d. Poisson(λ) has sd sqrt(λ/n); |error| <= 5 sd fails with p < 1e-6
    assert abs(draws.mean() - 3.7) <= 5 * math.sqrt(3.7 / n)
    # and the variance equals the mean (Poisson), within 5 sd of the sample variance
    # (sd ≈ sqrt((2λ² + λ)/n))
    assert abs(draws.var() - 3.7) <= 5 * math.sqrt((2 * 3.7**2 + 3.7) / n)


def test_sampling_is_deterministic_for_a_seed() -> None:
    rates = demand_rates(_params(weekly=np.linspace(0.5, 1.5, 7)), 3)
    a = sample_demand(np.random.default_rng(9), rates, days=2.0)
    b = sample_demand(np.random.default_rng(9), rates, days=2.0)
    c = sample_demand(np.random.default_rng(10), rates, days=2.0)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_arrival_times_lie_in_opening_hours_and_follow_the_profile() -> None:
    profile = np.zeros(24)
    profile[9], profile[10] = 1.0, 3.0
    rng = np.random.default_rng(4)
    t = sample_arrival_times(rng, 40_000, profile, open_hour=9.5, close_hour=21.0)
    hours = t * 24
    assert np.all(np.diff(t) >= 0) and hours.min() >= 9.5 and hours.max() < 11.0
    # hour 9 is open half the time with weight 1, hour 10 fully with weight 3: share 0.5/3.5
    share = float(np.mean(hours < 10.0))
    p = 0.5 / 3.5
    assert abs(share - p) <= 5 * math.sqrt(p * (1 - p) / t.size)
    assert sample_arrival_times(rng, 0).size == 0
    with pytest.raises(ValueError, match="no weight"):
        sample_arrival_times(rng, 3, profile, open_hour=12, close_hour=20)


def test_segment_mixture_averages_the_segments_price_responses() -> None:
    p = _params(
        elasticity=np.full(4, -1.0),
        segment_weights=np.array([0.25, 0.75]),
        segment_sensitivity=np.array([2.0, 0.5]),
    )
    rates = demand_rates(p, 0, np.full(4, 500))  # half the list price
    expected = 0.25 * 0.5**-2.0 + 0.75 * 0.5**-0.5
    np.testing.assert_allclose(rates, p.base_rate * expected, rtol=1e-14)
    with pytest.raises(ValueError, match="sum to 1"):
        _params(segment_weights=np.array([0.5, 0.6]), segment_sensitivity=np.ones(2))
    with pytest.raises(ValueError, match="prices have shape"):
        demand_rates(p, 0, np.full(3, 500))


def test_poisson_cdf_table_matches_scipy_and_samples_with_the_right_mean() -> None:
    from scipy import stats

    from dynamics.demand import poisson_cdf_table, sample_demand_from_table

    for mean in (0.5, 5.0, 40.0):
        table = poisson_cdf_table(mean)
        ref = stats.poisson.cdf(np.arange(table.size), mean)
        np.testing.assert_allclose(table, ref, rtol=0, atol=1e-12)
        assert 1.0 - table[-1] < 1e-12
    draws = sample_demand_from_table(np.random.default_rng(4), poisson_cdf_table(5.0), (200, 50))
    assert draws.dtype == np.int64 and draws.shape == (200, 50)
    # mean of 10,000 Poisson(5) draws: standard error sqrt(5/10000) = 0.022; 5 sigma = 0.11
    assert abs(draws.mean() - 5.0) < 0.11


def test_sample_demand_of_a_float_is_an_int_drawn_like_an_array() -> None:
    a = sample_demand(np.random.default_rng(3), 4.0)
    b = sample_demand(np.random.default_rng(3), np.array([4.0]))
    assert type(a) is int
    assert a == int(b[0])


def test_sample_demand_periods_draws_what_sample_demand_draws_for_copies_of_one_rate() -> None:
    from dynamics.demand import sample_demand_periods

    a = sample_demand_periods(np.random.default_rng(8), 5.0, 300)
    b = sample_demand(np.random.default_rng(8), np.full(300, 5.0))
    assert a.dtype == np.int64
    assert np.array_equal(a, b)
