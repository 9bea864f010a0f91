"""Load generator of ``benchmarks/checkout.py``: concurrent shoppers over loopback HTTP.

:func:`run_load` is the entry point of the separate load process. It runs ``concurrency``
asyncio tasks, each a shopper with one keep-alive connection that repeats the real flow
``POST /v1/carts`` -> ``PUT /v1/carts/{id}/lines`` -> ``POST /v1/checkout`` with a customer key,
for ``warmup_s`` (not measured) plus ``duration_s`` (the timed window). After the window no new
flow starts; flows in flight finish so that the database is left consistent. Latencies are in
milliseconds, measured in this process from sending the request to the end of the response.

Two HTTP clients: ``httpx`` (``httpx.AsyncClient``, one per shopper) and ``raw`` (a minimal
HTTP/1.1 keep-alive client on asyncio streams, about 5x cheaper per request on the client side,
so that the load generator takes less of the two cores from the server it measures).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import numpy as np

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """What the load process does. Durations in seconds."""

    host: str
    port: int
    customer_keys: tuple[str, ...]
    location: str
    skus: tuple[str, ...]
    hot_sku: str
    hot_share: float  # probability that a flow buys the hot SKU
    max_qty: int  # quantity per line is uniform on 1..max_qty (the hot SKU: always 1)
    concurrency: int
    warmup_s: float
    duration_s: float
    client: str  # "raw" | "httpx"
    idempotency: str  # "none" | "checkout" | "all"
    seed: int
    run_tag: str  # makes idempotency keys unique across runs
    server_pid: int  # for the CPU breakdown (its process tree)
    db_name: str  # PostgreSQL backends of this database count as "postgres (ours)"
    flow: str = "cart"  # "cart": cart -> line -> checkout; "express": one POST /v1/checkout


@dataclass(slots=True)
class LoadResult:
    """What one run measured. ``*_ms`` lists hold one sample per request completed in the window."""

    window_s: float = 0.0
    checkouts_in_window: int = 0
    flows_in_window: int = 0
    checkout_ms: list[float] = field(default_factory=list)
    flow_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)  # "step status CODE" -> count (whole run)
    paid_orders: int = 0  # whole run, warm-up and drain included
    paid_units: Counter[str] = field(default_factory=Counter)  # SKU -> units in paid orders
    dangling_carts: list[int] = field(default_factory=list)  # may hold stock without an order
    cpu_s: dict[str, float] = field(default_factory=dict)  # component -> CPU seconds in window
    loadgen_cpu_s: float = 0.0


class Transport(Protocol):
    async def send(
        self, method: str, path: str, key: str, body: bytes | None, idem: str | None
    ) -> tuple[int, bytes]: ...

    async def close(self) -> None: ...


class RawTransport:
    """One HTTP/1.1 keep-alive connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._r: asyncio.StreamReader | None = None
        self._w: asyncio.StreamWriter | None = None

    async def send(
        self, method: str, path: str, key: str, body: bytes | None, idem: str | None
    ) -> tuple[int, bytes]:
        if self._w is None:
            self._r, self._w = await asyncio.open_connection(self._host, self._port)
        assert self._r is not None
        payload = body or b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        )
        if idem:
            head += f"Idempotency-Key: {idem}\r\n"
        self._w.write(head.encode() + b"\r\n" + payload)
        raw = await self._r.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, close = 0, False
        for h in lines[1:]:
            name, _, value = h.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise RuntimeError("chunked responses are not supported by the raw client")
        data = await self._r.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, data

    async def close(self) -> None:
        if self._w is not None:
            self._w.close()
            self._w = None


class HttpxTransport:
    """``httpx.AsyncClient`` holding one keep-alive connection."""

    def __init__(self, host: str, port: int) -> None:
        self._url = f"http://{host}:{port}"
        self._c: httpx.AsyncClient | None = None

    async def send(
        self, method: str, path: str, key: str, body: bytes | None, idem: str | None
    ) -> tuple[int, bytes]:
        if self._c is None:
            self._c = httpx.AsyncClient(
                base_url=self._url,
                timeout=60.0,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
        headers = {"X-API-Key": key, "Content-Type": "application/json"}
        if idem:
            headers["Idempotency-Key"] = idem
        r = await self._c.request(method, path, content=body, headers=headers)
        return r.status_code, r.content

    async def close(self) -> None:
        if self._c is not None:
            await self._c.aclose()
            self._c = None


def cpu_snapshot(server_pid: int, db_name: str) -> dict[str, Any]:
    """CPU seconds used so far per process of the server's tree and per PostgreSQL backend of
    ``db_name`` (``{"server": {pid: s}, "postgres": {pid: s}}``), and by the whole machine
    (``"machine_busy"``, from ``/proc/stat``: every process, kernel included)."""
    parent: dict[int, int] = {}
    times: dict[int, float] = {}
    ours: set[int] = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        rest = st[st.rfind(")") + 2 :].split()
        pid = int(d)
        parent[pid] = int(rest[1])
        times[pid] = (int(rest[11]) + int(rest[12])) / _TICK
        if cmd.startswith("postgres") and f" {db_name} " in cmd:
            ours.add(pid)
    server: dict[int, float] = {}
    for pid, t in times.items():
        p = pid
        while p > 1 and p != server_pid:
            p = parent.get(p, 1)
        if p == server_pid:
            server[pid] = t
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    return {
        "server": server,
        "postgres": {pid: times[pid] for pid in ours},
        "machine_busy": (sum(cpu) - cpu[3] - cpu[4]) / _TICK,
    }  # minus idle and iowait


def cpu_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """CPU seconds between two snapshots per component. A process that ended in between is
    missing from ``after`` and its share is lost (an underestimate, never negative)."""
    out = {
        k: sum(t - before[k].get(pid, 0.0) for pid, t in after[k].items())
        for k in ("server", "postgres")
    }
    out["machine_busy"] = after["machine_busy"] - before["machine_busy"]
    return out


class _Run:
    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        self.res = LoadResult()
        now = time.perf_counter()
        self.t_start = now + plan.warmup_s
        self.t_end = self.t_start + plan.duration_s
        self.hot_units = 0

    def _count(self, step: str, status: int, body: bytes) -> None:
        code = "-"
        with contextlib.suppress(ValueError, AttributeError):
            code = str(json.loads(body).get("code", "-"))
        self.res.errors[f"{step} {status} {code}"] += 1

    async def shopper(self, idx: int, rng: np.random.Generator) -> None:
        p = self.plan
        t: Transport = (
            RawTransport(p.host, p.port) if p.client == "raw" else HttpxTransport(p.host, p.port)
        )
        key = p.customer_keys[idx % len(p.customer_keys)]
        cart_body = json.dumps({"channel": "web", "location": p.location}).encode()
        express = p.flow == "express"
        n = 0
        try:
            while time.perf_counter() < self.t_end:
                n += 1
                tag = f"{p.run_tag}-{idx}-{n}"
                hot = rng.random() < p.hot_share
                sku = p.hot_sku if hot else p.skus[int(rng.integers(len(p.skus)))]
                qty = 1 if hot else int(rng.integers(1, p.max_qty + 1))
                if express:
                    await self._express(t, key, tag, sku, qty)
                else:
                    await self._flow(t, key, tag, cart_body, sku, qty)
        finally:
            await t.close()

    async def _flow(
        self, t: Transport, key: str, tag: str, cart_body: bytes, sku: str, qty: int
    ) -> None:
        p, res = self.plan, self.res
        idem_all = p.idempotency == "all"
        t0 = time.perf_counter()
        cart_id = 0
        try:
            st, body = await t.send(
                "POST", "/v1/carts", key, cart_body, f"{tag}-c" if idem_all else None
            )
            if st != 201:
                self._count("create_cart", st, body)
                return
            cart_id = int(json.loads(body)["id"])
            line = json.dumps({"sku": sku, "quantity": qty}).encode()
            st, body = await t.send("PUT", f"/v1/carts/{cart_id}/lines", key, line, None)
            if st != 200:
                self._count("set_line", st, body)
                return
            out = json.dumps({"cart_id": cart_id, "payment_token": "tok_ok"}).encode()
            t1 = time.perf_counter()
            st, body = await t.send(
                "POST", "/v1/checkout", key, out, f"{tag}-k" if p.idempotency != "none" else None
            )
            t2 = time.perf_counter()
        except (
            OSError,
            asyncio.IncompleteReadError,
            RuntimeError,
            ValueError,
            httpx.HTTPError,
        ) as exc:
            res.errors[f"transport - {type(exc).__name__}"] += 1
            if cart_id:  # the server may have reserved stock for it: the verification looks
                res.dangling_carts.append(cart_id)
            await t.close()
            return
        if st != 201:
            self._count("checkout", st, body)
            res.dangling_carts.append(cart_id)
            return
        order = json.loads(body)
        if order.get("status") != "paid":
            res.errors[f"checkout 201 status={order.get('status')}"] += 1
            return
        res.paid_orders += 1
        for ln in order["lines"]:
            res.paid_units[ln["sku"]] += int(ln["quantity"])
        if self.t_start <= t2 <= self.t_end:
            res.checkouts_in_window += 1
            res.flows_in_window += 1
            res.checkout_ms.append((t2 - t1) * 1000)
            res.flow_ms.append((t2 - t0) * 1000)

    async def _express(self, t: Transport, key: str, tag: str, sku: str, qty: int) -> None:
        """One request: ``POST /v1/checkout`` with the line inline (no cart)."""
        p, res = self.plan, self.res
        body = json.dumps(
            {
                "lines": [{"sku": sku, "quantity": qty}],
                "location": p.location,
                "channel": "web",
                "payment_token": "tok_ok",
            }
        ).encode()
        t1 = time.perf_counter()
        try:
            st, out = await t.send(
                "POST", "/v1/checkout", key, body, f"{tag}-x" if p.idempotency != "none" else None
            )
        except (
            OSError,
            asyncio.IncompleteReadError,
            RuntimeError,
            ValueError,
            httpx.HTTPError,
        ) as exc:
            res.errors[f"transport - {type(exc).__name__}"] += 1
            await t.close()
            return
        t2 = time.perf_counter()
        if st != 201:
            self._count("checkout", st, out)
            return
        order = json.loads(out)
        if order.get("status") != "paid":
            res.errors[f"checkout 201 status={order.get('status')}"] += 1
            return
        res.paid_orders += 1
        for ln in order["lines"]:
            res.paid_units[ln["sku"]] += int(ln["quantity"])
        if self.t_start <= t2 <= self.t_end:
            res.checkouts_in_window += 1
            res.flows_in_window += 1
            res.checkout_ms.append((t2 - t1) * 1000)
            res.flow_ms.append((t2 - t1) * 1000)

    async def main(self) -> LoadResult:
        p = self.plan
        seeds = np.random.SeedSequence(p.seed).spawn(p.concurrency)
        tasks = [
            asyncio.create_task(self.shopper(i, np.random.default_rng(s)))
            for i, s in enumerate(seeds)
        ]
        await asyncio.sleep(max(0.0, self.t_start - time.perf_counter()))
        cpu0, own0 = cpu_snapshot(p.server_pid, p.db_name), time.process_time()
        await asyncio.sleep(max(0.0, self.t_end - time.perf_counter()))
        cpu1, own1 = cpu_snapshot(p.server_pid, p.db_name), time.process_time()
        self.res.window_s = p.duration_s
        self.res.loadgen_cpu_s = own1 - own0
        self.res.cpu_s = cpu_delta(cpu0, cpu1)
        await asyncio.gather(*tasks)
        return self.res


def run_load(plan: LoadPlan, out: Any) -> None:
    """Process entry point: run ``plan`` and put the :class:`LoadResult` on queue ``out``."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional
        out.put(asyncio.run(_Run(plan).main()))
    else:
        out.put(uvloop.run(_Run(plan).main()))


# ---- the bare-PostgreSQL ceiling -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CeilingPlan:
    """Threads doing, with psycopg and nothing else, what an express checkout writes: one
    transaction of conditional decrement (reserve) + order + line + payment insert."""

    dsn: str  # libpq DSN (postgresql://...)
    location_id: int
    sku_ids: tuple[int, ...]
    concurrency: int
    warmup_s: float
    duration_s: float
    seed: int
    db_name: str


def _ceiling_thread(
    plan: CeilingPlan, idx: int, t_start: float, t_end: float, out: list[float]
) -> None:
    import psycopg

    rng = np.random.default_rng([plan.seed, idx])
    with psycopg.connect(plan.dsn, prepare_threshold=0) as conn:
        while time.perf_counter() < t_end:
            sku = plan.sku_ids[int(rng.integers(len(plan.sku_ids)))]
            qty = int(rng.integers(1, 4))
            t0 = time.perf_counter()
            with conn.transaction():
                got = conn.execute(
                    "UPDATE stock SET reserved = reserved + %s "
                    "WHERE sku_id = %s AND location_id = %s AND on_hand - reserved >= %s "
                    "RETURNING sku_id",
                    (qty, sku, plan.location_id, qty),
                ).fetchone()
                if got is None:
                    continue
                oid = conn.execute(
                    "INSERT INTO orders (customer_id, channel, location_id, status, total_cents,"
                    " created_at, updated_at) VALUES (%s, 'web', %s, 'paid', %s, now(), now())"
                    " RETURNING id",
                    (f"ceil-{idx}", plan.location_id, qty * 1000),
                ).fetchone()[0]  # type: ignore[index]
                conn.execute(
                    "INSERT INTO order_lines (order_id, sku_id, quantity, unit_price_cents,"
                    " returned_qty) VALUES (%s, %s, %s, 1000, 0)",
                    (oid, sku, qty),
                )
                conn.execute(
                    "INSERT INTO payments (order_id, amount_cents, authorized_cents, "
                    "captured_cents, refunded_cents, status) "
                    "VALUES (%s, %s, %s, %s, 0, 'captured')",
                    (oid, qty * 1000, qty * 1000, qty * 1000),
                )
            t1 = time.perf_counter()
            if t_start <= t1 <= t_end:
                out.append((t1 - t0) * 1000)


def run_ceiling(plan: CeilingPlan, out: Any) -> None:
    """Process entry point: put ``(orders in window, latencies ms, cpu seconds by component)``."""
    import threading

    t_start = time.perf_counter() + plan.warmup_s
    t_end = t_start + plan.duration_s
    lat: list[list[float]] = [[] for _ in range(plan.concurrency)]
    threads = [
        threading.Thread(target=_ceiling_thread, args=(plan, i, t_start, t_end, lat[i]))
        for i in range(plan.concurrency)
    ]
    for th in threads:
        th.start()
    time.sleep(max(0.0, t_start - time.perf_counter()))
    cpu0, own0 = cpu_snapshot(os.getpid(), plan.db_name), time.process_time()
    time.sleep(max(0.0, t_end - time.perf_counter()))
    cpu1, own1 = cpu_snapshot(os.getpid(), plan.db_name), time.process_time()
    for th in threads:
        th.join()
    cpu = cpu_delta(cpu0, cpu1)
    cpu["server"] = 0.0
    cpu["loadgen"] = own1 - own0
    out.put(([x for xs in lat for x in xs], cpu))
