"""Camera restocking model: CRN, exact no-op, direction and size of the effect."""

from __future__ import annotations

import numpy as np
import pytest

from edge_sim.errors import ConfigError
from edge_sim.restock import (
    MonitorConfig,
    ShelfMonitor,
    StoreShelfConfig,
    compare_cameras,
    simulate_store,
)

SMALL = StoreShelfConfig(n_skus=40, days=14)


def test_blind_cameras_change_nothing_exactly() -> None:
    base = simulate_store(SMALL, None, seed=3, replications=4)
    blind = simulate_store(SMALL, MonitorConfig(recall=0.0, false_gap_rate=0.0), 3, 4)
    assert np.array_equal(base.lost_units, blind.lost_units)
    assert np.array_equal(base.availability, blind.availability)


def test_same_seed_same_demand_in_both_arms() -> None:
    base = simulate_store(SMALL, None, seed=5, replications=3)
    cam = simulate_store(SMALL, MonitorConfig(), seed=5, replications=3)
    assert np.array_equal(base.demand_units, cam.demand_units)


def test_cameras_raise_availability_and_cut_lost_sales_with_a_ci_above_zero() -> None:
    v = compare_cameras(SMALL, MonitorConfig(recall=0.96), replications=8, seed=1)
    gain, lo, hi = v.availability_gain
    assert lo > 0 and lo <= gain <= hi
    assert v.availability_with > v.availability_without
    assert v.lost_share_with < v.lost_share_without
    assert v.lost_units_saved_per_store_day[1] > 0
    assert v.phantom_hours_cut > 0.1


def test_monitor_opens_a_task_on_a_seen_gap_and_fires_after_the_delay() -> None:
    m = ShelfMonitor(MonitorConfig(recall=1.0, false_gap_rate=0.0, restock_delay_h=0.0), (3,))
    act = m.step(0, np.array([0, 2, 0]), np.random.default_rng(0))
    assert act.gap_seen.tolist() == [True, False, True]
    assert act.restock.tolist() == [True, False, True]


def test_bad_configs_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"recall 1\.5"):
        MonitorConfig(recall=1.5)
    with pytest.raises(ConfigError, match="replications 0"):
        simulate_store(SMALL, None, 0, 0)
