"""Sensors on the shelf event stream and their fusion with vision."""

from __future__ import annotations

import numpy as np
import pytest

from edge_sim.errors import ConfigError
from edge_sim.sensors import (
    BleBeacons,
    RfidReader,
    ShelfEvent,
    WeightShelf,
    camera_event,
    fuse,
)


def _errors(rng: np.random.Generator, n: int = 2000) -> dict[str, float]:
    units = rng.integers(0, 9, n)
    cap, depth = 4, 2
    facings = np.minimum(np.ceil(units / depth), cap).astype(int)
    cam = [camera_event(0.0, i, int(f), cap, depth, 0.95) for i, f in enumerate(facings)]
    w = WeightShelf().read(1.0, units, hours_since_tare=6.0, rng=rng)
    r = RfidReader().read(2.0, units, rng)
    out = {}
    for name, evs in {
        "camera": cam,
        "weight": w,
        "rfid": r,
        "fused": cam + w + r,
    }.items():
        est = np.array([f.units for f in fuse(evs)])
        out[name] = float(np.abs(est - units).mean())
    return out


def test_fusion_beats_every_single_source() -> None:
    err = _errors(np.random.default_rng(0))
    assert err["fused"] < min(err["camera"], err["weight"], err["rfid"])


def test_weight_reading_of_known_units_is_unbiased() -> None:
    rng = np.random.default_rng(1)
    units = np.full(4000, 5)
    est = np.array([e.value for e in WeightShelf().read(0.0, units, 0.0, rng)])
    # sd of the mean: (60 / 500) / sqrt(4000) = 0.0019; 5 sd bound
    assert abs(est.mean() - 5.0) < 0.01


def test_shoppers_at_the_bay_discount_the_camera() -> None:
    cam = camera_event(0.0, 0, facings=0, capacity=4, depth=2, confidence=0.99)
    weight = ShelfEvent(0.0, 0, "weight", 6.0, 0.05)
    alone = fuse([cam, weight])[0]
    crowded = fuse(
        [cam, weight, *BleBeacons(rssi_sd=0.1).read(0.0, np.array([2]), np.random.default_rng(2))]
    )[0]
    assert crowded.units > alone.units
    assert crowded.p_out_of_stock < alone.p_out_of_stock


def test_empty_shelf_is_out_of_stock_with_high_probability() -> None:
    cam = camera_event(0.0, 0, facings=0, capacity=4, depth=1, confidence=0.99)
    rfid = ShelfEvent(0.0, 0, "rfid", 0.0, 0.1)
    assert fuse([cam, rfid])[0].p_out_of_stock > 0.9


def test_bad_events_name_the_value() -> None:
    with pytest.raises(ConfigError, match="source 'lidar'"):
        ShelfEvent(0.0, 0, "lidar", 1.0, 1.0)
    with pytest.raises(ConfigError, match=r"confidence 1\.2"):
        camera_event(0.0, 0, 1, 4, 1, 1.2)
