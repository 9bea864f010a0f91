"""Edge-node model: capacity, drops, offline buffering."""

from __future__ import annotations

import numpy as np
import pytest

from edge_sim.errors import ConfigError
from edge_sim.node import EdgeNodeConfig, Outage, simulate_node


def test_light_load_processes_every_frame_quickly() -> None:
    cfg = EdgeNodeConfig(n_cameras=8, fps=2.0, inference_ms=10.0)
    r = simulate_node(cfg, 600.0, np.random.default_rng(1))
    assert r.frames_captured == 8 * 2 * 600
    assert r.frames_dropped == 0 and r.observations_lost == 0
    assert r.frames_processed == r.observations_delivered == r.frames_captured
    assert 0.14 < r.utilisation < 0.18  # 16 frames/s x 10 ms
    assert r.latency_p95_s < 0.1
    assert r.uplink_raw_kbps == 8 * 2 * 60 * 8


def test_overload_drops_the_excess_frames() -> None:
    cfg = EdgeNodeConfig(n_cameras=10, fps=10.0, inference_ms=20.0, inference_cv=0.0)
    r = simulate_node(cfg, 60.0, np.random.default_rng(2))
    # 100 frames/s offered, 50 frames/s capacity: about half dropped
    assert r.frames_processed == pytest.approx(50 * 60, rel=0.02)
    assert r.frames_dropped == r.frames_captured - r.frames_processed
    assert r.utilisation > 0.99


def test_outage_buffers_observations_and_delivers_them_later() -> None:
    cfg = EdgeNodeConfig(n_cameras=4, fps=1.0, buffer_kb=1e6)
    r = simulate_node(cfg, 300.0, np.random.default_rng(3), outages=(Outage(100.0, 160.0),))
    assert r.observations_lost == 0
    assert r.latency_max_s == pytest.approx(60.0, abs=1.5)
    assert r.max_buffer_kb >= 4 * 60 * 2.0 * 0.95


def test_small_buffer_loses_observations_during_an_outage() -> None:
    cfg = EdgeNodeConfig(n_cameras=4, fps=1.0, buffer_kb=100.0)
    r = simulate_node(cfg, 300.0, np.random.default_rng(4), outages=(Outage(100.0, 160.0),))
    assert r.observations_lost == pytest.approx(4 * 60 - 50, abs=6)
    assert r.max_buffer_kb <= 100.0


def test_bad_config_names_the_field() -> None:
    with pytest.raises(ConfigError, match="n_cameras 0"):
        EdgeNodeConfig(n_cameras=0)
    with pytest.raises(ConfigError, match="outage"):
        Outage(5.0, 1.0)
