"""``shopsphere carriers check [PATH]``: validate a carriers file and print its carriers.

A bad file prints ``error: <field path>: <value>: <reason>`` and exits 2 (see
:mod:`api.services.carriers`, ``docs/fulfilment.md``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from shopsphere_cli.errors import fail

carriers_app = typer.Typer(help="Carriers of the fulfilment network.", no_args_is_help=True)


@carriers_app.command("check")
def check(
    path: Path | None = typer.Argument(
        None, help="A carriers YAML file (default: the one in force, configs/carriers.yaml)."
    ),
) -> None:
    """Validate a carriers file; print one line per carrier."""
    from api.services.carriers import CarrierConfigError, active_carriers, load_carriers

    try:
        book = load_carriers(path) if path is not None else active_carriers()
    except CarrierConfigError as exc:
        raise fail(exc.message) from None
    typer.echo(f"{'carrier':<20} {'mode':<18} {'from':<28} cut-off  reach km  payload  per day")
    for c in book.carriers:
        typer.echo(
            f"{c.name:<20} {c.mode.value:<18} {','.join(c.ships_from):<28} "
            f"{c.cut_off_hour:>7.1f}  {c.max_km if c.max_km is not None else '-':>8}  "
            f"{c.max_units if c.max_units is not None else '-':>7}  "
            f"{c.capacity_per_day if c.capacity_per_day is not None else '-':>7}"
        )


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(carriers_app, name="carriers")
