"""The Locust replay: its schedule (sessions in start order, split across workers) and a few
seconds of headless Locust against a local server."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from replay_helpers import StalledServerProcess

from replay.flashsale import FlashSaleSpec, generate
from replay.locust_schedule import SessionQueue, sessions, shard
from replay.trace import Trace, TraceRequest

ROOT = Path(__file__).resolve().parents[2]


def _req(t: float, s: str) -> TraceRequest:
    return TraceRequest(t, s, "staff", "get", "GET", "/x")


def test_sessions_come_in_start_order_and_workers_split_them_without_overlap() -> None:
    tr = Trace([_req(0.0, "b"), _req(0.5, "a"), _req(0.7, "b"), _req(0.2, "c"), _req(0.9, "a")])
    tr.requests.sort(key=lambda r: r.t)
    all_s = sessions(tr)
    assert [(s.name, s.start_s, len(s.requests)) for s in all_s] == [
        ("b", 0.0, 2),
        ("c", 0.2, 1),
        ("a", 0.5, 2),
    ]
    parts = [shard(all_s, i, 2) for i in range(2)]
    assert [[s.name for s in p] for p in parts] == [["b", "a"], ["c"]]
    q = SessionQueue(parts[0])
    assert [q.pop(), q.pop(), q.pop()] == [parts[0][0], parts[0][1], None]
    with pytest.raises(ValueError, match=r"worker index 2 is not within 0\.\.1"):
        shard(all_s, 2, 2)


@pytest.mark.slow
def test_locustfile_replays_a_flash_sale_headless(tmp_path: Path) -> None:
    spec = FlashSaleSpec(duration_s=3, t0_s=1, hold_s=1, peak_orders_per_s=10, n_shoppers=20)
    tr = generate(spec, np.random.default_rng(2))
    tr.save(tmp_path / "fs.jsonl")
    env = {
        **os.environ,
        "REPLAY_TRACE": str(tmp_path / "fs.jsonl"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path]),
    }
    with StalledServerProcess(stall_at_s=1000, stall_s=0) as srv:  # never stalls
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "replay" / "locustfile.py"),
             "--headless", "-u", "30", "-r", "30", "-t", "12s", "-H", srv.url,
             "--csv", str(tmp_path / "loc"), "--only-summary", "--loglevel", "WARNING"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    with (tmp_path / "loc_stats.csv").open() as f:
        rows = {r["Name"]: r for r in csv.DictReader(f)}
    sent = {name: int(r["Request Count"]) for name, r in rows.items()}
    expected = {op: sum(r.op == op for r in tr.requests) for op in ("create_cart", "checkout")}
    # every session the trace scheduled in its 3 s was replayed, named by endpoint, no failure
    assert sent["create_cart"] == expected["create_cart"]
    assert sent["checkout"] == expected["checkout"]
    assert int(rows["Aggregated"]["Failure Count"]) == 0
