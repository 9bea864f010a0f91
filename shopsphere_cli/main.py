"""The ``shopsphere`` command.

Each area registers its verbs from its own module; heavy imports happen inside the commands so
``shopsphere --help`` stays fast and a production install without the twin extras still works.
"""

from __future__ import annotations

import logging
import sys

import typer

from shopsphere_cli import (
    api_cmds,
    assist_cmds,
    dashboard_cmd,
    forecast_cmds,
    policy_cmds,
    replay_cmds,
    rl_cmds,
    twin_cmds,
    webhook_cmds,
)
from shopsphere_cli.errors import user_errors

app = typer.Typer(
    name="shopsphere",
    help=(
        "ShopSphere Twin: a digital twin of stores, warehouses, customers and fleets that drives "
        "the production commerce API and policies.\n\n"
        "Start with `shopsphere run scenarios/baseline.yaml`, or serve the API with "
        "`shopsphere serve`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level."),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


api_cmds.register(app)
twin_cmds.register(app)
policy_cmds.register(app)
forecast_cmds.register(app)
rl_cmds.register(app)
replay_cmds.register(app)
dashboard_cmd.register(app)
webhook_cmds.register(app)
assist_cmds.register(app)


def main() -> None:
    """The ``shopsphere`` console script: the app, with every package's error root mapped to
    ``error: ...`` and exit status 2 (see :mod:`shopsphere_cli.errors`)."""
    try:
        with user_errors():
            app()
    except typer.Exit as exc:  # raised by user_errors outside click's own handling
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
