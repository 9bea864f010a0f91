"""CLI verbs of the RL area (see shopsphere_cli.main).

``shopsphere train CONFIG.yaml``        train with stable-baselines3, export the artifact
``shopsphere evaluate ARTIFACT``        learned policy vs base-stock, capped base-stock, (s,S), DP
``shopsphere export RUN_DIR``           re-export a saved model.zip (+ vecnormalize.pkl)
``shopsphere export-learned METHOD``    train a parametric policy (projected, pricing-search,
                                        sku-projected) and write/register its signed artifact
``shopsphere registry list|show|register|promote``   the validated-policy registry

Heavy imports (torch, stable-baselines3) happen inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from shopsphere_cli.errors import fail

registry_app = typer.Typer(
    name="registry", help="The RL policy registry (validated artifacts).", no_args_is_help=True
)

DEFAULT_REGISTRY = Path("registry")


def train_cmd(
    config: Path = typer.Argument(..., help="Training config YAML (see configs/rl/)."),
    steps: int | None = typer.Option(None, "--steps", help="Override total_timesteps."),
    seed: int | None = typer.Option(None, "--seed", help="Override the seed."),
    out: str | None = typer.Option(None, "--out", help="Override output_dir."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    register: Path | None = typer.Option(
        None, "--register", help="Register the artifact as a candidate in this registry."
    ),
    time_budget: float | None = typer.Option(
        None, "--time-budget", help="Stop training after this many wall-clock seconds."
    ),
) -> None:
    """Train a policy from CONFIG.yaml; writes logs, checkpoints and the artifact."""
    from policies.rl.train import TrainConfigError, load_config, train

    if not config.exists():
        raise fail(f"config file {config} does not exist")
    try:
        cfg = load_config(
            config,
            total_timesteps=steps,
            seed=seed,
            output_dir=out,
            progress_bar=progress,
            time_budget_s=time_budget,
        )
    except TrainConfigError as exc:
        raise fail(f"{config}: {exc}") from None
    result = train(cfg)
    typer.echo(
        f"trained {cfg.name}: {result.model.num_timesteps} steps; artifact in "
        f"{result.output_dir / 'artifact'}"
    )
    if result.best_metric is not None:
        typer.echo(f"best exact evaluation: {result.best_metric:.4f}")
    if register is not None:
        from policies.artifacts import Registry

        entry = Registry(register).register(result.policy)
        typer.echo(
            f"registered {entry.name}/{entry.version} (candidate) sha256 "
            f"{entry.artifact_sha256[:12]}"
        )


def _load_any(artifact: str, registry: Path, version: str | None) -> Any:
    from policies.artifacts import ArtifactError, Registry, load_policy

    try:
        if Path(artifact).is_dir():
            return load_policy(Path(artifact))
        reg = Registry(registry)
        version = version or reg.entries(artifact)[-1].version if reg.entries(artifact) else version
        if version is None:
            raise fail(
                f"no artifact folder or registered policy named {artifact!r} (registry {registry})"
            )
        return reg.load_candidate(artifact, version)
    except ArtifactError as exc:
        raise fail(str(exc)) from None


def evaluate_cmd(
    artifact: str = typer.Argument(..., help="Artifact folder, or a policy name in --registry."),
    registry: Path = typer.Option(DEFAULT_REGISTRY, "--registry"),
    version: str | None = typer.Option(None, "--version"),
    seeds: int = typer.Option(8, "--seeds", help="Replications (common random numbers)."),
    periods: int = typer.Option(3000, "--periods"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Compare a learned policy with the baselines over many seeds (mean ± 95% CI)."""
    from policies.rl.compare import compare_policy

    policy = _load_any(artifact, registry, version)
    try:
        rows = compare_policy(policy, seeds=seeds, periods=periods)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{policy.manifest.name} on {policy.manifest.env_id} {policy.manifest.env_kwargs}"
    )
    for col in ("policy", "parameters", "value", "95% CI", "vs learned (paired 95% CI)", "exact"):
        table.add_column(col)
    table.add_column("gap to optimum")
    for r in rows:
        gap = "" if r.get("gap_pct") is None else f"{r['gap_pct']:.2f}%"
        exact = "" if r.get("exact") is None else f"{r['exact']:.4f}"
        diff = r.get("diff_vs_learned")
        paired = "" if diff is None else f"{diff:+.4f} ± {r['diff_half_width']:.4f}"
        table.add_row(
            r["policy"],
            r["params"],
            f"{r['mean']:.4f}",
            f"± {r['half_width']:.4f}",
            paired,
            exact,
            gap,
        )
    Console().print(table)


def export_cmd(
    run_dir: Path = typer.Argument(..., help="A training output folder (model.zip, config.yaml)."),
    out: Path | None = typer.Option(
        None, "--out", help="Artifact folder (default RUN_DIR/artifact)."
    ),
) -> None:
    """Export a saved stable-baselines3 model to a framework-free artifact."""
    from policies.rl.compare import export_run

    if not (run_dir / "model.zip").exists():
        raise fail(f"{run_dir} has no model.zip")
    path = export_run(run_dir, out)
    typer.echo(f"exported {path}")


@registry_app.command("list")
def registry_list(registry: Path = typer.Option(DEFAULT_REGISTRY, "--registry")) -> None:
    """Registered artifacts: name, version, status, env, checksum."""
    from policies.artifacts import Registry

    entries = Registry(registry).entries()
    if not entries:
        typer.echo(f"registry {registry} is empty")
    for e in entries:
        typer.echo(
            f"{e.name:30} {e.version}  {e.status:9}  {e.env_id:40} {e.algo:4} "
            f"{e.artifact_sha256[:12]}"
        )


@registry_app.command("show")
def registry_show(
    name: str,
    version: str | None = typer.Option(None, "--version"),
    registry: Path = typer.Option(DEFAULT_REGISTRY, "--registry"),
) -> None:
    """Manifest, status and validation report of one version (default: the newest)."""
    from policies.artifacts import ArtifactError, Registry

    reg = Registry(registry)
    try:
        versions = reg.entries(name)
        if not versions:
            raise fail(f"no policy named {name!r} in {registry}")
        e = reg.entry(name, version or versions[-1].version)
        report = reg.report(e.name, e.version)
    except ArtifactError as exc:
        raise fail(str(exc)) from None
    manifest = json.loads((e.path / "manifest.json").read_text())
    typer.echo(
        json.dumps(
            {
                "name": e.name,
                "version": e.version,
                "status": e.status,
                "sha256": e.artifact_sha256,
                "artifact_kind": manifest.get("artifact_kind", "network"),
                "policy_class": manifest.get("policy_class"),
                "manifest": {
                    k: manifest[k]
                    for k in (
                        "env_id",
                        "env_kwargs",
                        "algo",
                        "seed",
                        "training_steps",
                        "git_commit",
                        "created_at",
                    )
                },
                "validation": report.to_json() if report else None,
            },
            indent=2,
            default=str,
        )
    )


_METHODS = ("projected", "pricing-search", "sku-projected")


def export_learned_cmd(
    method: str = typer.Argument(..., help="projected | pricing-search | sku-projected"),
    name: str = typer.Option(..., "--name", help="Policy name in the registry."),
    out: Path | None = typer.Option(None, "--out", help="Write the artifact folder here."),
    register_in: Path | None = typer.Option(
        None, "--register", help="Register the artifact as a candidate in this registry."
    ),
    seed: int = typer.Option(0, "--seed", help="Training seed."),
    generations: int | None = typer.Option(None, "--generations", help="CEM generations."),
    demand_mean: float = typer.Option(5.0, "--demand-mean", help="Units per period."),
    lead_time: int = typer.Option(2, "--lead-time", help="Periods."),
    holding: float = typer.Option(1.0, "--holding", help="Cost per unit per period."),
    penalty: float = typer.Option(9.0, "--penalty", help="Cost per unit of lost sales."),
    stock: int = typer.Option(20, "--stock", help="Pricing: units at the start."),
    horizon: int = typer.Option(20, "--horizon", help="Pricing: periods in the season."),
    a: float = typer.Option(3.0, "--a", help="Pricing: demand per period at price 0."),
    b: float = typer.Option(0.5, "--b", help="Pricing: price sensitivity."),
) -> None:
    """Train a learned parametric policy (CRN cross-entropy search) and export it as an
    artifact (params.json + manifest.json); promote it with `shopsphere registry promote`."""
    from policies.artifacts import ArtifactError, Registry, save_policy
    from policies.registry import PolicyError
    from policies.rl.export_params import learn_and_export

    if method not in _METHODS:
        raise fail(f"METHOD must be one of {', '.join(_METHODS)}, got {method!r}")
    if out is None and register_in is None:
        raise fail("give --out DIR and/or --register REGISTRY")
    if generations is not None and generations < 1:
        raise fail(f"--generations must be >= 1, got {generations}")
    try:
        policy = learn_and_export(
            method,  # type: ignore[arg-type]
            name=name,
            seed=seed,
            generations=generations,
            demand_mean=demand_mean,
            lead_time=lead_time,
            holding=holding,
            penalty=penalty,
            stock=stock,
            horizon=horizon,
            a=a,
            b=b,
        )
        if out is not None:
            typer.echo(f"exported {save_policy(policy, out)}")
        if register_in is not None:
            entry = Registry(register_in).register(policy)
            typer.echo(
                f"registered {entry.name}/{entry.version} (candidate) sha256 "
                f"{entry.artifact_sha256[:12]}"
            )
    except (ArtifactError, PolicyError, ValueError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"params {json.dumps(policy.params)}")


@registry_app.command("register")
def registry_register(
    artifact_dir: Path,
    name: str | None = typer.Option(None, "--name"),
    registry: Path = typer.Option(DEFAULT_REGISTRY, "--registry"),
) -> None:
    """Add an artifact folder to the registry as a candidate."""
    from policies.artifacts import ArtifactError, Registry, load_policy

    try:
        entry = Registry(registry).register(load_policy(artifact_dir), name)
    except ArtifactError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"registered {entry.name}/{entry.version} (candidate) sha256 {entry.artifact_sha256[:12]}"
    )


@registry_app.command("promote")
def registry_promote(
    name: str,
    version: str = typer.Argument(..., help="e.g. v0001"),
    registry: Path = typer.Option(DEFAULT_REGISTRY, "--registry"),
    seeds: int = typer.Option(8, "--seeds", help="Seeds (one CRN replication each), >= 5."),
    periods: int = typer.Option(3000, "--periods"),
    alpha: float = typer.Option(0.05, "--alpha"),
) -> None:
    """Validate against the incumbent baseline (CRN, paired t-test, safety) and promote."""
    from policies.artifacts import ArtifactError, Registry

    reg = Registry(registry)
    try:
        reg.promote(name, version, seeds=seeds, periods=periods, alpha=alpha)
        report = reg.report(name, version)
        assert report is not None
    except (ArtifactError, ValueError) as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"promoted {name}/{version} to validated: beats {report.baseline} by "
        f"{report.mean_improvement:.4f}/period over {len(report.seeds)} seeds (p = "
        f"{report.p_value:.2g})"
    )


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("train")(train_cmd)
    app.command("evaluate")(evaluate_cmd)
    app.command("export")(export_cmd)
    app.command("export-learned")(export_learned_cmd)
    app.add_typer(registry_app, name="registry")
