"""``shopsphere validate FILE...``: check scenario files and say precisely what is wrong.

Registered on the root app by ``shopsphere_cli.twin_cmds`` via :func:`register_validate`.
Exit status: 0 when every file is valid, 2 when any is not (problems on stderr, one per line,
``file:line: path.in.file: bad value is not X (allowed: ...)``); never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register_validate", "validate_files"]


def _summary(path: str) -> str:
    from scenarios.schema import load_scenario

    sc = load_scenario(path)
    w = sc.world
    counts = ", ".join(
        _plural(n, what)
        for n, what in (
            (len(w.stores), "store"),
            (len(w.warehouses), "warehouse"),
            (len(w.suppliers), "supplier"),
            (sc.catalog.n_skus, "SKU"),
            (len(sc.events), "event"),
            (sc.duration_days, "day"),
        )
    )
    return f"{path}: ok - {sc.name}: {counts} from {sc.start_date.isoformat()} (seed {sc.seed})"


def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def validate_files(paths: list[str], *, show_resolved: bool = False) -> tuple[list[str], list[str]]:
    """Validate each file; return (lines for stdout, lines for stderr)."""
    from scenarios.errors import ScenarioError
    from scenarios.schema import dump_scenario, load_scenario

    out: list[str] = []
    err: list[str] = []
    for path in paths:
        try:
            out.append(_summary(path))
            if show_resolved:
                out.append(dump_scenario(load_scenario(path)))
        except ScenarioError as exc:
            err.append(str(exc))
    return out, err


def register_validate(app: typer.Typer) -> None:
    """Add ``validate`` to ``app``."""

    @app.command("validate")
    def validate(
        files: list[Path] = typer.Argument(
            ..., help="Scenario YAML files to check.", show_default=False
        ),
        resolved: bool = typer.Option(
            False, "--resolved", help="Also print each scenario with every default filled in."
        ),
    ) -> None:
        """Check scenario files against the schema; list every problem with its line."""
        out, err = validate_files([str(f) for f in files], show_resolved=resolved)
        for line in out:
            typer.echo(line)
        for line in err:
            typer.echo(line, err=True)
        if err:
            raise typer.Exit(code=2)
