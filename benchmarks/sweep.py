"""Sweep throughput: policies x scenarios x seeds on a local Ray (or the process pool).

    python benchmarks/sweep.py [--backend ray|process] [--days 5] [--seeds 5] [--workers N]

Runs ``base_stock`` vs ``capped_base_stock`` on baseline, black_friday and heatwave, each for
``--days`` simulated days and ``--seeds`` seeds (30 cells by default), from scratch in a
temporary folder, then reruns the same sweep to show that finished cells are reused. Prints
the wall time, the cells per minute, and the median cell time, with the machine's CPU count and
load average (the figures depend on both).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="ray", choices=["ray", "process"])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    from twin.sweep import load_spec, run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "spec.yaml"
        spec_path.write_text(
            yaml.safe_dump(
                {
                    "name": "bench",
                    "scenarios": {
                        s: str(ROOT / "scenarios" / f"{s}.yaml")
                        for s in ("baseline", "black_friday", "heatwave")
                    },
                    "policies": {
                        "base_stock": "replenishment/base_stock",
                        "capped": "replenishment/capped_base_stock",
                    },
                    "seeds": args.seeds,
                    "first_seed": 1,
                    "days": args.days,
                }
            ),
            encoding="utf-8",
        )
        spec = load_spec(spec_path)
        out = Path(tmp) / "out"
        load = os.getloadavg()
        first = run_sweep(spec, out, backend=args.backend, workers=args.workers)
        cells = first.kpis.column("cell_wall_seconds").to_pylist()
        again = run_sweep(spec, out, backend=args.backend, workers=args.workers)
    n = first.cells_run
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, load average {load[0]:.1f}")
    print(
        f"sweep 2 policies x 3 scenarios x {args.seeds} seeds x {args.days} days "
        f"= {n} cells on {args.backend}"
    )
    print(f"wall time: {first.wall_seconds:.1f} s ({60 * n / first.wall_seconds:.1f} cells/min)")
    print(f"median cell: {statistics.median(cells):.1f} s (max {max(cells):.1f} s)")
    print(
        f"rerun: {again.cells_run} cells run, {again.cells_reused} reused, "
        f"{again.wall_seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
