"""Chaos during a replay: a worker of a server the tool started is killed with SIGKILL, the
supervisor replaces it, clients retry with the same Idempotency-Key, and afterwards every
acknowledged order is present, the ledger equals the counters, nothing is oversold, and every
outbox event reached the webhook receiver with at most one effect (a killed worker may die in
the middle of a dispatch batch)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from api.client.http import HttpClient
from replay.chaos import ChaosRunner, parse_schedule
from replay.engine import Replayer
from replay.flashsale import FlashSaleSpec, generate
from replay.keys import derive
from replay.receiver import WebhookReceiver
from replay.results import acknowledged_orders
from replay.seed import seed_catalog
from replay.server import LocalServer
from replay.verify import check_after_replay, check_webhooks, webhook_status

SECRET = "chaos-webhook-secret-0123"


@pytest.mark.slow
def test_killed_worker_loses_no_acknowledged_order(tmp_path: Path) -> None:
    spec = FlashSaleSpec(
        duration_s=5, t0_s=1, ramp_s=0.5, hold_s=3, peak_orders_per_s=8, multiplier=2,
        n_hot=1, hot_stock=15, n_regular=2, n_shoppers=30, n_bots=2, think_s=0.05,
    )  # fmt: skip
    trace = generate(spec, np.random.default_rng(5))
    book = derive("chaos", trace.shoppers())
    receiver = WebhookReceiver(SECRET)
    server = LocalServer(
        f"sqlite:///{tmp_path / 'chaos.sqlite'}",
        book,
        workers=2,
        env={
            "SHOPSPHERE_SWEEP_INTERVAL_SECONDS": "0",
            "SHOPSPHERE_WEBHOOK_ENDPOINTS": f"rx={receiver.url}",
            "SHOPSPHERE_WEBHOOK_SECRET": SECRET,
            "SHOPSPHERE_WEBHOOK_LEASE_SECONDS": "2",
            "SHOPSPHERE_WEBHOOK_POLL_SECONDS": "0.05",
        },
        log_path=tmp_path / "server.log",
    )
    server.store_keys(tmp_path / "keys.json")
    rng = np.random.default_rng(0)
    with receiver, server:
        staff = HttpClient(server.url, book.token("staff"), timeout_s=60)
        seeded = seed_catalog(staff, trace.meta["catalog"])
        chaos = ChaosRunner(
            parse_schedule("kill-worker@1.5,kill-worker@3"),
            server_pid=server.pid,
            pg_restart_cmd=None,
            rng=rng,
        )
        before = webhook_status(server.url, book.token("staff"))
        rp = Replayer(trace, server.url, book, run_id="chaos", rng=rng, timeout_s=20)
        result = asyncio.run(rp.run([chaos.task()]))
        checks = check_after_replay(
            staff,
            acknowledged_orders(result),
            location=seeded.location,
            initial_stock=seeded.initial_stock,
        )
        hooks = check_webhooks(
            server.url,
            book.token("staff"),
            receiver,
            acknowledged_orders(result),
            endpoint="rx",
            before=before,
            timeout_s=60,
        )
        staff.close()
    assert [f.action for f in result.faults] == ["kill-worker", "kill-worker"]
    assert all(f.detail.endswith("replaced") for f in result.faults), result.faults
    assert checks["ok"], checks
    assert checks["orders_acknowledged"] > 0
    assert checks["orders_found"] == checks["orders_acknowledged"]
    assert not any(o.code.startswith("HTTP_5") for o in result.outcomes)
    assert hooks["webhooks_ok"], hooks
    assert hooks["webhook_events"] >= 2 * checks["orders_acknowledged"]  # placed + paid each
    assert hooks["receiver_duplicate_effects"] == 0
