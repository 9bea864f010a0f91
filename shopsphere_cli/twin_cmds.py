"""CLI verbs of the twin: ``run``, ``compare`` (and ``validate``, from shopsphere_cli.validate_cmd).

Heavy imports (SimPy, Mesa, the service layer) happen inside the commands so ``shopsphere
--help`` stays fast. A user's mistake (a bad scenario, an unknown policy) prints one clear
message and exits with status 2; never a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from shopsphere_cli.errors import fail, user_errors

if TYPE_CHECKING:
    from scenarios.schema import Scenario

logger = logging.getLogger(__name__)


def _kpi_table(title: str, columns: list[str], rows: list[tuple[str, list[str]]]) -> Any:
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    table.add_column("KPI", style="bold")
    for c in columns:
        table.add_column(c, justify="right")
    for name, values in rows:
        table.add_row(name, *values)
    return table


def _load(path: Path) -> Scenario:
    from scenarios.schema import load_scenario

    with user_errors():
        return load_scenario(path)


def run_cmd(
    scenario: Path = typer.Argument(..., help="Scenario YAML file, e.g. scenarios/baseline.yaml."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: the scenario's)."),
    days: int | None = typer.Option(
        None, "--days", min=1, help="Simulated days (default: the scenario's)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Run directory (default: runs/<name>-seed<seed>)."
    ),
    reconcile: bool = typer.Option(
        True,
        "--reconcile/--no-reconcile",
        help="Check the twin's stock against the API's ledger at the end.",
    ),
) -> None:
    """Run a scenario through the twin and the commerce API; print KPIs, write a run directory."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from twin.reconcile import reconcile_stock
    from twin.report import HEADLINE, format_kpi, kpi_label
    from twin.runner import run_scenario

    logging.getLogger("alembic").setLevel(logging.WARNING)
    sc = _load(scenario)
    console = Console()
    n_days = days or sc.duration_days
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("simulated days"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(sc.name, total=n_days)
        with user_errors():
            outcome = run_scenario(
                sc,
                seed=seed,
                days=days,
                out=out,
                progress=lambda d, n: bar.update(task, completed=d),
                keep_client=reconcile,
            )
    k = outcome.kpis
    rows = [(kpi_label(name), [format_kpi(name, k[name])]) for name in HEADLINE if name in k]
    console.print(
        _kpi_table(
            f"{sc.name}  seed {seed if seed is not None else sc.seed}  "
            f"({k['days']} days after {k['warmup_days']} warm-up)",
            ["value"],
            rows,
        )
    )
    if reconcile and outcome.client is not None:
        rep = reconcile_stock(outcome.result, outcome.client)
        outcome.close()
        status = "[green]ok[/green]" if rep.ok else f"[red]{rep.mismatches} mismatches[/red]"
        console.print(
            f"stock reconciliation (twin vs API ledger, {rep.checked} SKU-locations): {status}"
        )
    console.print(
        f"wall time {k['wall_seconds']:.1f} s, {k['sessions_per_wall_second']:,.0f} sessions/s; "
        f"run directory: {outcome.run_dir}"
    )


def compare_cmd(
    scenarios: list[Path] = typer.Argument(
        ..., help="One scenario file (with --policy), or several to compare."
    ),
    policy: list[str] = typer.Option(
        [], "--policy", help="A policy variant: [kind/]name[:k=v,...]; repeat."
    ),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Replications (seeds seed, seed+1, ...)."),
    seed: int | None = typer.Option(
        None, "--seed", help="First seed (default: the first scenario's)."
    ),
    days: int | None = typer.Option(None, "--days", min=1, help="Simulated days per run."),
) -> None:
    """Compare policies (or scenarios) side by side on common random numbers."""
    from rich.console import Console
    from rich.progress import Progress

    from twin.report import format_kpi, kpi_label
    from twin.runner import COMPARE_KPIS, compare, parse_policy, with_policy

    loaded = [_load(p) for p in scenarios]
    variants: list[tuple[str, Any]] = []
    if policy:
        if len(loaded) != 1:
            raise fail("--policy compares policies on one scenario; give exactly one scenario file")
        base = loaded[0]
        variants.append(
            (f"scenario ({base.policies.replenishment.name}, {base.policies.pricing.name})", base)
        )
        for spec in policy:
            with user_errors():
                kind, ref = parse_policy(spec)
            variants.append(
                (spec, base.model_copy(update={"policies": with_policy(base.policies, kind, ref)}))
            )
    else:
        if len(loaded) < 2:
            raise fail("give --policy variants, or at least two scenario files")
        variants = [(f"{p.stem}", sc) for p, sc in zip(scenarios, loaded, strict=True)]
    first = loaded[0].seed if seed is None else seed
    seed_list = [first + i for i in range(seeds)]
    console = Console()
    with Progress(console=console) as bar:
        task = bar.add_task("runs", total=len(variants) * len(seed_list))
        done: set[tuple[str, int]] = set()

        def tick(label: str, s: int, d: int, n: int) -> None:
            if d == n and (label, s) not in done:
                done.add((label, s))
                bar.update(task, advance=1, description=f"{label} seed {s}")

        with user_errors():
            res = compare(variants, seed_list, days=days, progress=tick)
    summ = res.summary()
    labels = res.variants
    rows = []
    for name in COMPARE_KPIS:
        cells = []
        for i, v in enumerate(labels):
            s = summ[v][name]
            text = format_kpi(name, s["mean"])
            if len(seed_list) > 1:
                text += f" ±{format_kpi(name, s['ci95']).lstrip('-')}"
            if i > 0:
                text += f" (Δ {format_kpi(name, s['diff'])})"
            cells.append(text)
        rows.append((kpi_label(name), cells))
    console.print(
        _kpi_table(
            f"comparison over seeds {seed_list} (CRN; ± is a 95% CI across seeds)", labels, rows
        )
    )


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("run")(run_cmd)
    app.command("compare")(compare_cmd)
    try:
        from shopsphere_cli.validate_cmd import register_validate
    except ImportError:  # pragma: no cover - scenarios package incomplete
        return
    register_validate(app)
