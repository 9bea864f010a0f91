"""``shopsphere dashboard``: start the planners' Streamlit app (``dashboards/app.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

APP = Path(__file__).resolve().parent.parent / "dashboards" / "app.py"


def dashboard_cmd(
    runs: Path = typer.Option(Path("runs"), "--runs", help="Run directories to list and write."),
    registry: Path = typer.Option(
        Path("registry"), "--registry", help="Policy registry shown on the Policies page."
    ),
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port to serve on."),
    address: str = typer.Option("127.0.0.1", "--address", help="Address to bind."),
    headless: bool = typer.Option(
        True, "--headless/--browser", help="Do not open a browser window (default)."
    ),
) -> None:
    """Start the what-if dashboard (Streamlit) on http://ADDRESS:PORT.

    It reads and writes the same run directories as `shopsphere run`/`compare`.
    """
    env = {
        **os.environ,
        "SHOPSPHERE_RUNS_DIR": str(runs.resolve()),
        "SHOPSPHERE_POLICY_REGISTRY_DIR": str(registry.resolve()),
    }
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true" if headless else "false",
        "--browser.gatherUsageStats",
        "false",
    ]
    typer.echo(f"dashboard on http://{address}:{port} (runs: {runs}); Ctrl-C stops it")
    try:
        raise typer.Exit(subprocess.call(cmd, env=env))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` to ``app``."""
    app.command("dashboard")(dashboard_cmd)
