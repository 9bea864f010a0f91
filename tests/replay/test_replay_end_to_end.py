"""A flash sale replayed against the real API (SQLite, in a thread) with rate limits and the
waiting room on: seeding, per-shopper keys, 429s retried after Retry-After, admissions, and the
post-run checks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import orjson
import pytest
from replay_helpers import UvicornThread
from typer.testing import CliRunner

from api.app import create_app
from api.client.http import HttpClient
from api.settings import Settings
from replay.engine import Replayer
from replay.flashsale import FlashSaleSpec, generate
from replay.keys import derive
from replay.results import acknowledged_orders, write_results
from replay.seed import seed_catalog
from replay.verify import check_after_replay
from shopsphere_cli.main import app

HOT_STOCK = 10


@pytest.mark.slow
def test_flash_sale_replay_sells_out_without_overselling(tmp_path: Path) -> None:
    spec = FlashSaleSpec(
        duration_s=4, t0_s=1, ramp_s=0.5, hold_s=2, peak_orders_per_s=15, multiplier=3,
        n_hot=1, hot_stock=HOT_STOCK, n_regular=3, n_shoppers=40, n_bots=3, bot_fraction=0.3,
        abandon_p=0.0, think_s=0.05, waiting_room=True,
    )  # fmt: skip
    trace = generate(spec, np.random.default_rng(11))
    book = derive("test", trace.shoppers())
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'e2e.sqlite'}",
        auto_create_schema=True,
        sweep_interval_seconds=0,
        bootstrap_api_keys=book.bootstrap_spec(),
        rate_limit_key_per_s=2.0,
        rate_limit_key_burst=3,
        waiting_room_skus=",".join(spec.hot_skus()),
        waiting_room_admit_per_s=5.0,
        waiting_room_burst=3,
    )
    with UvicornThread(create_app(settings)) as srv:
        staff = HttpClient(srv.url, book.token("staff"))
        seeded = seed_catalog(staff, trace.meta["catalog"])
        seed_catalog(staff, trace.meta["catalog"])  # repeating the seeding adds nothing
        rp = Replayer(
            trace, srv.url, book, run_id="e2e", rng=np.random.default_rng(0), poll_max_s=20
        )
        result = asyncio.run(rp.run())
        checks = check_after_replay(
            staff,
            acknowledged_orders(result),
            location=seeded.location,
            initial_stock=seeded.initial_stock,
        )
        staff.close()
    summary = write_results(result, tmp_path / "out", checks)
    assert checks["ok"], checks
    assert checks["orders_found"] == checks["orders_acknowledged"] == summary["orders_acknowledged"]
    assert checks["units_oversold"] == 0 and checks["ledger_mismatches"] == 0
    codes = summary["codes_by_op"]["checkout"]
    # more shoppers wanted the hot SKU than it had units: some were told so, typed
    hot_lines = sum(1 for r in trace.requests if r.op == "set_cart_line" and "HOT" in r.body["sku"])
    assert hot_lines > HOT_STOCK
    assert (
        summary["codes_by_op"]["set_cart_line"].get("INSUFFICIENT_STOCK", 0)
        + codes.get("INSUFFICIENT_STOCK", 0)
        > 0
    )
    assert summary["responses_429"] > 0  # bots hit the per-key limit
    # every hot session queued; admitted ones carried their token, so none was refused
    assert summary["waiting_room_sessions"] == sum(r.op == "waiting_room" for r in trace.requests)
    assert 0 < summary["waiting_room_admissions"] <= summary["waiting_room_sessions"]
    assert "ADMISSION_REQUIRED" not in summary["codes"]
    assert not any(c.startswith("HTTP_5") for c in summary["codes"])
    for f in ("requests.parquet", "summary.json", "report.md", "latency.png", "hdr/checkout.hdr"):
        assert (tmp_path / "out" / f).exists(), f
    assert orjson.loads((tmp_path / "out" / "summary.json").read_bytes())["checks"]["ok"]


def test_cli_names_the_bad_option_and_exits_2(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["replay", str(tmp_path / "none.jsonl"), "--target", "http://x"])
    assert r.exit_code == 2 and "cannot read trace" in r.output
    (tmp_path / "t.jsonl").write_text('{"format": "shopsphere-replay", "version": 1}\n')
    r = runner.invoke(app, ["replay", str(tmp_path / "t.jsonl"), "--speed", "0", "--target", "x"])
    assert r.exit_code == 2 and "--speed must be positive, got 0.0" in r.output
    r = runner.invoke(
        app, ["replay", str(tmp_path / "t.jsonl"), "--target", "x", "--chaos", "boom@1"]
    )
    assert r.exit_code == 2 and "chaos entry 'boom@1'" in r.output
    r = runner.invoke(app, ["replay-trace", "flash-sale", str(tmp_path / "f.jsonl"), "--hot", "0"])
    assert r.exit_code == 2 and "'n_hot' has bad value 0" in r.output
