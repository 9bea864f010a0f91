"""``shopsphere carriers check``: the carriers in force, or exit 2 naming the bad field."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from shopsphere_cli.main import app


def test_the_shipped_file_lists_every_carrier() -> None:
    result = CliRunner().invoke(app, ["carriers", "check"])
    assert result.exit_code == 0, result.output
    assert "drone" in result.output and "own_fleet" in result.output


def test_a_bad_file_names_the_field_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("carriers:\n  - name: x\n    mode: teleport\n")
    result = CliRunner().invoke(app, ["carriers", "check", str(bad)])
    assert result.exit_code == 2
    assert "carriers[0].mode: 'teleport'" in result.output
    assert "carriers[0].cut_off_hour: missing" in result.output
    assert "Traceback" not in result.output
