"""Locust replay of a trace (the same traces as ``shopsphere replay``), for Locust's web UI and
its distributed mode (master and workers: load beyond one machine).

Configuration by environment variables:

* ``REPLAY_TRACE``: trace file (native or a twin ``traffic.jsonl``), required.
* ``REPLAY_KEYS``: key file (name -> token JSON), or ``REPLAY_KEY_SECRET`` to derive the keys as
  ``shopsphere replay`` does (default ``shopsphere-replay-dev``).
* ``REPLAY_SPEED``: time compression (default 1).
* ``REPLAY_WORKERS``: how many Locust workers share the trace (default 1); each takes every
  ``REPLAY_WORKERS``-th session from its worker index.

Example (one machine, headless)::

    REPLAY_TRACE=fs.jsonl locust -f replay/locustfile.py --headless -u 500 -r 500 \\
        -t 70s -H http://127.0.0.1:8000

Distributed: ``locust -f replay/locustfile.py --master --expect-workers 4`` and on each worker
``REPLAY_WORKERS=4 REPLAY_TRACE=fs.jsonl locust -f replay/locustfile.py --worker``.

Each Locust user takes the next session, waits for its scheduled start, and sends its requests
at their scheduled times (or after the previous answer, if later); requests are named by
endpoint. Unlike ``shopsphere replay``, Locust times each request from its send, and a session
starts late when every user is busy: give at least as many users as sessions in flight. Late
starts are reported as the ``schedule_lag`` entry (its "response time" is the lag in ms).
References across sessions (the twin's staff order transitions) are skipped.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import gevent
import orjson
from locust import events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.user.wait_time import constant

from replay.keys import KeyBook, derive
from replay.locust_schedule import SessionQueue, sessions, shard
from replay.trace import load, resolve, resolve_headers

STATE: dict[str, Any] = {}


def _setup(environment: Any) -> None:
    path = os.environ.get("REPLAY_TRACE")
    if not path:
        raise SystemExit("set REPLAY_TRACE to the trace file to replay")
    trace = load(Path(path))
    keys = os.environ.get("REPLAY_KEYS")
    book = (
        KeyBook.load(Path(keys))
        if keys
        else derive(os.environ.get("REPLAY_KEY_SECRET", "shopsphere-replay-dev"), trace.shoppers())
    )
    runner = environment.runner
    index = int(getattr(runner, "worker_index", 0) or 0)
    count = int(os.environ.get("REPLAY_WORKERS", "1"))
    STATE.update(
        queue=SessionQueue(shard(sessions(trace), index % count, count)),
        keys=book,
        speed=float(os.environ.get("REPLAY_SPEED", "1")),
        t0=time.monotonic() + 1.0,
        run=f"locust{int(time.time())}w{index}",
    )


@events.test_start.add_listener
def _on_start(environment: Any, **_: Any) -> None:
    _setup(environment)


class ReplayUser(FastHttpUser):
    """Replays one session at a time from the shared queue."""

    wait_time = constant(0)

    def _at(self, t_trace: float) -> float:
        return float(STATE["t0"]) + t_trace / float(STATE["speed"])

    def _send(self, method: str, path: str, name: str, body: Any, headers: dict[str, str]) -> Any:
        content = orjson.dumps(body).decode() if body is not None else None
        for attempt in range(4):
            with self.client.request(
                method, path, name=name, data=content, headers=headers, catch_response=True
            ) as resp:
                status = resp.status_code or 0
                if status in (429, 502, 503, 504) or status == 0:
                    resp.failure(f"HTTP {status}")
                    wait = min(5.0, 0.1 * 2**attempt)
                    ra = resp.headers.get("Retry-After") if resp.headers else None
                    if ra and ra.replace(".", "", 1).isdigit():
                        wait = max(wait, float(ra))
                    gevent.sleep(wait)
                    continue
                if status >= 400:
                    resp.failure(f"HTTP {status}")
                else:
                    resp.success()
                return resp
        return None

    @staticmethod
    def _admitted(resp: Any) -> str | None:
        """The admission token of a waiting-room answer, None while still waiting."""
        try:
            d = orjson.loads(resp.content or b"null")
        except orjson.JSONDecodeError:
            return None
        tok = d.get("admission_token") if isinstance(d, dict) and d.get("admitted") else None
        return tok if isinstance(tok, str) else None

    @staticmethod
    def _id(resp: Any) -> int | None:
        try:
            d = orjson.loads(resp.content or b"null")
        except orjson.JSONDecodeError:
            return None
        v = d.get("id") if isinstance(d, dict) else None
        return v if isinstance(v, int) else None

    def _run_session(self) -> bool:
        session = STATE["queue"].pop()
        if session is None:
            return False
        start = self._at(session.start_s)
        lag = time.monotonic() - start
        if lag > 0.0:
            self.environment.events.request.fire(
                request_type="SCHED",
                name="schedule_lag",
                response_time=lag * 1000,
                response_length=0,
                exception=None,
                context={},
            )
        refs: dict[str, int | str] = {}
        for i, req in enumerate(session.requests):
            delay = self._at(req.t) - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            if any(n not in refs for n in req.needs()):
                continue  # its creator failed, or it refers to another session
            path, body = resolve(req, refs)
            headers = {"X-API-Key": STATE["keys"].token(req.key), **resolve_headers(req, refs)}
            if req.method == "POST":
                headers["Idempotency-Key"] = f"{STATE['run']}:{req.idem or f'{session.name}.{i}'}"
            if body is not None:
                headers["Content-Type"] = "application/json"
            resp = self._send(req.method, path, req.op, body, headers)
            waited = 0.0
            while req.poll and resp is not None and not self._admitted(resp) and waited < 120:
                ra = resp.headers.get("Retry-After") if resp.headers else None
                pause = float(ra) if ra and ra.isdigit() else 1.0
                gevent.sleep(pause)  # a waiting room: poll when told to
                waited += pause
                resp = self._send(req.method, path, req.op, body, headers)
            if req.poll:
                token = self._admitted(resp) if resp is not None else None
                if token:
                    refs[req.sets or ""] = token
                continue
            if req.sets and resp is not None and 200 <= (resp.status_code or 0) < 300:
                new = self._id(resp)
                if new is not None:
                    refs[req.sets] = new
        return True

    def on_start(self) -> None:
        if "queue" not in STATE:
            _setup(self.environment)

    @task
    def replay_next_session(self) -> None:
        if not self._run_session():
            gevent.sleep(1.0)  # the trace is done: idle until the run time ends
