"""Renderer: exact ground truth, determinism, validation."""

from __future__ import annotations

import numpy as np
import pytest

from edge_sim.camera import Camera, random_camera
from edge_sim.errors import ConfigError
from edge_sim.planogram import ShelfState, random_planogram, shelf_state
from edge_sim.render import ShelfRenderer


def _scene(seed: int, cond: str = "clean") -> tuple[ShelfRenderer, np.random.Generator]:
    rng = np.random.default_rng(seed)
    p = random_planogram(rng, n_shelves=3)
    return ShelfRenderer(p, random_camera(rng), cond), rng


def test_full_shelf_has_no_gaps_and_counts_equal_capacity() -> None:
    r, rng = _scene(1)
    cap = [s.capacity for s in r.planogram.slots]
    f = r.render(shelf_state(r.planogram, cap, rng), rng)
    assert f.image.shape == (480, 640, 3)
    assert len(f.truth.gap_boxes) == 0
    assert f.truth.counts.tolist() == cap


def test_each_empty_slot_is_exactly_one_gap_box() -> None:
    r, rng = _scene(2)
    n = len(r.planogram.slots)
    stock = np.array([s.capacity for s in r.planogram.slots])
    stock[[0, 2]] = 0
    f = r.render(shelf_state(r.planogram, stock, rng), rng)
    assert f.truth.gap_slot.tolist() == [0, 2]
    assert f.truth.counts[0] == 0 and f.truth.counts[2] == 0
    assert (f.truth.gap_visible > 0.99).all()  # clean: no shopper
    assert n == len(f.truth.counts)


def test_misplaced_facings_are_listed_with_their_sku() -> None:
    r, rng = _scene(3)
    cap = [s.capacity for s in r.planogram.slots]
    st = shelf_state(r.planogram, cap, rng, misplace_prob=1.0)
    f = r.render(st, rng)
    assert len(f.truth.misplaced) == sum(cap)
    for j, i, sku in f.truth.misplaced:
        assert sku != r.planogram.slots[j].sku == r.planogram.slots[j].sku
        assert st.facings[j][i] == sku


def test_same_seed_renders_identical_frames() -> None:
    a, ra = _scene(4, "typical")
    b, rb = _scene(4, "typical")
    stock = [1] * len(a.planogram.slots)
    fa = a.render(shelf_state(a.planogram, stock, ra), ra)
    fb = b.render(shelf_state(b.planogram, stock, rb), rb)
    assert np.array_equal(fa.image, fb.image)
    assert np.array_equal(fa.truth.gap_boxes, fb.truth.gap_boxes)


def test_camera_distortion_round_trips() -> None:
    cam = Camera(corners=((50, 40), (600, 60), (590, 450), (40, 430)), k1=0.15)
    pts = np.array([[10.0, 10.0], [320.0, 240.0], [630.0, 470.0]])
    assert np.allclose(cam.undistort_points(cam.distort_points(pts)), pts, atol=1e-3)


def test_bad_inputs_name_the_value() -> None:
    r, rng = _scene(5)
    with pytest.raises(ConfigError, match="-1"):
        shelf_state(r.planogram, [-1] * len(r.planogram.slots), rng)
    with pytest.raises(ConfigError, match="conditions 'foggy'"):
        ShelfRenderer(r.planogram, r.camera, "foggy")
    with pytest.raises(ConfigError, match="slots"):
        r.render(ShelfState(facings=()), rng)


def test_twin_on_hand_spreads_over_a_skus_slots_in_order() -> None:
    from edge_sim.planogram import Planogram, slot_stock

    r, _ = _scene(6)
    p = r.planogram
    twice = Planogram(
        shelves=p.shelves,
        slots=(*p.slots[:2], type(p.slots[0])(0, p.slots[0].sku, p.slots[1].x1, 30.0, 2)),
        looks=p.looks,
        fixture=p.fixture,
    )
    cap0 = twice.slots[0].capacity
    got = slot_stock(twice, {twice.slots[0].sku: cap0 + 1})
    assert got.tolist() == [cap0, 0, 1]
    with pytest.raises(ConfigError, match="no slot"):
        slot_stock(twice, {"NOPE": 1})
