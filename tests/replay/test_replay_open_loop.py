"""The replayer's latency accounting: open loop, measured from the scheduled time.

The stalled server freezes for 1 s, 0.5 s after its first request, and answers everything at
once otherwise. A request scheduled at ``s`` inside the stall cannot be answered before the
stall's end ``e``, so its latency from the schedule is at least ``e - s``.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from replay_helpers import StalledServerProcess

from replay.engine import Outcome, Replayer
from replay.keys import derive
from replay.trace import Trace, TraceRequest

STEP_S = 0.02
N = 100  # one request every 20 ms for 2 s
STALL_AT_S, STALL_S = 0.5, 1.0


def _trace() -> Trace:
    return Trace(
        [TraceRequest(i * STEP_S, f"s{i}", "staff", "get", "GET", "/ping") for i in range(N)]
    )


def _replay(pool: int) -> list[Outcome]:
    with StalledServerProcess(STALL_AT_S, STALL_S) as srv:
        rp = Replayer(_trace(), srv.url, derive("k", []), pool=pool, run_id="t", drain_s=20)
        res = asyncio.run(rp.run())
    assert len(res.outcomes) == N and all(o.code == "OK" for o in res.outcomes)
    assert res.corrected["get"].get_total_count() == N
    return res.outcomes


@pytest.mark.slow
def test_stall_shows_in_open_loop_latency_but_hides_in_closed_loop_service_time() -> None:
    # pool of 1: the client sends only after the previous answer, like a closed-loop tool; the
    # ~50 requests scheduled during the stall queue behind it
    outs = _replay(pool=1)
    lat = np.array([o.latency_ms for o in outs])
    svc = np.array([o.service_ms for o in outs])
    # requests scheduled in [0.5 s, 1.1 s) wait until the stall ends (>= 1.5 s): >= 400 ms,
    # 30 of them; 5 spare for the server's start offset on a loaded machine
    assert int((lat >= 400).sum()) >= 25
    # the 10 largest belong to requests scheduled in [0.5, 0.7): >= 800 ms
    assert np.percentile(lat, 90) >= 700
    assert lat.max() >= 900
    # what a closed-loop tool reports (send -> answer) sees the stall once: one slow request
    assert int((svc >= 400).sum()) <= 2
    assert np.percentile(svc, 90) < 200


@pytest.mark.slow
def test_open_loop_sends_on_schedule_while_the_server_stalls() -> None:
    outs = _replay(pool=64)
    lat = np.array([o.latency_ms for o in outs])
    late_send = np.array([(o.send_s - o.sched_s) * 1000 for o in outs])
    assert int((lat >= 400).sum()) >= 25
    # nothing waited for an earlier answer before it was sent
    assert np.median(late_send) < 50
    stalled = [o for o in outs if o.latency_ms >= 400]
    assert np.median([o.service_ms for o in stalled]) >= 400  # the server held them
