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
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Parallel runs (default: one per CPU core)."
    ),
    backend: str = typer.Option("process", "--backend", help="process (local pool) or ray."),
    address: str | None = typer.Option(
        None, "--address", help="Ray cluster address for --backend ray (default: a local Ray)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for the tables (default: runs/compare-<first scenario>)."
    ),
) -> None:
    """Compare policies (or scenarios) side by side on common random numbers.

    Prints each KPI's mean with its 95% CI across seeds and the paired difference to the first
    variant with its own CI; saves compare_kpis.parquet and compare_summary.parquet.
    """
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
            res = compare(
                variants,
                seed_list,
                days=days,
                progress=tick,
                workers=workers,
                backend=backend,
                address=address,
            )
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
                diff = format_kpi(name, s["diff"])
                if len(seed_list) > 1:
                    diff += f" ±{format_kpi(name, s['diff_ci95']).lstrip('-')}"
                text += f" (Δ {diff})"
            cells.append(text)
        rows.append((kpi_label(name), cells))
    console.print(
        _kpi_table(
            f"comparison over seeds {seed_list} (CRN; ± is a 95% CI across seeds; Δ is the "
            f"paired difference to {labels[0]} with its 95% CI)",
            labels,
            rows,
        )
    )
    folder = out if out is not None else Path("runs") / f"compare-{scenarios[0].stem}"
    with user_errors():
        runs_file, summary_file = res.save(folder)
    console.print(f"tables: {runs_file}, {summary_file}")


def sweep_cmd(
    spec: Path = typer.Argument(..., help="Sweep spec YAML (scenarios x overrides x policies)."),
    out: Path | None = typer.Option(
        None, "--out", help="Output folder (default: sweeps/<name>); reruns resume there."
    ),
    backend: str = typer.Option("process", "--backend", help="process (local pool) or ray."),
    address: str | None = typer.Option(
        None, "--address", help="Ray cluster address for --backend ray (default: a local Ray)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Parallel runs (default: one per CPU core)."
    ),
) -> None:
    """Run a grid of scenario overrides x policies x seeds; write KPIs and paired differences.

    Finished cells are kept in <out>/cells and not rerun, so an interrupted sweep resumes.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from twin.report import format_kpi, kpi_label
    from twin.sweep import load_spec, run_sweep

    console = Console()
    with user_errors():
        parsed = load_spec(spec)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bar:
        task = bar.add_task(parsed.name, total=None)
        with user_errors():
            result = run_sweep(
                parsed,
                out,
                backend=backend,
                address=address,
                workers=workers,
                progress=lambda d, n: bar.update(task, completed=d, total=n),
            )
    rows = []
    labels = ["scenario", "overrides", "policy", "Δ vs " + parsed.baseline_policy(), "n"]
    for r in result.differences.to_pylist():
        if r["kpi"] not in ("revenue_cents", "fill_rate", "lost_units", "holding_cost_cents"):
            continue
        hw = r["diff_ci95"]
        ci = "" if hw != hw else f" ±{format_kpi(r['kpi'], hw).lstrip('-')}"
        rows.append(
            (
                kpi_label(r["kpi"]),
                [
                    r["scenario"],
                    r["overrides"],
                    r["policy"],
                    format_kpi(r["kpi"], r["diff_mean"]) + ci,
                    str(r["n_seeds"]),
                ],
            )
        )
    console.print(_kpi_table("paired differences (95% CI across seeds)", labels, rows))
    console.print(
        f"{result.cells_run} cells run, {result.cells_reused} reused, "
        f"{result.wall_seconds:.1f} s wall ({backend}); tables in {result.folder}"
    )


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("run")(run_cmd)
    app.command("compare")(compare_cmd)
    app.command("sweep")(sweep_cmd)
    try:
        from shopsphere_cli.validate_cmd import register_validate
    except ImportError:  # pragma: no cover - scenarios package incomplete
        return
    register_validate(app)
