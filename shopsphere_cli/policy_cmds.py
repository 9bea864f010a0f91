"""CLI verbs of this area (see shopsphere_cli.main): ``shopsphere policies ...``.

``list`` shows the registered policies by kind with their parameters (what a scenario's
``policy:``/``params:`` or an API request's ``policy`` may name); ``check`` builds the policies
the API would serve from the ``SHOPSPHERE_*`` settings, verifying any configured RL artifact,
and says what it would serve or why it would refuse to start.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import typer

from shopsphere_cli.errors import fail

policies_app = typer.Typer(
    name="policies",
    help="Registered policies, and the ones the API serves (SHOPSPHERE_*_POLICY / _ARTIFACT).",
    no_args_is_help=True,
)

KINDS = ("replenishment", "pricing", "forecasting")


def _default(p: inspect.Parameter) -> Any:
    if p.default is inspect.Parameter.empty:
        return None
    d = p.default
    return d if isinstance(d, str | int | float | bool | type(None)) else repr(d)


def describe(kind: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Registered policies by kind: name, summary (first docstring line) and parameters
    (name, required, default). Raises ``UnknownPolicyError`` for an unknown kind."""
    import policies.artifact_adapters  # noqa: F401  (registers rl_artifact)
    from policies import registry

    kinds = [kind] if kind else [k for k in KINDS if k in registry.available()]
    out: dict[str, list[dict[str, Any]]] = {}
    for k in kinds:
        names = registry.available(k)[k]
        if kind and not names:
            raise registry.UnknownPolicyError(f"no {k!r} policies; kinds: {list(KINDS)}")
        rows = []
        for name in names:
            doc = inspect.getdoc(registry.get(k, name)) or ""
            params = [
                {
                    "name": p.name,
                    "required": p.default is inspect.Parameter.empty,
                    "default": _default(p),
                }
                for p in registry.parameters(k, name).values()
            ]
            rows.append(
                {"name": name, "summary": doc.splitlines()[0] if doc else "", "params": params}
            )
        out[k] = rows
    return out


@policies_app.command("list")
def list_cmd(
    kind: str | None = typer.Option(
        None, "--kind", help="Only this kind (replenishment, pricing, forecasting)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Registered policies by kind with their parameters (required ones marked *)."""
    from policies.registry import PolicyError

    try:
        table = describe(kind)
    except PolicyError as exc:
        raise fail(f"--kind {kind!r}: {exc}") from None
    if as_json:
        typer.echo(json.dumps(table, indent=2))
        return
    for k, rows in table.items():
        typer.echo(f"{k}:")
        width = max((len(r["name"]) for r in rows), default=0)
        for r in rows:
            params = ", ".join(
                p["name"] + "*" if p["required"] else f"{p['name']}={p['default']}"
                for p in r["params"]
            )
            typer.echo(f"  {r['name']:<{width}}  ({params})  {r['summary']}")


@policies_app.command("check")
def check_cmd() -> None:
    """Build the policies the API would serve from SHOPSPHERE_* settings; exit 2 if refused."""
    from pydantic import ValidationError

    from api.services.policy_serving import PolicyConfigError, PolicyServing
    from api.settings import Settings

    try:
        serving = PolicyServing.from_settings(Settings())
    except (PolicyConfigError, ValidationError) as exc:
        raise fail(str(exc)) from None
    for served in (serving.replenishment, serving.pricing):
        typer.echo(f"{served.kind}: {served.name} {json.dumps(served.params)} -> {served.policy!r}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(policies_app, name="policies")
