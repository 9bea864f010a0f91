"""Reading run directories back: the other half of :mod:`twin.rundir`.

A run directory (see :mod:`twin.rundir` for its layout) is the unit every tool shares: the CLI
writes it, the dashboard and notebooks read it with :class:`RunReader`. Tables are read lazily
and only the columns and rows asked for (pyarrow filters), so a 90-day chain-scale run opens in
milliseconds; nothing is cached here (callers such as the dashboard cache).

>>> runs = list_runs("runs")                       # doctest: +SKIP
>>> r = RunReader(runs[0].path)                    # doctest: +SKIP
>>> r.kpis["fill_rate"], r.daily(columns=["day", "units_sold"]).shape  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from scenarios.schema import Scenario, load_scenario

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunDirError", "RunReader", "RunSummary", "list_runs"]

logger = logging.getLogger(__name__)

JsonDict = dict[str, object]


class RunDirError(ValueError):
    """A path is not a readable run directory; the message names the path and what is missing."""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run directory as listed: where it is and its headline facts (from ``run.json``)."""

    path: Path
    scenario: str
    seed: int
    days: int
    finished_at: datetime
    wall_seconds: float
    commerce_mode: str


def _read_json(path: Path) -> JsonDict:
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise RunDirError(f"{path.parent}: no {path.name} (not a finished run directory)") from exc
    except orjson.JSONDecodeError as exc:
        raise RunDirError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def _int(meta: JsonDict, key: str) -> int:
    v = meta.get(key, 0)
    return int(v) if isinstance(v, int | float) else 0


def list_runs(root: str | Path) -> list[RunSummary]:
    """Every finished run directory directly under ``root`` (or ``root`` itself), newest first.

    A directory counts when it holds ``run.json`` and ``kpis.json``; unreadable ones are
    skipped with a log warning (a run still being written, a stray folder).
    """
    base = Path(root)
    if not base.is_dir():
        return []
    candidates = [base] if (base / "run.json").is_file() else sorted(base.iterdir())
    out: list[RunSummary] = []
    for p in candidates:
        if not (p / "run.json").is_file() or not (p / "kpis.json").is_file():
            continue
        try:
            meta = _read_json(p / "run.json")
        except RunDirError as exc:
            logger.warning("skipping %s", exc)
            continue
        wall = meta.get("wall_seconds", 0.0)
        out.append(
            RunSummary(
                path=p,
                scenario=str(meta.get("scenario", p.name)),
                seed=_int(meta, "seed"),
                days=_int(meta, "days"),
                finished_at=datetime.fromtimestamp((p / "kpis.json").stat().st_mtime),
                wall_seconds=float(wall) if isinstance(wall, int | float) else 0.0,
                commerce_mode=str(meta.get("commerce_mode", "")),
            )
        )
    out.sort(key=lambda r: r.finished_at, reverse=True)
    return out


class RunReader:
    """Lazy access to one run directory's files.

    Raises:
        RunDirError: ``path`` is not a directory holding ``run.json`` and ``kpis.json``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        for name in ("run.json", "kpis.json"):
            if not (self.path / name).is_file():
                raise RunDirError(f"{self.path}: no {name} (not a finished run directory)")

    def __repr__(self) -> str:
        return f"RunReader({str(self.path)!r})"

    @cached_property
    def meta(self) -> JsonDict:
        """``run.json``: seed, days, commerce mode, policies, versions, git commit, digests."""
        return _read_json(self.path / "run.json")

    @cached_property
    def kpis(self) -> JsonDict:
        """``kpis.json``: the headline KPIs (numbers) and per-method API statistics (``api``)."""
        return _read_json(self.path / "kpis.json")

    @cached_property
    def scenario(self) -> Scenario:
        """The resolved scenario exactly as run (``scenario.yaml``)."""
        return load_scenario(self.path / "scenario.yaml")

    def has(self, name: str) -> bool:
        """Whether the run directory holds the file ``name`` (tables differ between versions)."""
        return (self.path / name).is_file()

    def _table(
        self,
        name: str,
        columns: Sequence[str] | None,
        filters: list[tuple[str, str, object]] | None,
    ) -> pd.DataFrame:
        import pyarrow.parquet as pq

        file = self.path / name
        if not file.is_file():
            raise RunDirError(f"{self.path}: no {name}")
        table = pq.read_table(file, columns=list(columns) if columns else None, filters=filters)
        return table.to_pandas()

    def daily(
        self, *, columns: Sequence[str] | None = None, locations: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """``daily.parquet``: one row per (day, location); only the columns/locations asked for."""
        flt: list[tuple[str, str, object]] | None = (
            [("location", "in", list(locations))] if locations else None
        )
        return self._table("daily.parquet", columns, flt)

    def events(
        self, *, kinds: Sequence[str] | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """``events.parquet``: the event log, optionally only some event kinds."""
        flt: list[tuple[str, str, object]] | None = [("kind", "in", list(kinds))] if kinds else None
        return self._table("events.parquet", columns, flt)

    def sales(self, level: str) -> pd.DataFrame | None:
        """Sales per ``"category"`` or ``"sku"`` (``sales_by_<level>.parquet``), None if absent.

        Raises:
            RunDirError: ``level`` is neither ``"category"`` nor ``"sku"``.
        """
        if level not in ("category", "sku"):
            raise RunDirError(f"sales level {level!r} is not 'category' or 'sku'")
        name = f"sales_by_{level}.parquet"
        return self._table(name, None, None) if self.has(name) else None
