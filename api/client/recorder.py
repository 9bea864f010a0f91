"""A recording decorator around any :class:`~api.client.base.CommerceClient`.

Every call the twin makes to commerce goes through :class:`RecordingClient`, which forwards it
unchanged to the wrapped client and records one traffic line: the *simulated* timestamp, the
HTTP verb and path the call corresponds to (from the operation table, so it is exactly what
:class:`~api.client.http.HttpClient` would send), the JSON body (the query parameters for a
GET), the status (the operation's success status, or the status of the
:class:`~api.client.base.CommerceError` it raised), the ``Idempotency-Key`` if any, and the
wall latency in milliseconds. The lines are written to ``traffic.jsonl`` for later replay
against a live API, and the per-method call counts and latencies become the run's API KPIs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

import numpy as np
import orjson
from pydantic import BaseModel

from api.client.base import CommerceClient, CommerceError, OperationClient
from api.client.operations import Operation
from api.clock import Clock

R = TypeVar("R")


@dataclass(slots=True)
class CallStats:
    """Latencies (milliseconds) of one client method, and how many calls failed."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def summary(self) -> dict[str, float]:
        lat = np.asarray(self.latencies_ms, dtype=float)
        if lat.size == 0:
            return {"calls": 0, "errors": self.errors}
        return {
            "calls": int(lat.size),
            "errors": self.errors,
            "mean_ms": float(lat.mean()),
            "p50_ms": float(np.percentile(lat, 50)),
            "p95_ms": float(np.percentile(lat, 95)),
            "p99_ms": float(np.percentile(lat, 99)),
            "total_ms": float(lat.sum()),
        }


def json_body(body: object) -> object:
    """A request body or query as JSON-ready data (None fields left out), built only when a
    trace line is written."""
    if body is None or isinstance(body, Mapping):
        return body
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", exclude_none=True)
    assert isinstance(body, list | tuple), type(body)
    return [json_body(b) for b in body]


class RecordingClient(OperationClient):
    """A :class:`CommerceClient` that forwards to ``inner`` and records every call.

    Args:
        inner: the real client (in-process, HTTP, or the fake).
        clock: the simulated clock; its time stamps each traffic line.
        sink: a binary file to append JSON lines to (``traffic.jsonl``), or None to keep only
            the statistics.
        before_call: called before every call (the twin moves the simulated clock there).
    """

    def __init__(
        self,
        inner: CommerceClient,
        clock: Clock,
        sink: IO[bytes] | None = None,
        before_call: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self._clock = clock
        self._sink = sink
        self._before = before_call
        self.stats: dict[str, CallStats] = {}

    # ---- bookkeeping ---------------------------------------------------------------------
    @property
    def total_calls(self) -> int:
        return sum(len(s.latencies_ms) for s in self.stats.values())

    def api_summary(self) -> dict[str, dict[str, float]]:
        """Per-method call count, errors and latency percentiles (milliseconds)."""
        return {name: s.summary() for name, s in sorted(self.stats.items())}

    # ---- the one door ----------------------------------------------------------------------
    def _invoke(self, op: Operation[R], args: Mapping[str, Any], key: str | None) -> R:
        if self._before is not None:
            self._before()
        stats = self.stats.get(op.name)
        if stats is None:
            stats = self.stats[op.name] = CallStats()
        method = getattr(self.inner, op.name)
        pos, kw = op.split(args)
        if key is not None:
            kw["idempotency_key"] = key
        t0 = time.perf_counter()
        status = op.status
        try:
            out: R = method(*pos, **kw)
            return out
        except CommerceError as exc:
            status = exc.status
            stats.errors += 1
            raise
        finally:
            ms = (time.perf_counter() - t0) * 1000.0
            stats.latencies_ms.append(ms)
            if self._sink is not None:
                req = op.http(args)
                line: dict[str, object] = {
                    "timestamp": self._clock.now().isoformat(),
                    "method": req.verb,
                    "path": req.path,
                    "body": json_body(req.params if req.verb == "GET" else req.body),
                    "status": status,
                    "latency_ms": round(ms, 4),
                }
                if key is not None:
                    line["idempotency_key"] = key
                self._sink.write(orjson.dumps(line) + b"\n")
