"""The open-loop replay engine (asyncio + one pooled ``httpx.AsyncClient``).

Every request has a scheduled time, ``t0 + t / speed``. A session's requests start at their
scheduled time, or when the previous request of the session (whose answer they need) has
finished if that is later; sessions never wait for each other. Latency is measured **from the
scheduled time** to the final answer, so time spent queued behind a stalled server, in the
connection pool or in retries counts, and coordinated omission is corrected. The time from the
last send to its answer (``service_ms``, what a closed-loop tool reports) is kept beside it.

Clients retry like real ones: transport errors, 429, 502, 503, 504 and
``IDEMPOTENCY_IN_PROGRESS`` are retried with capped exponential backoff and full jitter,
never sooner than ``Retry-After``; bots retry at once, many times, ignoring ``Retry-After``.
Every POST carries an ``Idempotency-Key`` (``<run id>:<trace idem or line>``) kept across its
retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace

import httpx
import numpy as np
import orjson
from hdrh.histogram import HdrHistogram

from replay.keys import KeyBook
from replay.trace import SETUP, Trace, TraceRequest, resolve, resolve_headers

RETRY_STATUSES = frozenset({429, 502, 503, 504})
HDR_MAX_US = 3_600_000_000  # one hour, in microseconds


def new_histogram() -> HdrHistogram:
    """Latency histogram in microseconds, 1 us to 1 h, 3 significant digits."""
    return HdrHistogram(1, HDR_MAX_US, 3)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How clients retry (seconds). Bots use ``bot_*`` and ignore ``Retry-After``."""

    max_attempts: int = 4
    base_s: float = 0.1
    cap_s: float = 5.0
    honour_retry_after: bool = True
    bot_max_attempts: int = 20
    bot_delay_s: float = 0.01

    def delay(self, attempt: int, retry_after_s: float | None, bot: bool, u: float) -> float:
        """Wait before attempt ``attempt + 1`` (``attempt`` >= 1); ``u`` uniform in [0, 1)."""
        if bot:
            return self.bot_delay_s * u
        backoff = u * min(self.cap_s, self.base_s * 2 ** (attempt - 1))  # full jitter
        if self.honour_retry_after and retry_after_s is not None:
            return max(backoff, retry_after_s)
        return backoff


@dataclass(slots=True)
class Outcome:
    """The final result of one trace request (times in seconds from the replay start)."""

    index: int
    op: str
    session: str
    key: str
    bot: bool
    sched_s: float
    send_s: float
    end_s: float
    status: int  # 0: no HTTP answer (transport error, timeout, skipped)
    code: str  # OK, the API's typed code, CONNECT_ERROR, TIMEOUT, DEPENDENCY_FAILED, NO_ANSWER
    attempts: int
    n429: int
    latency_ms: float  # end - scheduled
    service_ms: float  # end - last send
    entity_id: int | None = None
    admitted: bool = False  # a waiting-room poll that ended admitted


@dataclass(slots=True)
class FaultWindow:
    """A fault injected during the replay (seconds from the replay start)."""

    action: str
    start_s: float
    end_s: float
    detail: str = ""


@dataclass(slots=True)
class LiveStats:
    """Counters read by the progress display."""

    scheduled: int = 0
    total: int = 0
    in_flight: int = 0
    done: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    recent_ms: list[float] = field(default_factory=list)


@dataclass(slots=True)
class ReplayResult:
    """Outcomes, per-endpoint histograms (corrected and uncorrected) and fault windows."""

    outcomes: list[Outcome]
    corrected: dict[str, HdrHistogram]
    uncorrected: dict[str, HdrHistogram]
    faults: list[FaultWindow]
    wall_s: float
    speed: float
    run_id: str


SideTask = Callable[[float, list[FaultWindow]], Coroutine[object, object, None]]
Monitor = Callable[[LiveStats], None]


class Replayer:
    """Replays ``trace`` against ``target`` open-loop.

    Args:
        trace: the requests (already windowed to the replay duration if wanted).
        target: base URL of the API, e.g. ``http://127.0.0.1:8000``.
        keys: API keys by name (``staff`` and every shopper of the trace).
        speed: time compression (10: ten trace seconds per replay second).
        pool: most requests in flight (and connections open) at once; requests beyond wait
            for a slot, and that wait counts in their latency (not in ``service_ms``). A pool of
            1 behaves like a single closed-loop client.
        timeout_s: per-attempt timeout.
        retry: the retry policy.
        run_id: prefix of every Idempotency-Key (a new run must not reuse an old one's keys).
        rng: jitter of the retry backoff.
        drain_s: after the last scheduled request, how long unfinished sessions may run.
        transport: an ``httpx.AsyncBaseTransport`` (tests), default a real connection pool.
        poll_max_s: how long a waiting-room poll keeps polling before giving up (NOT_ADMITTED).
    """

    def __init__(
        self,
        trace: Trace,
        target: str,
        keys: KeyBook,
        *,
        speed: float = 1.0,
        pool: int = 256,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        run_id: str = "run",
        rng: np.random.Generator | None = None,
        drain_s: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        poll_max_s: float = 120.0,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        self.trace = trace
        self.target = target.rstrip("/")
        self.keys = keys
        self.speed = speed
        self.pool = pool
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.run_id = run_id
        self.rng = rng or np.random.default_rng(0)
        self.drain_s = drain_s
        self.transport = transport
        self.poll_max_s = poll_max_s
        self.stats = LiveStats(total=len(trace.requests))
        self._outcomes: list[Outcome] = []
        self._done: set[int] = set()
        self._corrected: dict[str, HdrHistogram] = defaultdict(new_histogram)
        self._uncorrected: dict[str, HdrHistogram] = defaultdict(new_histogram)
        self._refs: dict[str, asyncio.Future[int | str | None]] = {}
        self._t0 = 0.0
        self._slots: asyncio.Semaphore | None = None
        self._headers = {name: {"X-API-Key": tok} for name, tok in keys.tokens.items()}
        for name in {r.key for r in trace.requests}:
            keys.token(name)  # fail before the run, naming the missing key

    # ---- public ----------------------------------------------------------------------------
    async def run(
        self, side_tasks: list[SideTask] | None = None, monitor: Monitor | None = None
    ) -> ReplayResult:
        """Replay the whole trace; returns when every session finished or the drain ran out."""
        loop = asyncio.get_running_loop()
        sessions: dict[str, list[tuple[int, TraceRequest]]] = defaultdict(list)
        for i, r in enumerate(self.trace.requests):
            sessions[r.session].append((i, r))
        settable = {r.sets for r in self.trace.requests if r.sets}
        for name in settable:
            self._refs[name] = loop.create_future()
        faults: list[FaultWindow] = []
        limits = httpx.Limits(max_connections=self.pool, max_keepalive_connections=self.pool)
        wall0 = time.perf_counter()
        self._slots = asyncio.Semaphore(self.pool)
        async with httpx.AsyncClient(
            base_url=self.target,
            limits=limits,
            timeout=httpx.Timeout(self.timeout_s, pool=None),
            transport=self.transport,
        ) as client:
            setup = sessions.pop(SETUP, None)
            if setup:  # catalog and stock first, as fast as they answer, before the clock
                self._t0 = loop.time()
                await self._session(client, [(i, replace(r, t=0.0)) for i, r in setup])
            self._t0 = loop.time() + 0.2
            extra = [asyncio.create_task(t(self._t0, faults)) for t in side_tasks or []]
            mon = asyncio.create_task(self._monitor(monitor)) if monitor else None
            order = sorted(sessions.values(), key=lambda s: s[0][1].t)
            tasks: list[asyncio.Task[None]] = []
            for reqs in order:
                start = self._t0 + reqs[0][1].t / self.speed
                # spawn shortly before the start so that sleeping tasks stay few
                await self._sleep_until(start - 0.05)
                tasks.append(asyncio.create_task(self._session(client, reqs)))
            self.stats.scheduled = self.stats.total
            end_sched = self._t0 + (self.trace.duration_s / self.speed)
            await self._sleep_until(end_sched)
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=self.drain_s)
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            for t in extra:
                if not t.done():
                    await asyncio.wait([t], timeout=self.drain_s)
                    t.cancel()
            for res in await asyncio.gather(*extra, return_exceptions=True):
                if isinstance(res, Exception):  # a fault injector failed: say so in the report
                    faults.append(FaultWindow("side-task", 0.0, 0.0, f"failed: {res!r}"))
            if mon is not None:
                mon.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await mon
                self._snapshot()
                assert monitor is not None
                monitor(self.stats)
        self._outcomes.sort(key=lambda o: o.index)
        return ReplayResult(
            self._outcomes,
            dict(self._corrected),
            dict(self._uncorrected),
            faults,
            time.perf_counter() - wall0,
            self.speed,
            self.run_id,
        )

    # ---- internals -------------------------------------------------------------------------
    def _now(self) -> float:
        return asyncio.get_running_loop().time() - self._t0

    @staticmethod
    async def _sleep_until(when: float) -> None:
        delay = when - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    def _snapshot(self) -> None:
        self.stats.elapsed_s = self._now()

    async def _monitor(self, monitor: Monitor) -> None:
        while True:
            self._snapshot()
            monitor(self.stats)
            self.stats.recent_ms = []
            await asyncio.sleep(0.5)

    async def _session(
        self, client: httpx.AsyncClient, reqs: list[tuple[int, TraceRequest]]
    ) -> None:
        try:
            for i, req in reqs:
                sched = req.t / self.speed
                await self._sleep_until(self._t0 + sched)
                refs: dict[str, int | str] = {}
                missing = False
                for name in req.needs():
                    fut = self._refs.get(name)
                    value = await fut if fut is not None else None
                    if value is None:
                        missing = True
                        break
                    refs[name] = value
                if missing:
                    now = self._now()
                    self._record(
                        Outcome(
                            i,
                            req.op,
                            req.session,
                            req.key,
                            req.bot,
                            sched,
                            now,
                            now,
                            0,
                            "DEPENDENCY_FAILED",
                            0,
                            0,
                            (now - sched) * 1000,
                            0.0,
                        )
                    )
                    self._set_ref(req, None)
                    continue
                path, body = resolve(req, refs)
                out, value = await self._send(
                    client, i, req, path, body, resolve_headers(req, refs), sched
                )
                self._record(out)
                self._set_ref(req, value)
        except asyncio.CancelledError:
            # the drain ran out: whatever did not finish is counted as unanswered
            now = self._now()
            for i, req in reqs:
                if i not in self._done:
                    sched = req.t / self.speed
                    self._outcomes.append(
                        Outcome(
                            i,
                            req.op,
                            req.session,
                            req.key,
                            req.bot,
                            sched,
                            now,
                            now,
                            0,
                            "NO_ANSWER",
                            0,
                            0,
                            (now - sched) * 1000,
                            0.0,
                        )
                    )
                    self._set_ref(req, None)
            raise

    def _set_ref(self, req: TraceRequest, value: int | str | None) -> None:
        if req.sets:
            fut = self._refs.get(req.sets)
            if fut is not None and not fut.done():
                fut.set_result(value)

    def _record(self, out: Outcome) -> None:
        self._outcomes.append(out)
        self._done.add(out.index)
        self.stats.done += 1
        self.stats.codes[out.code] += 1
        if out.status:
            us = min(max(int(out.latency_ms * 1000), 1), HDR_MAX_US)
            self._corrected[out.op].record_value(us)
            us = min(max(int(out.service_ms * 1000), 1), HDR_MAX_US)
            self._uncorrected[out.op].record_value(us)
            if out.op == "checkout":
                self.stats.recent_ms.append(out.latency_ms)

    async def _send(
        self,
        client: httpx.AsyncClient,
        index: int,
        req: TraceRequest,
        path: str,
        body: object,
        extra_headers: dict[str, str],
        sched: float,
    ) -> tuple[Outcome, int | str | None]:
        """Send with retries (and, for a waiting room, polls); the outcome and the value the
        request ``sets`` (the answer's id, or an admission token), None on failure."""
        headers = {**self._headers[req.key], **extra_headers}
        if req.method == "POST":
            headers["Idempotency-Key"] = f"{self.run_id}:{req.idem or index}"
        content = None
        if body is not None:
            content = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        max_attempts = self.retry.bot_max_attempts if req.bot else self.retry.max_attempts
        first_send = -1.0
        n429 = 0
        attempt = 0
        sends = 0
        value: int | str | None = None
        assert self._slots is not None
        self.stats.in_flight += 1
        try:
            while True:
                attempt += 1
                status, code, entity, retry_after = 0, "", None, None
                send = self._now()
                try:
                    async with self._slots:
                        send = self._now()
                        if first_send < 0:
                            first_send = send
                        sends += 1
                        resp = await client.request(
                            req.method, path, content=content, headers=headers
                        )
                    status = resp.status_code
                    if status < 400:
                        code = "OK"
                        if req.poll:
                            admitted, token = _admission(resp.content)
                            if not admitted:
                                if self._now() - first_send < self.poll_max_s:
                                    ra = _retry_after(resp.headers.get("Retry-After"))
                                    pause = self.retry.bot_delay_s if req.bot else (ra or 1.0)
                                    await asyncio.sleep(pause)
                                    attempt -= 1  # a poll is not a failed attempt
                                    continue
                                code = "NOT_ADMITTED"
                            value = token
                        elif req.sets:
                            entity = _entity_id(resp.content)
                            value = entity
                    else:
                        code = _error_code(resp)
                        retry_after = _retry_after(resp.headers.get("Retry-After"))
                except httpx.TimeoutException:
                    code = "TIMEOUT"
                except httpx.TransportError:
                    code = "CONNECT_ERROR"
                n429 += status == 429
                retryable = (
                    status == 0 or status in RETRY_STATUSES or code == "IDEMPOTENCY_IN_PROGRESS"
                )
                if not retryable or attempt >= max_attempts:
                    end = self._now()
                    return Outcome(
                        index,
                        req.op,
                        req.session,
                        req.key,
                        req.bot,
                        sched,
                        first_send,
                        end,
                        status,
                        code,
                        sends,
                        n429,
                        (end - sched) * 1000,
                        (end - send) * 1000,
                        entity,
                        admitted=req.poll and code == "OK",
                    ), (value if code == "OK" else None)
                wait = self.retry.delay(attempt, retry_after, req.bot, float(self.rng.uniform()))
                await asyncio.sleep(wait)
        finally:
            self.stats.in_flight -= 1


def _entity_id(content: bytes) -> int | None:
    try:
        d = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    v = d.get("id") if isinstance(d, dict) else None
    return v if isinstance(v, int) else None


def _admission(content: bytes) -> tuple[bool, str | None]:
    """``(admitted, admission_token)`` of a waiting-room answer."""
    try:
        d = orjson.loads(content)
    except orjson.JSONDecodeError:
        return False, None
    if not isinstance(d, dict):
        return False, None
    tok = d.get("admission_token")
    return bool(d.get("admitted")), tok if isinstance(tok, str) else None


def _error_code(resp: httpx.Response) -> str:
    try:
        d = orjson.loads(resp.content)
        code = d.get("code") if isinstance(d, dict) else None
    except orjson.JSONDecodeError:
        code = None
    return str(code) if code else f"HTTP_{resp.status_code}"


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the delta-seconds form; an HTTP date is ignored)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
