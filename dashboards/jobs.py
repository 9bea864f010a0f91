"""Background jobs for the dashboard: a run or a comparison in a thread, with progress and cancel.

Streamlit re-executes a page script on every interaction, so long work cannot run inside the
script. A :class:`Job` runs one call of :func:`twin.runner.run_scenario` or
:func:`twin.runner.compare` (the same functions the CLI calls) in a daemon thread; the page
polls :attr:`Job.progress` and may call :meth:`Job.cancel`, which makes the next progress
callback raise :class:`JobCancelledError` (the runner closes its commerce client on the way out).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from scenarios.schema import Scenario
from twin.runner import CompareResult, RunOutcome, compare, run_scenario
from twin.sweep import SweepResult, SweepSpec, plan_cells, run_sweep

__all__ = ["Job", "JobCancelledError", "start_compare", "start_run", "start_sweep"]

Status = Literal["running", "done", "failed", "cancelled"]


class JobCancelledError(Exception):
    """Raised inside the worker thread when the user pressed Cancel."""


@dataclass(slots=True)
class Job:
    """One background run or comparison; read its fields from the page, never write them."""

    label: str
    total_steps: int
    steps_done: int = 0
    detail: str = ""
    status: Status = "running"
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    run_outcome: RunOutcome | None = None
    compare_result: CompareResult | None = None
    sweep_result: SweepResult | None = None
    _cancel: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def progress(self) -> float:
        """Share of the work done, 0..1."""
        return min(1.0, self.steps_done / self.total_steps) if self.total_steps else 0.0

    @property
    def elapsed_s(self) -> float:
        """Wall seconds since the start (until the end once finished)."""
        return (self.finished or time.monotonic()) - self.started

    def cancel(self) -> None:
        """Ask the job to stop at the next simulated day."""
        self._cancel.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job ends (tests and scripts); True if it ended."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self.status != "running"

    def _tick(self, steps_done: int, detail: str) -> None:
        if self._cancel.is_set():
            raise JobCancelledError(self.label)
        self.steps_done = steps_done
        self.detail = detail

    def _start(self, work: Callable[[], None]) -> Job:
        def body() -> None:
            try:
                work()
                self.status = "done"
            except JobCancelledError:
                self.status = "cancelled"
            except Exception as exc:  # shown on the page; the dashboard must not die with it
                self.status = "failed"
                self.error = f"{type(exc).__name__}: {exc}"
                self.detail = traceback.format_exc(limit=3)
            finally:
                self.finished = time.monotonic()

        self._thread = threading.Thread(target=body, name=f"job-{self.label}", daemon=True)
        self._thread.start()
        return self


def start_run(scenario: Scenario, *, seed: int, days: int, out: Path) -> Job:
    """Run ``scenario`` once in the background, writing the run directory ``out``."""
    job = Job(label=f"{scenario.name} seed {seed}", total_steps=days)

    def work() -> None:
        job.run_outcome = run_scenario(
            scenario,
            seed=seed,
            days=days,
            out=out,
            progress=lambda d, n: job._tick(d, f"day {d} of {n}"),
        )

    return job._start(work)


def start_compare(
    variants: Sequence[tuple[str, Scenario]], seeds: Sequence[int], *, days: int
) -> Job:
    """Run every variant on the same seeds (common random numbers) in the background."""
    n_seeds = len(seeds)
    job = Job(label=f"compare {len(variants)} x {n_seeds}", total_steps=len(variants) * n_seeds)
    index = {
        (label, s): i for i, (label, s) in enumerate((v, s) for v, _ in variants for s in seeds)
    }

    def tick(label: str, seed: int, day: int, n: int) -> None:
        i = index[(label, seed)]
        job._tick(i + (1 if day >= n else 0), f"{label}, seed {seed}: day {day} of {n}")

    def work() -> None:
        job.compare_result = compare(variants, seeds, days=days, progress=tick)
        job.steps_done = job.total_steps

    return job._start(work)


def start_sweep(spec: SweepSpec, *, out: Path, backend: str, address: str | None = None) -> Job:
    """Run a sweep (:func:`twin.sweep.run_sweep`) in the background, locally or on Ray.

    Cancel stops after the cells already running: finished cells are saved, so starting the
    same sweep again resumes it.
    """
    job = Job(label=f"sweep {spec.name}", total_steps=len(plan_cells(spec)))

    def work() -> None:
        job.sweep_result = run_sweep(
            spec,
            out,
            backend=backend,
            address=address,
            progress=lambda done, total: job._tick(done, f"{done} of {total} cells"),
        )

    return job._start(work)
