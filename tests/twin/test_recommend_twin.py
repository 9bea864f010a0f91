"""Shoppers who respond to recommendations, in the twin (tastes, acceptance, the online hook,
and a paired run with and without recommendations)."""

from __future__ import annotations

import numpy as np
import pytest
from twin_helpers import small_baseline

from twin.cx import paired, run_cx
from twin.recommend import Acceptance, TasteModel


def test_acceptance_is_half_of_p_max_at_the_threshold_and_rises_with_affinity() -> None:
    acc = Acceptance(p_max=0.4, beta=6.0, a0=0.3, price_sensitivity=0.5)
    p = acc.probability(np.array([-1.0, 0.3, 1.0]), np.array([100, 100, 100]), 100.0)
    assert p[1] == pytest.approx(0.2)
    assert p[0] < p[1] < p[2] < 0.4
    # an item four times the basket's mean price is accepted half as often (0.5 power)
    dear = acc.probability(np.array([0.3]), np.array([400]), 100.0)
    assert dear[0] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="p_max"):
        Acceptance(p_max=1.5)


def test_tastes_are_unit_vectors_drawn_from_the_world_seed_only() -> None:
    cat = np.array([0, 0, 1, 1, 2])
    a = TasteModel(cat, 10, np.random.default_rng([3, 1]))
    b = TasteModel(cat, 10, np.random.default_rng([3, 1]))
    assert np.array_equal(a.items, b.items) and np.array_equal(a.users, b.users)
    assert np.allclose(np.linalg.norm(a.items, axis=1), 1.0)
    aff = a.affinity(2, np.arange(5))
    assert aff.shape == (5,) and np.all(np.abs(aff) <= 1.0 + 1e-12)


@pytest.mark.slow
def test_shoppers_shown_recommendations_buy_more_online_on_the_same_seed() -> None:
    sc = small_baseline(days=4, n_skus=40, population=800)
    ctrl = run_cx(sc, seed=3, days=4, recommend=False, retrain_days=1)
    treat = run_cx(sc, seed=3, days=4, recommend=True, retrain_days=1)
    assert ctrl.stats.accepted == 0 and ctrl.stats.api_calls == 0
    assert treat.stats.trainings == 4  # at 23:30 of days 0, 1, 2 and 3
    assert treat.stats.api_calls > 0 and 0 < treat.stats.accepted <= treat.stats.shown
    # the same sessions (common random numbers); accepted add-ons only add units
    assert treat.kpis["online_orders"] == ctrl.kpis["online_orders"]
    assert treat.kpis["online_units"] > ctrl.kpis["online_units"]


def test_paired_interval_is_the_t_interval_of_the_differences() -> None:
    p = paired("x", [10.0, 20.0, 30.0], [12.0, 21.0, 33.0])
    d = np.array([2.0, 1.0, 3.0])
    half = 4.302652729911275 * d.std(ddof=1) / np.sqrt(3)  # t(0.975, 2)
    assert p.diff == pytest.approx(2.0)
    assert (p.ci_low, p.ci_high) == pytest.approx((2.0 - half, 2.0 + half))
    assert p.rel == pytest.approx(0.1)
