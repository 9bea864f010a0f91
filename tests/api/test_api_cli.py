"""The API's CLI verbs: db upgrade, apikey create, demo; clean errors for bad settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from shopsphere_cli.main import app


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for var in (
        "SHOPSPHERE_DATABASE_URL",
        "SHOPSPHERE_MODE",
        "SHOPSPHERE_API_KEY_PEPPER",
        "SHOPSPHERE_BOOTSTRAP_API_KEYS",
    ):
        monkeypatch.delenv(var, raising=False)
    return CliRunner()


def test_db_upgrade_then_apikey_create_stores_only_a_hash(
    runner: CliRunner, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    up = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert up.exit_code == 0, up.output
    made = runner.invoke(
        app, ["apikey", "create", "--role", "customer", "--customer-id", "alice", "--db", url]
    )
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    assert token.startswith("ss_")
    with create_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT key_hash, role, customer_id FROM api_keys")).all()
    assert [(r.role, r.customer_id) for r in rows] == [("customer", "alice")]
    assert token not in rows[0].key_hash and len(rows[0].key_hash) == 64


def test_bad_input_exits_2_with_a_message_not_a_traceback(
    runner: CliRunner, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner.invoke(app, ["db", "upgrade", "--db", url])
    bad_role = runner.invoke(app, ["apikey", "create", "--role", "admin", "--db", url])
    assert bad_role.exit_code == 2 and "role 'admin'" in bad_role.output
    bad_url = runner.invoke(app, ["db", "upgrade", "--db", "mysql://x"])
    assert bad_url.exit_code == 2 and "SHOPSPHERE_DATABASE_URL" in bad_url.output
    assert "Traceback" not in bad_role.output + bad_url.output


def test_demo_seeds_and_places_orders_reproducibly(runner: CliRunner) -> None:
    first = runner.invoke(app, ["demo", "--skus", "20", "--orders", "8", "--seed", "3"])
    again = runner.invoke(app, ["demo", "--skus", "20", "--orders", "8", "--seed", "3"])
    assert first.exit_code == 0, first.output
    summary = {
        ln.split(":")[0].strip(): ln.split(":")[1].strip()
        for ln in first.output.splitlines()
        if ":" in ln and not ln[:4].isdigit()
    }
    assert summary["skus created"] == "20"
    assert int(summary["checkouts paid"]) > 0
    assert first.output == again.output


def test_payments_reconcile_needs_a_gateway_it_can_ask_then_resolves_pending_orders(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'rec.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--db", url]).exit_code == 0
    refused = runner.invoke(app, ["payments", "reconcile", "--db", url])
    assert refused.exit_code == 2 and "SHOPSPHERE_SIM_GATEWAY_PATH" in refused.output
    monkeypatch.setenv("SHOPSPHERE_SIM_GATEWAY_PATH", str(tmp_path / "gw.db"))
    done = runner.invoke(app, ["payments", "reconcile", "--db", url, "--grace-seconds", "0"])
    assert done.exit_code == 0, done.output
    assert "paid 0, payment_failed 0, refunded 0" in done.output
