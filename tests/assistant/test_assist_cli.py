"""``shopsphere assist``: an in-process conversation, JSON output, user errors exit 2."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from shopsphere_cli.main import app

RUNNER = CliRunner()


def test_assist_runs_a_conversation_in_process_and_prints_json() -> None:
    res = RUNNER.invoke(app, ["assist", "add 2 litres of oat milk", "check out", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("[") :])
    assert [r["intent"] for r in out] == ["add_to_cart", "checkout"]
    assert out[0]["actions"][0]["sku"] == "MLK-OAT-1L" and out[0]["actions"][0]["quantity"] == 2
    assert out[0]["cart_total_cents"] == 2 * 219 and out[1]["order_id"] == 1


def test_assist_names_a_bad_channel_and_exits_2() -> None:
    res = RUNNER.invoke(app, ["assist", "milk", "--channel", "fax"])
    assert res.exit_code == 2 and "--channel 'fax'" in res.output


def test_assist_against_a_server_needs_a_location() -> None:
    res = RUNNER.invoke(app, ["assist", "milk", "--target", "http://127.0.0.1:9"])
    assert res.exit_code == 2 and "--location" in res.output
