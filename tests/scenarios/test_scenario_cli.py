"""``shopsphere validate``: ok lines on stdout, exact problems on stderr, exit status 2."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from shopsphere_cli.validate_cmd import register_validate

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _app() -> typer.Typer:
    app = typer.Typer()
    register_validate(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer in multi-command mode
        """Nothing."""

    return app


def test_validate_reports_ok_for_a_good_file() -> None:
    result = CliRunner().invoke(_app(), ["validate", str(SCENARIOS / "baseline.yaml")])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{SCENARIOS / 'baseline.yaml'}: ok - baseline: 3 stores, 1 warehouse, 2 suppliers, "
        "200 SKUs, 0 events, 21 days from 2026-03-02 (seed 42)\n"
    )


def test_validate_lists_problems_and_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((SCENARIOS / "baseline.yaml").read_text().replace("lat: 52.5100", "lat: 123.0"))
    result = CliRunner().invoke(_app(), ["validate", str(SCENARIOS / "heatwave.yaml"), str(bad)])
    assert result.exit_code == 2
    assert "heatwave: 3 stores" in result.stdout
    assert "Traceback" not in result.output
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "lat: 123.0" in t)
    assert result.stderr == (
        f"scenario {bad} has 1 problem:\n"
        f"  {bad}:{line}: world.stores[2].lat: 123.0 is not a latitude (-90..90)\n"
    )


def test_validate_resolved_prints_defaults() -> None:
    result = CliRunner().invoke(
        _app(), ["validate", "--resolved", str(SCENARIOS / "theory_single_sku.yaml")]
    )
    assert result.exit_code == 0
    assert "road_factor: 1.3" in result.stdout  # a default the file does not spell out
