"""ShelfVision on rendered frames of bays it was not trained on (seeds 500+)."""

from __future__ import annotations

import numpy as np
import pytest

from edge_sim.errors import ConfigError
from edge_sim.metrics import iou, score_frame
from edge_sim.planogram import shelf_state
from edge_sim.scenes import random_scene, scene_frames
from edge_sim.vision import CellModel, ShelfVision


def test_clean_frame_gaps_and_counts_are_exact() -> None:
    rng = np.random.default_rng(501)
    sc = random_scene(rng, "clean")
    v = ShelfVision(sc.planogram, sc.camera)
    stock = np.array([s.capacity for s in sc.planogram.slots])
    stock[::3] = 0
    fr = sc.renderer.render(shelf_state(sc.planogram, stock, rng), rng)
    rep = v.analyse(fr.image)
    s = score_frame(rep, fr.truth)
    assert (s.fp, s.fn) == (0, 0)
    assert [r.facings for r in rep.slots] == fr.truth.counts.tolist()
    oos = {k.sku for k in rep.skus if k.out_of_stock}
    assert oos == {sc.planogram.slots[j].sku for j in range(0, len(stock), 3)}


def test_typical_frames_reach_high_f1() -> None:
    tp = fp = fn = 0
    for seed in (510, 511, 512):
        rng = np.random.default_rng(seed)
        sc = random_scene(rng, "typical")
        v = ShelfVision(sc.planogram, sc.camera)
        for fr in scene_frames(sc, rng, 2):
            s = score_frame(v.analyse(fr.image), fr.truth)
            tp, fp, fn = tp + s.tp, fp + s.fp, fn + s.fn
    assert tp > 20
    assert 2 * tp / (2 * tp + fp + fn) >= 0.85


def test_confidences_are_probabilities() -> None:
    rng = np.random.default_rng(520)
    sc = random_scene(rng, "dim")
    v = ShelfVision(sc.planogram, sc.camera)
    rep = v.analyse(next(scene_frames(sc, rng, 1)).image)
    confs = [g.confidence for g in rep.gaps] + [r.confidence for r in rep.slots]
    assert all(0.0 <= c <= 1.0 for c in confs)


def test_iou_of_identical_and_disjoint_boxes() -> None:
    m = iou(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [20, 20, 30, 30]]))
    assert m.tolist() == [[1.0, 0.0]]


def test_model_round_trips_and_wrong_frame_size_is_refused() -> None:
    m = CellModel.load_default()
    assert CellModel.from_json(m.to_json()) == m
    rng = np.random.default_rng(530)
    sc = random_scene(rng, "clean")
    v = ShelfVision(sc.planogram, sc.camera)
    with pytest.raises(ConfigError, match="320x240"):
        v.analyse(np.zeros((240, 320, 3), np.uint8))


def test_gap_runs_bridge_hidden_facings_next_to_seen_gaps() -> None:
    rng = np.random.default_rng(540)
    sc = random_scene(rng, "clean")
    empty = np.array([True, False, False, True, False, False])
    hidden = np.array([False, True, False, False, True, False])
    runs = {}
    for mode in ("none", "interior", "extend"):
        v = ShelfVision(sc.planogram, sc.camera, bridge=mode)
        runs[mode] = v._runs(empty, hidden)
    assert runs["none"] == [(0, 0, False), (3, 3, False)]
    assert runs["interior"] == [(0, 0, False), (3, 3, False)]
    assert runs["extend"] == [(0, 1, True), (3, 4, True)]
    v = ShelfVision(sc.planogram, sc.camera, bridge="interior")
    assert v._runs(np.array([True, False, True]), np.array([False, True, False])) == [(0, 2, True)]
    with pytest.raises(ConfigError, match="bridge 'all'"):
        ShelfVision(sc.planogram, sc.camera, bridge="all")
