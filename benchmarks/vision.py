"""Shelf-vision benchmark: gap detection P/R/F1 at IoU 0.5, facings accuracy, misplaced items,
and frames per second at 640 x 480 on one core, over rendered frames across conditions.

    PYTHONPATH=. python benchmarks/vision.py --scenes 180 --frames 3 --seed 0

Scenes use seeds ``seed .. seed + scenes - 1`` (the committed cell model was trained on seeds
>= 1000), conditions cycle through every preset in ``edge_sim.render.CONDITIONS``. Speed is
``ShelfVision.analyse`` alone (rendering excluded), OpenCV and BLAS pinned to one thread, the
median over ``--repeats`` passes over the same frames, as frames per CPU-second of this
process (the single-core figure on a shared machine) and per wall-clock second.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from edge_sim.metrics import FrameScore, score_frame  # noqa: E402
from edge_sim.render import CONDITIONS  # noqa: E402
from edge_sim.scenes import random_scene, scene_frames  # noqa: E402
from edge_sim.vision import ShelfVision  # noqa: E402


def _row(name: str, scores: list[FrameScore]) -> str:
    tp = sum(s.tp for s in scores)
    fp = sum(s.fp for s in scores)
    fn = sum(s.fn for s in scores)
    sc = sum(s.slots_scored for s in scores)
    ex = sum(s.slots_exact for s in scores)
    ae = sum(s.slots_abs_err for s in scores)
    mtp = sum(s.misplaced_tp for s in scores)
    mfp = sum(s.misplaced_fp for s in scores)
    mfn = sum(s.misplaced_fn for s in scores)
    p = tp / max(tp + fp, 1)
    r = tp / max(tp + fn, 1)
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    return (
        f"| {name:8s} | {len(scores):5d} | {tp + fn:5d} | {p:.3f} | {r:.3f} | {f1:.3f} | "
        f"{ex / max(sc, 1):.4f} | {ae / max(sc, 1):.4f} | "
        f"{mtp / max(mtp + mfp, 1):.2f} | {mtp / max(mtp + mfn, 1):.2f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenes", type=int, default=180)
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--speed-only", action="store_true", help="skip scoring; time 60 frames")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    names = sorted(CONDITIONS)
    by_cond: dict[str, list[FrameScore]] = {n: [] for n in names}
    timing_set: list[tuple[ShelfVision, np.ndarray]] = []
    for k in range(a.scenes):
        rng = np.random.default_rng(a.seed + k)
        cond = names[k % len(names)]
        scene = random_scene(rng, cond)
        vision = ShelfVision(scene.planogram, scene.camera)
        for fr in scene_frames(scene, rng, a.frames):
            if not a.speed_only:
                by_cond[cond].append(score_frame(vision.analyse(fr.image), fr.truth))
            if len(timing_set) < 60:
                timing_set.append((vision, fr.image))
        if a.speed_only and len(timing_set) >= 60:
            break
    passes, cpu_passes = [], []
    for _ in range(a.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for vision, img in timing_set:
            vision.analyse(img)
        passes.append(len(timing_set) / (time.perf_counter() - t0))
        cpu_passes.append(len(timing_set) / (time.process_time() - c0))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
        f"load1={load:.1f}; python {platform.python_version()}, OpenCV {cv2.__version__}"
    )
    print(f"seeds {a.seed}..{a.seed + a.scenes - 1}, {a.frames} frames per scene")
    if not a.speed_only:
        print(
            "| condition | frames | gaps | precision | recall | F1@0.5 | facings exact "
            "| facings MAE | misplaced P | misplaced R |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for n in names:
            print(_row(n, by_cond[n]))
        print(_row("all", [s for n in names for s in by_cond[n]]))
    print(
        f"speed: ShelfVision.analyse 640x480, one thread, {len(timing_set)} frames x "
        f"{a.repeats} passes: CPU-time fps median {statistics.median(cpu_passes):.0f} "
        f"(min {min(cpu_passes):.0f}, max {max(cpu_passes):.0f}); wall-clock fps median "
        f"{statistics.median(passes):.0f} (wall is what the loaded machine allowed)"
    )


if __name__ == "__main__":
    main()
