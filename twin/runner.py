"""Running scenarios: one run with a run directory, and policy comparisons with CRN.

* :func:`run_scenario` opens the commerce service the scenario names (in-process SQLite on a
  simulated clock, or HTTP against ``shopsphere serve``), runs the twin and writes the run
  directory (see :mod:`twin.rundir`).
* :func:`compare` runs several policy variants of one scenario on the same seeds. Each seed
  gives every variant the same catalog, customers and daily demand streams (common random
  numbers), so differences between variants are mostly policy, not luck; with several seeds
  (replications) each KPI gets a mean, a 95% confidence interval, and the paired difference to
  the first variant with its own interval.

Errors a user can cause (a bad policy string, an HTTP mode without a key, a database file that
already holds data) raise :class:`RunError` with a message naming the value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import yaml

from api.client.base import CommerceClient
from api.clock import ManualClock
from scenarios.schema import (
    CommerceHttp,
    Policies,
    PolicyRef,
    Scenario,
    load_scenario,
    with_overrides,
)
from twin.errors import TwinError

__all__ = [
    "BACKENDS",
    "CompareResult",
    "RunError",
    "RunOutcome",
    "compare",
    "open_commerce",
    "parse_policy",
    "run_parallel",
    "run_scenario",
    "t_half_width",
]

P = TypeVar("P")
R = TypeVar("R")

BACKENDS = ("process", "ray")
"""Where :func:`run_parallel` runs work: a local process pool, or Ray (local or a cluster)."""

COMPARE_KPIS = (
    "revenue_cents",
    "gross_margin_cents",
    "units_sold",
    "lost_units",
    "fill_rate",
    "availability",
    "stockout_sku_days",
    "holding_cost_cents",
    "avg_on_hand_units",
    "inventory_turns",
    "online_cycle_time_hours_mean",
    "write_off_units",
)


class RunError(TwinError, ValueError):
    """A run cannot start as asked; the message names the bad value."""


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """A finished run: its KPIs and where its run directory is (None if not written)."""

    kpis: dict[str, Any]
    run_dir: Path | None
    result: Any  # twin.engine.TwinResult (kept untyped to keep this import light)
    client: CommerceClient | None = None  # still open when run with keep_client=True
    close: Callable[[], None] = lambda: None


def open_commerce(
    scenario: Scenario, clock: ManualClock, *, database: str | None = None
) -> tuple[CommerceClient, Callable[[], None], str]:
    """The commerce client the scenario asks for, a close function, and the mode's name.

    Args:
        database: overrides the in-process database (``:memory:``, a SQLite file path, or a
            SQLAlchemy URL such as ``postgresql+psycopg://...``).

    Raises:
        RunError: HTTP mode without an API key, or a SQLite file that already exists.
    """
    com = scenario.commerce
    if isinstance(com, CommerceHttp):
        from api.client.http import HttpClient

        key = com.api_key or (os.environ.get(com.api_key_env) if com.api_key_env else None)
        if not key:
            raise RunError(
                f"commerce.mode http needs an API key: set commerce.api_key or the "
                f"environment variable {com.api_key_env!r}"
            )
        client = HttpClient(com.base_url, key, timeout_s=com.timeout_s)
        return client, client.close, f"http {com.base_url}"
    from api.client.inprocess import InProcessClient

    target = database or com.database
    if "://" in target:
        ipc = InProcessClient.for_url(target, clock)
        return ipc, ipc.close, "inprocess " + target.split("://", 1)[0]
    if target != ":memory:":
        _check_database_path(target)
    from sqlalchemy.exc import SQLAlchemyError

    try:
        ipc = InProcessClient.for_sqlite(target, clock)
    except (OSError, SQLAlchemyError) as exc:
        raise RunError(f"commerce.database {target!r} cannot be opened: {exc}") from None
    return ipc, ipc.close, "inprocess sqlite"


def _check_database_path(target: str) -> None:
    """A new SQLite file can be created at ``target``.

    Raises:
        RunError: the path holds a NUL, already exists, or its folder is missing or read-only.
    """
    if "\x00" in target:
        raise RunError(f"commerce.database {target!r} contains a NUL character")
    path = Path(target)
    if path.exists():
        raise RunError(
            f"commerce.database {target!r} already exists; the twin seeds a fresh "
            f"database each run (remove the file or use ':memory:')"
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise RunError(f"commerce.database {target!r}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RunError(f"commerce.database {target!r}: folder {str(folder)!r} is not writable")


def resolve(
    sc: Scenario,
    *,
    seed: int | None = None,
    days: int | None = None,
    policies: Policies | None = None,
) -> Scenario:
    """The scenario as it will run: seed, duration and policies replaced where given.

    A warm-up as long as the run is dropped (KPIs then cover every day).

    Raises:
        RunError: ``days`` below 1.
    """
    if days is not None and days < 1:
        raise RunError(f"days {days} must be >= 1")
    changes: dict[str, Any] = {"seed": seed, "duration_days": days}
    if days is not None and sc.warmup_days >= days:
        changes["warmup_days"] = 0
    out = with_overrides(sc, **changes) if any(v is not None for v in changes.values()) else sc
    if policies is not None:
        out = out.model_copy(update={"policies": policies})
    return out


def run_scenario(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    days: int | None = None,
    out: Path | None = None,
    policies: Policies | None = None,
    progress: Callable[[int, int], None] | None = None,
    client: CommerceClient | None = None,
    database: str | None = None,
    write: bool = True,
    keep_client: bool = False,
    clock: ManualClock | None = None,
) -> RunOutcome:
    """Run a scenario once; write the run directory ``out`` (default ``runs/<name>-seed<seed>``).

    Args:
        scenario: a validated scenario or a path to a YAML file.
        seed, days: override the scenario's seed and duration.
        policies: override the scenario's policies.
        progress: ``progress(day_done, days)`` after each simulated day.
        client: an existing commerce client to use instead of opening one (its database
            must be empty); ``database`` overrides the in-process database.
        write: write the run directory (False: KPIs only, for comparisons).
        keep_client: leave the client open and return it (and its close function) in the
            outcome, e.g. to reconcile the twin against the ledger.
        clock: the clock injected into ``client``'s service (moved with simulated time);
            default a new one at the scenario's start.
    """
    from twin.engine import Twin
    from twin.rundir import write_run_dir

    sc = load_scenario(scenario) if isinstance(scenario, str | Path) else scenario
    sc = resolve(sc, seed=seed, days=days, policies=policies)
    run_seed = sc.seed
    if clock is None:
        clock = ManualClock(
            datetime(sc.start_date.year, sc.start_date.month, sc.start_date.day, tzinfo=UTC)
        )
    close: Callable[[], None] = lambda: None  # noqa: E731
    mode = "client"
    if client is None:
        client, close, mode = open_commerce(sc, clock, database=database)
    run_dir = out if out is not None else Path("runs") / f"{sc.name}-seed{run_seed}"
    traffic: IO[bytes] | None = None
    try:
        if write:
            run_dir.mkdir(parents=True, exist_ok=True)
            traffic = (run_dir / "traffic.jsonl").open("wb")
        twin = Twin(sc, client, clock, traffic=traffic)
        result = twin.run(progress)
    except BaseException:
        close()
        raise
    finally:
        if traffic is not None:
            traffic.close()
    if not keep_client:
        close()
    if write:
        write_run_dir(run_dir, sc, result, mode=mode)
    return RunOutcome(
        kpis=result.kpis,
        run_dir=run_dir if write else None,
        result=result,
        client=client if keep_client else None,
        close=close if keep_client else (lambda: None),
    )


# ---- comparisons ---------------------------------------------------------------------------
def _value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_policy(spec: str) -> tuple[str, PolicyRef]:
    """``[kind/]name[:k=v,k=v]`` -> (kind, PolicyRef); kind found in the registry if omitted.

    Values are YAML scalars (``base_stock:base_stock=20``, ``static:multiplier=0.9``).

    Raises:
        RunError: unknown name or kind, or a parameter without ``=``.
    """
    from policies import registry

    head, _, tail = spec.partition(":")
    kind, _, name = head.rpartition("/")
    params: dict[str, Any] = {}
    if tail:
        for part in tail.split(","):
            k, eq, v = part.partition("=")
            if not eq or not k.strip():
                raise RunError(f"policy {spec!r}: parameter {part!r} is not key=value")
            params[k.strip()] = _value(v.strip())
    known = {k: registry.available(k).get(k, []) for k in ("replenishment", "pricing")}
    if kind:
        if kind not in known:
            raise RunError(f"policy {spec!r}: kind {kind!r} is not one of {sorted(known)}")
        if name not in known[kind]:
            raise RunError(
                f"policy {spec!r}: {name!r} is not a {kind} policy (known: {known[kind]})"
            )
    else:
        kinds = [k for k, names in known.items() if name in names]
        if not kinds:
            raise RunError(
                f"policy {spec!r}: {name!r} is not a known policy (replenishment: "
                f"{known['replenishment']}; pricing: {known['pricing']})"
            )
        kind = kinds[0]
    return kind, PolicyRef(name=name, params=params)


def with_policy(base: Policies, kind: str, ref: PolicyRef) -> Policies:
    """``base`` with the store replenishment (and the warehouse's, if it followed) or pricing
    replaced."""
    if kind == "pricing":
        return base.model_copy(update={"pricing": ref})
    return base.model_copy(update={"replenishment": ref})


@dataclass(slots=True)
class CompareResult:
    """KPIs per variant and seed, with summaries (mean, CI half-width, paired difference)."""

    variants: list[str]
    seeds: list[int]
    kpis: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # variant -> per seed

    def summary(
        self, names: Sequence[str] = COMPARE_KPIS
    ) -> dict[str, dict[str, dict[str, float]]]:
        """variant -> KPI -> {mean, ci95, diff, diff_ci95} (diff: paired, vs the first variant).

        ``ci95`` and ``diff_ci95`` are Student-t 95% half-widths across seeds (NaN for one
        seed); the difference is paired by seed, so common random numbers cancel.
        """
        out: dict[str, dict[str, dict[str, float]]] = {}
        base = self.variants[0]
        for v in self.variants:
            out[v] = {}
            for k in names:
                x = np.array([float(r.get(k, 0.0)) for r in self.kpis[v]])
                b = np.array([float(r.get(k, 0.0)) for r in self.kpis[base]])
                out[v][k] = {
                    "mean": float(x.mean()),
                    "ci95": t_half_width(x),
                    "diff": float((x - b).mean()),
                    "diff_ci95": t_half_width(x - b),
                }
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One row per (variant, seed): the labels and every numeric KPI."""
        out = []
        for v in self.variants:
            for s, k in zip(self.seeds, self.kpis[v], strict=True):
                row: dict[str, Any] = {"variant": v, "seed": s}
                row.update({n: float(x) for n, x in k.items() if _is_number(x)})
                out.append(row)
        return out

    def summary_rows(self, names: Sequence[str] = COMPARE_KPIS) -> list[dict[str, Any]]:
        """One row per (variant, KPI): mean, ci95, paired diff vs the first variant, diff_ci95."""
        summ = self.summary(names)
        return [
            {"variant": v, "kpi": k, "n_seeds": len(self.seeds), **summ[v][k]}
            for v in self.variants
            for k in names
        ]

    def save(self, folder: Path) -> tuple[Path, Path]:
        """Write ``compare_kpis.parquet`` (one row per run) and ``compare_summary.parquet``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder.mkdir(parents=True, exist_ok=True)
        runs, summary = folder / "compare_kpis.parquet", folder / "compare_summary.parquet"
        pq.write_table(pa.Table.from_pylist(self.rows()), runs)
        pq.write_table(pa.Table.from_pylist(self.summary_rows()), summary)
        return runs, summary


def _is_number(x: object) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def t_half_width(x: np.ndarray) -> float:
    """Half-width of the Student-t 95% confidence interval of the mean of ``x`` (NaN if n < 2)."""
    if x.size < 2:
        return float("nan")
    from scipy import stats

    return float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


# ---- running many: in this process, a process pool, or Ray ---------------------------------
def run_parallel(
    fn: Callable[[P], R],
    payloads: Sequence[P],
    *,
    workers: int | None = None,
    backend: str = "process",
    address: str | None = None,
    on_result: Callable[[int, R], None] | None = None,
) -> list[R]:
    """``[fn(p) for p in payloads]``, computed in parallel; results in payload order.

    Args:
        fn: a module-level function (pickled to the workers).
        workers: parallel workers (default: CPU count, at most one per payload); 1 runs
            everything in this process.
        backend: ``"process"`` (a local process pool) or ``"ray"`` (``ray.init(address)`` if
            ``address`` is given, else a local Ray with ``workers`` CPUs).
        on_result: ``on_result(index, result)`` in this process as each result arrives (in
            completion order), e.g. to save it so an interrupted sweep can resume.

    Raises:
        RunError: unknown backend, ``workers < 1``, or Ray not installed.
        Whatever ``fn`` raises for a payload (the first failure, after cancelling the rest).
    """
    if backend not in BACKENDS:
        raise RunError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    if workers is not None and workers < 1:
        raise RunError(f"workers {workers} must be >= 1")
    n = len(payloads)
    results: list[R | None] = [None] * n
    if n == 0:
        return []
    workers = min(workers or os.cpu_count() or 1, n) if backend == "process" else workers

    def done(i: int, r: R) -> None:
        results[i] = r
        if on_result is not None:
            on_result(i, r)

    if backend == "ray":
        _run_ray(fn, payloads, workers, address, done)
    elif workers == 1:
        for i, p in enumerate(payloads):
            done(i, fn(p))
    else:
        import multiprocessing as mp
        from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

        # spawn, not fork: workers start clean (no inherited SQLAlchemy engines or threads)
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            futures = {pool.submit(fn, p): i for i, p in enumerate(payloads)}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for fut in finished:
                    if fut.exception() is not None:
                        for other in pending:
                            other.cancel()
                        raise fut.exception()  # type: ignore[misc]
                    done(futures[fut], fut.result())
    return [r for r in results]  # type: ignore[misc]


def _run_ray(
    fn: Callable[[P], R],
    payloads: Sequence[P],
    workers: int | None,
    address: str | None,
    done: Callable[[int, R], None],
) -> None:
    try:
        import ray
    except ImportError:
        raise RunError(
            "--backend ray needs the ray package: pip install 'shopsphere[sweep]'"
        ) from None
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(
                num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False
            )
        started = True
    try:
        remote = ray.remote(fn)
        refs = {remote.remote(p): i for i, p in enumerate(payloads)}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                try:
                    value = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    for other in pending:
                        ray.cancel(other)
                    cause = getattr(exc, "cause", None)
                    raise (cause if isinstance(cause, BaseException) else exc) from None
                done(refs[ref], value)
    finally:
        if started:
            ray.shutdown()


def _compare_run(task: tuple[Scenario, int, int | None]) -> dict[str, Any]:
    sc, seed, days = task
    return run_scenario(sc, seed=seed, days=days, write=False).kpis


def compare(
    variants: Sequence[tuple[str, Scenario]],
    seeds: Sequence[int],
    *,
    days: int | None = None,
    progress: Callable[[str, int, int, int], None] | None = None,
    workers: int | None = 1,
    backend: str = "process",
    address: str | None = None,
) -> CompareResult:
    """Run every (variant, seed) pair and collect KPIs; the same seed means the same CRN streams.

    Args:
        variants: (label, scenario) pairs; a policy variant is the scenario with its policies
            replaced (see :func:`parse_policy`, :func:`with_policy`).
        seeds: replication seeds, shared by all variants.
        progress: ``progress(label, seed, day_done, days)``; with ``workers > 1`` it is called
            once per run, when the run finishes (``day_done == days``).
        workers, backend, address: run the replications in parallel (see :func:`run_parallel`);
            results do not depend on the number of workers.
    """
    res = CompareResult(variants=[v for v, _ in variants], seeds=list(seeds))
    tasks = [(label, sc, s) for label, sc in variants for s in seeds]
    if workers == 1 and backend == "process":
        out: list[dict[str, Any]] = []
        for label, sc, s in tasks:
            cb = None if progress is None else (lambda d, n, lb=label, sd=s: progress(lb, sd, d, n))
            out.append(run_scenario(sc, seed=s, days=days, progress=cb, write=False).kpis)
    else:

        def finished(i: int, kpis: dict[str, Any]) -> None:
            if progress is not None:
                label, _, s = tasks[i]
                progress(label, s, int(kpis.get("days", 1)), int(kpis.get("days", 1)))

        out = run_parallel(
            _compare_run,
            [(sc, s, days) for _, sc, s in tasks],
            workers=workers,
            backend=backend,
            address=address,
            on_result=finished,
        )
    for (label, _, _), kpis in zip(tasks, out, strict=True):
        res.kpis.setdefault(label, []).append(kpis)
    return res
