"""CLI verbs of this area (see shopsphere_cli.main)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    from scenarios.cli import register_validate

    register_validate(app)
