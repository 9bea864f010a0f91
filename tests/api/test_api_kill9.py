"""``kill -9`` of a real server mid-load (PostgreSQL): nothing acknowledged is lost, no key is
stuck after its lease, no order is left pending after reconciliation, the ledger reconciles.

The server runs as a subprocess (``shopsphere serve``) with the simulated gateway keeping its
charges in a file, as a remote gateway would across our crash. Load threads send express and
cart checkouts under ``Idempotency-Key``; the server is killed with SIGKILL three times and
restarted. Every request whose answer was lost is then retried with its key and body until it
gets a definitive answer; ``shopsphere payments reconcile`` resolves what remains.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from api_helpers import ServerProcess, free_port
from sqlalchemy import text

from api.db import make_engine
from api.services.stock import ledger_mismatches

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]
STAFF = "staff-kill9-token-0123456789"
CUST = "cust-kill9-token-0123456789"
LEASE_S = 2.0
N_SKUS = 6
_RETRY = {"IDEMPOTENCY_IN_PROGRESS", "PAYMENT_TIMEOUT", "SERVICE_UNAVAILABLE"}
STOCK = 60


def test_kill9_mid_load_loses_nothing_acknowledged_and_leaves_nothing_stuck(
    pg_schema_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SHOPSPHERE_DATABASE_URL": pg_schema_url,
        "SHOPSPHERE_MODE": "development",
        "SHOPSPHERE_BOOTSTRAP_API_KEYS": f"staff:{STAFF},customer:{CUST}:c-k9",
        "SHOPSPHERE_SIM_GATEWAY_PATH": str(tmp_path / "gateway.db"),
        "SHOPSPHERE_PAYMENT_LATENCY_MS": "15",
        "SHOPSPHERE_IDEMPOTENCY_LEASE_SECONDS": str(LEASE_S),
        "SHOPSPHERE_IDEMPOTENCY_WAIT_SECONDS": "0.5",
        "SHOPSPHERE_PAYMENT_GRACE_SECONDS": "3",
        "SHOPSPHERE_SWEEP_INTERVAL_SECONDS": "1",
        "SHOPSPHERE_DB_POOL_SIZE": "8",
    }
    server = ServerProcess(env, free_port(), tmp_path / "server.log")
    server.start()
    try:
        _run(server, env)
    finally:
        server.stop()


def _run(server: ServerProcess, env: dict[str, str]) -> None:
    staff = httpx.Client(base_url=server.url, headers={"X-API-Key": STAFF}, timeout=30)
    skus = [f"K9-{i}" for i in range(N_SKUS)]
    rows = [
        {
            "sku": s,
            "product": f"K9P-{i}",
            "name": s,
            "category": "K9C",
            "cost_cents": 100,
            "list_price_cents": 250 + i,
        }
        for i, s in enumerate(skus)
    ]
    assert staff.post("/v1/skus/import", json=rows).status_code == 200
    loc = {"code": "K9-W", "kind": "warehouse", "name": "W", "lat": 0, "lon": 0}
    assert staff.post("/v1/locations", json=loc).status_code == 201
    receipt = {"location": "K9-W", "lines": [{"sku": s, "quantity": STOCK} for s in skus]}
    assert staff.post("/v1/stock/receipts", json=receipt).status_code == 201

    acked: dict[str, int] = {}  # key -> order id answered 201
    refused: dict[str, str] = {}  # key -> typed error code
    lost: dict[str, dict[str, object]] = {}  # key -> body whose answer never came
    ever_lost: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def body_for(n: int, cust: httpx.Client) -> dict[str, object]:
        sku_a, sku_b = skus[n % N_SKUS], skus[(n * 7 + 3) % N_SKUS]
        token = "tok_lost_answer" if n % 13 == 0 else "tok_ok"
        if n % 3 == 0:  # cart flow: the cart is made first, the checkout is what gets killed
            try:
                cart = cust.post("/v1/carts", json={"channel": "web", "location": "K9-W"})
                cid = cart.json()["id"]
                line = cust.put(f"/v1/carts/{cid}/lines", json={"sku": sku_a, "quantity": 1})
                if line.status_code != 200:
                    return {}
            except (httpx.HTTPError, KeyError, ValueError):
                return {}
            return {"cart_id": cid, "payment_token": token}
        lines = [{"sku": sku_a, "quantity": 1}]
        if sku_b != sku_a:
            lines.append({"sku": sku_b, "quantity": 1})
        return {"lines": lines, "location": "K9-W", "channel": "app", "payment_token": token}

    def record(key: str, body: dict[str, object], resp: httpx.Response | None) -> None:
        with lock:
            code = resp.json().get("code") if resp is not None and resp.status_code >= 400 else None
            # not definitive: no answer, still in progress, or a timeout a retry resumes
            if resp is None or resp.status_code >= 500 or code in _RETRY:
                lost[key] = body
                ever_lost.add(key)
            elif resp.status_code == 201:
                acked[key] = int(resp.json()["id"])
                lost.pop(key, None)
            else:
                refused[key] = str(resp.json()["code"])
                lost.pop(key, None)

    def load(worker: int) -> None:
        cust = httpx.Client(base_url=server.url, headers={"X-API-Key": CUST}, timeout=30)
        n = worker
        while not stop.is_set():
            n += 8
            body = body_for(n, cust)
            if not body:
                time.sleep(0.05)
                continue
            key = f"k9-{n}"
            try:
                resp: httpx.Response | None = cust.post(
                    "/v1/checkout", json=body, headers={"Idempotency-Key": key}
                )
            except httpx.HTTPError:
                resp = None
                time.sleep(0.2)  # the server is down: wait for it
            record(key, body, resp)

    threads = [threading.Thread(target=load, args=(w,), daemon=True) for w in range(8)]
    for t in threads:
        t.start()
    kills = 0
    for _ in range(3):
        time.sleep(2.0)
        server.kill9()
        kills += 1
        server.start()
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert kills == 3
    assert len(acked) > 50, (len(acked), len(refused), len(lost))

    # every lost answer: retry with the same key and body until it is definitive
    cust = httpx.Client(base_url=server.url, headers={"X-API-Key": CUST}, timeout=30)
    deadline = time.monotonic() + 60
    while lost and time.monotonic() < deadline:
        time.sleep(LEASE_S / 2)
        for key, body in list(lost.items()):
            with contextlib.suppress(httpx.HTTPError):
                record(
                    key,
                    body,
                    cust.post("/v1/checkout", json=body, headers={"Idempotency-Key": key}),
                )
    resumed = ever_lost & set(acked)
    assert resumed, "no interrupted checkout was resumed: the kills hit nothing"
    assert not lost, f"{len(lost)} checkouts never got a definitive answer: {list(lost)[:5]}"
    assert set(refused.values()) <= {"INSUFFICIENT_STOCK", "ORDER_NOT_PAID"}

    # reconcile what is left pending (orders whose payment timed out and nobody retried)
    time.sleep(3.2)  # the payment grace
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "shopsphere_cli.main",
            "payments",
            "reconcile",
            "--grace-seconds",
            "0",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]

    engine = make_engine(env["SHOPSPHERE_DATABASE_URL"], pool_size=1)
    try:
        with engine.connect() as conn:
            statuses = dict(conn.execute(text("SELECT id, status FROM orders")).all())
            for key, oid in acked.items():
                assert statuses.get(oid) == "paid", (key, oid, statuses.get(oid))
            assert "placed" not in statuses.values()
            stuck = conn.execute(
                text(
                    "SELECT k.key, k.lease_until, k.resource_id, o.status FROM idempotency_keys k "
                    "LEFT JOIN orders o ON o.id = k.resource_id WHERE NOT k.completed"
                )
            ).all()
            answers = {
                k: ("201", acked.get(k)) if k in acked else refused.get(k) for k, *_ in stuck
            }
            assert stuck == [], (stuck, answers)
            assert ledger_mismatches(conn) == []
            # stock held = units of paid orders and of open carts; nothing oversold
            held: dict[int, int] = {}
            for q in (
                "SELECT ol.sku_id, sum(ol.quantity) FROM order_lines ol JOIN orders o "
                "ON o.id = ol.order_id WHERE o.status = 'paid' GROUP BY ol.sku_id",
                "SELECT cl.sku_id, sum(cl.reserved_qty) FROM cart_lines cl JOIN carts c "
                "ON c.id = cl.cart_id WHERE c.status = 'open' GROUP BY cl.sku_id",
            ):
                for sku_id, n in conn.execute(text(q)):
                    held[sku_id] = held.get(sku_id, 0) + int(n)
            for sku_id, on_hand, reserved in conn.execute(
                text("SELECT sku_id, on_hand, reserved FROM stock")
            ):
                assert on_hand == STOCK and reserved == held.get(sku_id, 0) <= STOCK
            # the gateway charged each paid order once, for its total
            paid_total = conn.execute(
                text(
                    "SELECT coalesce(sum(captured_cents - refunded_cents), 0) FROM payments p "
                    "JOIN orders o ON o.id = p.order_id WHERE o.status = 'paid'"
                )
            ).scalar_one()
            order_total = conn.execute(
                text("SELECT coalesce(sum(total_cents), 0) FROM orders WHERE status = 'paid'")
            ).scalar_one()
            assert paid_total == order_total
            conn.rollback()
    finally:
        engine.dispose()
