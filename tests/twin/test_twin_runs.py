"""Run directories, the traffic trace, and the ``shopsphere run`` / ``compare`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from twin_helpers import clock_for, dump, small_baseline
from typer.testing import CliRunner

from api.client.base import CommerceError
from api.client.recorder import RecordingClient
from api.schemas import AdjustmentCreate, CategoryCreate
from shopsphere_cli.main import app
from twin.runner import RunError, parse_policy, run_scenario


def test_run_directory_holds_scenario_kpis_tables_trace_and_report(
    tmp_path: Path, fake_client
) -> None:
    sc = small_baseline(days=4)
    out = run_scenario(sc, out=tmp_path / "run", client=fake_client(sc))
    run = tmp_path / "run"
    for name in (
        "scenario.yaml",
        "run.json",
        "kpis.json",
        "daily.parquet",
        "events.parquet",
        "traffic.jsonl",
        "report.md",
        "stock.png",
        "sales.png",
        "lost_sales.png",
        "availability.png",
    ):
        assert (run / name).stat().st_size > 0, name
    meta = json.loads((run / "run.json").read_text())
    assert meta["seed"] == sc.seed and meta["days"] == 4
    assert meta["versions"]["simpy"] and meta["versions"]["mesa"]
    assert meta["events_digest"] == out.result.events_digest
    kpis = json.loads((run / "kpis.json").read_text())
    assert kpis["units_sold"] == out.kpis["units_sold"] > 0
    daily = pq.read_table(run / "daily.parquet").to_pydict()
    n_sites = len(sc.world.stores) + len(sc.world.warehouses)
    assert len(daily["day"]) == 4 * n_sites
    assert sum(daily["units_sold"]) == sum(out.result.book.data["units_sold"].ravel())
    events = pq.read_table(run / "events.parquet")
    assert events.num_rows == len(out.result.events)
    lines = [orjson.loads(x) for x in (run / "traffic.jsonl").read_bytes().splitlines()]
    assert len(lines) == out.kpis["api_calls"]
    first = lines[0]
    assert set(first) >= {"timestamp", "method", "path", "body", "status"}
    assert {ln["path"] for ln in lines} >= {
        "/v1/stock/pos-sales",
        "/v1/carts",
        "/v1/checkout",
        "/v1/stock/transfers",
        "/v1/stock/receipts",
    }
    assert lines[-1]["timestamp"] > first["timestamp"]  # stamped with simulated time
    assert "![Stock on hand](stock.png)" in (run / "report.md").read_text()


def test_recording_client_records_refused_calls_with_their_status(fake_client) -> None:
    import io

    sc = small_baseline(days=1)
    sink = io.BytesIO()
    rec = RecordingClient(fake_client(sc), clock_for(sc), sink)
    rec.create_category(CategoryCreate(code="c", name="c"))
    with pytest.raises(CommerceError):
        rec.adjust(AdjustmentCreate(location="S01", sku="SKU000001", delta=-5, reason="shrink"))
    lines = [orjson.loads(x) for x in sink.getvalue().splitlines()]
    assert [(ln["method"], ln["path"], ln["status"]) for ln in lines] == [
        ("POST", "/v1/categories", 201),
        ("POST", "/v1/stock/adjustments", 409),
    ]
    assert lines[1]["body"]["delta"] == -5
    assert rec.api_summary()["adjust"]["errors"] == 1


def test_parse_policy_reads_name_kind_and_yaml_values() -> None:
    kind, ref = parse_policy("capped_base_stock:base_stock=20,cap=6")
    assert kind == "replenishment" and ref.name == "capped_base_stock"
    assert ref.params == {"base_stock": 20, "cap": 6}
    kind, ref = parse_policy("pricing/static:multiplier=0.9")
    assert (kind, ref.params) == ("pricing", {"multiplier": 0.9})
    with pytest.raises(RunError, match="'nope' is not a known policy"):
        parse_policy("nope")
    with pytest.raises(RunError, match="parameter 'cap' is not key=value"):
        parse_policy("capped_base_stock:cap")


def test_cli_run_prints_kpis_and_writes_the_run_directory(tmp_path: Path) -> None:
    sc = small_baseline(days=3, n_skus=16, population=150)
    path = dump(sc, tmp_path / "tiny.yaml")
    res = CliRunner().invoke(app, ["run", str(path), "--seed", "5", "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert "fill_rate" in res.output and "availability" in res.output
    assert "stock reconciliation" in res.output and "ok" in res.output
    assert json.loads((tmp_path / "r" / "run.json").read_text())["seed"] == 5


def test_cli_run_reports_a_bad_scenario_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nduration_days: 0\n")
    res = CliRunner().invoke(app, ["run", str(bad)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output


@pytest.mark.slow
def test_cli_compare_shows_policies_side_by_side(tmp_path: Path) -> None:
    sc = small_baseline(days=2, n_skus=12, population=100)
    path = dump(sc, tmp_path / "tiny.yaml")
    res = CliRunner().invoke(
        app,
        ["compare", str(path), "--policy", "static:multiplier=0.9", "--seeds", "2"],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    assert "scenario (base_stock, static)" in res.output and "static:multiplier=0.9" in res.output
    # money is shown in currency units, so the label drops the _cents suffix
    assert "revenue" in res.output and "revenue_cents" not in res.output
    assert "±" in res.output and "Δ" in res.output
    res = CliRunner().invoke(app, ["compare", str(path), "--policy", "nope"])
    assert res.exit_code == 2 and "not a known policy" in res.output


def test_cli_run_names_a_policy_that_cannot_be_built(tmp_path: Path) -> None:
    sc = small_baseline(days=2, n_skus=12, population=100)
    path = dump(sc, tmp_path / "tiny.yaml")
    text = path.read_text().replace("name: static", "name: dynamic_dp")
    path.write_text(text)
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2, res.output
    assert "dynamic_dp" in res.output and "Traceback" not in res.output
