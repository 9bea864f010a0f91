"""Promotions in the twin: the plan's demand lift (the kernel's price response), its
publication to the API, and the discount the API charges online orders in the window."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from twin_helpers import clock_for, small_baseline

from twin.cx import CxTwin
from twin.promotions import PromotionPlan, PromotionWindow, SlowMoverPromotions
from twin.runner import open_commerce, resolve
from twin.world import build_world


def _world(days: int = 6):  # type: ignore[no-untyped-def]
    sc = small_baseline(days=days, n_skus=20, population=300)
    return sc, build_world(sc, np.random.default_rng(0))


def test_lift_is_the_kernel_price_response_on_promoted_skus_inside_the_window_only() -> None:
    _sc, w = _world()
    codes = list(w.skus.codes)
    plan = PromotionPlan((PromotionWindow((codes[2], codes[5]), 1, 3, 20),))
    d = w.demand
    e = d.elasticity[[2, 5]]
    assert d.segment_weights is not None and d.segment_sensitivity is not None
    # the segment mixture of the kernel: sum_k weight_k * 0.8 ** (elasticity * sensitivity_k)
    mix = zip(d.segment_weights, d.segment_sensitivity, strict=True)
    want = sum(wk * 0.8 ** (e * sk) for wk, sk in mix)
    lift = plan.lift(w, 1)
    assert lift[[2, 5]] == pytest.approx(want)
    assert np.all(lift[[0, 1, 3, 4]] == 1.0) and np.all(lift[[2, 5]] > 1.0)
    assert np.all(plan.lift(w, 0) == 1.0) and np.all(plan.lift(w, 3) == 1.0)
    rates = np.ones((w.n_skus, w.n_sites))
    out = plan.apply(w, 2, rates)
    assert np.all(out[:, : w.n_stores] == 1.0)  # online promotions: stores untouched
    assert out[2, w.n_stores :] == pytest.approx(lift[2])


def test_plans_are_read_with_errors_naming_the_window() -> None:
    plan = PromotionPlan.from_dict(
        {"windows": [{"skus": ["A"], "start_day": 2, "end_day": 4, "percent_off": 15}]}
    )
    assert plan.windows[0] == PromotionWindow(("A",), 2, 4, 15)
    with pytest.raises(ValueError, match=r"windows\[0\].*empty"):
        PromotionPlan.from_dict({"windows": [{"skus": ["A"], "start_day": 4, "end_day": 4,
                                              "percent_off": 5}]})  # fmt: skip
    with pytest.raises(ValueError, match=r"windows\[0\].*percent_off"):
        PromotionPlan.from_dict({"windows": [{"skus": ["A"], "start_day": 1, "end_day": 4,
                                              "percent_off": 95}]})  # fmt: skip


def test_the_slow_mover_policy_plans_windows_on_the_slowest_online_skus() -> None:
    _sc, w = _world()
    plan = SlowMoverPromotions(n_skus=3, percent_off=25, first_day=1, every_days=3, length_days=2)
    got = plan.plan(w, 6)
    rate = w.demand.base_rate[:, w.n_stores : w.n_sites].sum(axis=1)
    slow = {w.skus.codes[i] for i in np.argsort(rate, kind="stable")[:3]}
    assert [(x.start_day, x.end_day, x.percent_off) for x in got.windows] == [
        (1, 3, 25),
        (4, 6, 25),
    ]
    assert set(got.windows[0].skus) == slow


@pytest.mark.slow
def test_a_published_plan_discounts_online_orders_in_its_window_through_the_api() -> None:
    sc = resolve(small_baseline(days=3, n_skus=20, population=600), seed=2, days=3)
    clock = clock_for(sc)
    client, close, _mode = open_commerce(sc, clock, database=":memory:")
    try:
        twin = CxTwin(sc, client, clock, seed=2, days=3)
        twin.plan = PromotionPlan((PromotionWindow(tuple(twin.world.skus.codes), 1, 2, 10),))
        twin.run()
        orders = client.list_orders(limit=500).items
        start = datetime(sc.start_date.year, sc.start_date.month, sc.start_date.day, tzinfo=UTC)
        day = {o.id: (o.created_at - start).days for o in orders}
        in_window = [o for o in orders if day[o.id] == 1]
        outside = [o for o in orders if day[o.id] != 1]
        assert in_window and outside
        for o in in_window:
            gross = sum(ln.quantity * ln.unit_price_cents for ln in o.lines)
            assert o.discount_cents == sum(
                ln.quantity * ln.unit_price_cents // 10 for ln in o.lines
            )
            assert o.total_cents == gross - o.discount_cents
        assert all(o.discount_cents == 0 for o in outside)
    finally:
        close()
