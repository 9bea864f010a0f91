"""Reading run directories back (the inverse of :mod:`twin.rundir`), for dashboards and tools.

``load_run(path)`` checks that ``path`` is a run directory and returns a :class:`RunDir` whose
parts are read on first use: ``run.json`` and ``kpis.json`` are small JSON files; the scenario
is parsed and validated again; the Parquet tables (``daily``, ``events``, ``sales_by_sku``,
``sales_by_category``) come back as ``pyarrow.Table`` (``.to_pandas()`` for a DataFrame), and
:meth:`RunDir.table` reads only the columns and rows asked for.

``list_runs(root)`` finds every run directory under a folder (e.g. ``runs/``), newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from scenarios.schema import Scenario, load_scenario

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["RUN_TABLES", "ReadError", "RunDir", "list_runs", "load_run"]

RUN_TABLES = ("daily", "events", "sales_by_sku", "sales_by_category")
"""Parquet tables of a run directory, by name (``<name>.parquet``)."""

JsonObject = dict[str, object]


class ReadError(ValueError):
    """``path`` is not a (complete) run directory; the message names the path and what is wrong."""


class RunDir:
    """A run directory on disk; every part is loaded lazily and cached.

    Attributes:
        path: the directory.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def _json(self, name: str) -> JsonObject:
        file = self.path / name
        try:
            data = orjson.loads(file.read_bytes())
        except FileNotFoundError:
            raise ReadError(f"{file}: missing (not a complete run directory)") from None
        except orjson.JSONDecodeError as exc:
            raise ReadError(f"{file}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ReadError(f"{file}: not a JSON object")
        return data

    @cached_property
    def run(self) -> JsonObject:
        """``run.json``: seed, days, commerce mode, policies, versions, git commit, digests."""
        return self._json("run.json")

    @cached_property
    def kpis(self) -> JsonObject:
        """``kpis.json``: the headline KPIs and API call statistics."""
        return self._json("kpis.json")

    @cached_property
    def scenario(self) -> Scenario:
        """The scenario exactly as run (``scenario.yaml``), validated again.

        Raises:
            scenarios.errors.ScenarioError: the file was edited into an invalid scenario.
        """
        return load_scenario(self.path / "scenario.yaml", check_policies=False)

    def table(
        self,
        name: str,
        columns: Sequence[str] | None = None,
        filters: list[tuple[str, str, object]] | None = None,
    ) -> pa.Table:
        """One of :data:`RUN_TABLES`, reading only ``columns`` and rows matching ``filters``.

        ``filters`` are pyarrow's ``[(column, op, value)]`` (e.g. ``[("location", "==",
        "S01")]``), pushed down into the Parquet reader.

        Raises:
            ReadError: unknown table name, or the file is missing or unreadable.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        if name not in RUN_TABLES:
            raise ReadError(f"unknown run table {name!r} (allowed: {', '.join(RUN_TABLES)})")
        file = self.path / f"{name}.parquet"
        if not file.exists():
            raise ReadError(f"{file}: missing (written by an older version, or not a run dir)")
        try:
            return pq.read_table(
                file, columns=list(columns) if columns is not None else None, filters=filters
            )
        except (OSError, pa.ArrowException) as exc:
            raise ReadError(f"{file}: cannot be read ({exc})") from None

    @cached_property
    def daily(self) -> pa.Table:
        """``daily.parquet``: one row per (day, location)."""
        return self.table("daily")

    @cached_property
    def events(self) -> pa.Table:
        """``events.parquet``: the event log."""
        return self.table("events")

    @cached_property
    def sales_by_sku(self) -> pa.Table:
        """``sales_by_sku.parquet``: units sold per (location, SKU) over the whole run."""
        return self.table("sales_by_sku")

    @cached_property
    def sales_by_category(self) -> pa.Table:
        """``sales_by_category.parquet``: units sold per (location, category)."""
        return self.table("sales_by_category")


def load_run(path: str | Path) -> RunDir:
    """Open the run directory at ``path`` (nothing but ``run.json`` is read yet).

    Raises:
        ReadError: ``path`` is not a directory or has no ``run.json``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ReadError(f"{folder}: not a directory")
    if not (folder / "run.json").is_file():
        raise ReadError(f"{folder}: no run.json (not a run directory)")
    return RunDir(folder)


def list_runs(root: str | Path) -> list[RunDir]:
    """Every run directory under ``root`` (any depth), most recently written first."""
    found = [p.parent for p in Path(root).rglob("run.json") if p.is_file()]
    found.sort(key=lambda p: (p / "run.json").stat().st_mtime, reverse=True)
    return [RunDir(p) for p in found]
