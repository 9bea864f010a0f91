"""Transactional outbox and webhooks: events commit with their order, signatures verify (and
tampered or stale ones do not), a receiver that was down gets every event once it is back, a
dispatcher killed mid-batch loses nothing, and a receiver applies each event at most once."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from api_helpers import PEPPER, free_port, fresh_engine, make_test_env, require_pg, seed
from sqlalchemy import Engine, select

from api.app import create_app
from api.client.base import CommerceError
from api.client.http import HttpClient
from api.client.inprocess import InProcessClient
from api.client.webhooks import (
    DedupLedger,
    WebhookSignatureError,
    sign,
    verify_signature,
)
from api.clock import ManualClock
from api.models import T
from api.schemas import Channel, CheckoutLine, CheckoutRequest
from api.services.context import Principal, ServiceContext
from api.settings import Settings
from api.webhooks import DispatchConfig, Dispatcher, Endpoint, event_body, parse_endpoints
from replay.receiver import WebhookReceiver

SECRET = "whsec-test-0123456789"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite and PostgreSQL; the PostgreSQL cases carry the ``postgres`` marker."""
    if request.param == "postgres":
        require_pg()
    return str(request.param)


# ---- signatures -----------------------------------------------------------------------------
def test_signature_verifies_and_returns_its_timestamp() -> None:
    body = b'{"id":"evt_1","type":"order.placed"}'
    header = sign(SECRET, body, 1_700_000_000)
    assert verify_signature(SECRET, body, header, now_s=1_700_000_010) == 1_700_000_000


@pytest.mark.parametrize(
    ("body", "header", "now", "reason"),
    [
        (
            b'{"id":"evt_1","total":9}',
            sign(SECRET, b'{"id":"evt_1","total":1}', 1000),
            1000,
            "mismatch",
        ),
        (b"{}", sign("another-secret-000000", b"{}", 1000), 1000, "mismatch"),
        (b"{}", sign(SECRET, b"{}", 1000), 1000 + 301, "stale"),
        (b"{}", sign(SECRET, b"{}", 1000), 1000 - 301, "stale"),
        (b"{}", None, 1000, "missing"),
        (b"{}", "v1=abc", 1000, "malformed"),
        (b"{}", "t=1000", 1000, "malformed"),
    ],
    ids=["tampered-body", "wrong-secret", "old", "future", "missing", "no-time", "no-mac"],
)
def test_tampered_stale_or_missing_signatures_are_refused(
    body: bytes, header: str | None, now: int, reason: str
) -> None:
    with pytest.raises(WebhookSignatureError) as err:
        verify_signature(SECRET, body, header, now_s=now)
    assert err.value.reason == reason


def test_a_rotated_secret_verifies_with_either_mac() -> None:
    body = b"{}"
    old, new = sign("old-secret-0000000000", body, 50), sign(SECRET, body, 50)
    both = f"{new},v1={old.split('v1=')[1]}"
    assert verify_signature("old-secret-0000000000", body, both, now_s=50) == 50


def test_dedup_ledger_applies_once_and_survives_a_restart(tmp_path: Path) -> None:
    effects: list[str] = []
    led = DedupLedger(tmp_path / "seen.sqlite")
    assert led.apply_once("evt_1", lambda: effects.append("a"))
    assert not led.apply_once("evt_1", lambda: effects.append("b"))
    led.close()
    again = DedupLedger(tmp_path / "seen.sqlite")
    assert not again.apply_once("evt_1", lambda: effects.append("c"))
    assert effects == ["a"]


def test_a_failing_effect_is_not_recorded_so_a_retry_applies_it() -> None:
    led = DedupLedger()

    def boom() -> None:
        raise RuntimeError("downstream failed")

    with pytest.raises(RuntimeError):
        led.apply_once("evt_9", boom)
    assert led.apply_once("evt_9", lambda: None)


def test_endpoint_spec_errors_name_the_entry() -> None:
    assert parse_endpoints("a=http://x/h, b=https://y") == (
        Endpoint("a", "http://x/h"),
        Endpoint("b", "https://y"),
    )
    for bad, word in [
        ("http://x", "name=url"),
        ("a=ftp://x", "ftp://x"),
        ("a=http://x,a=http://y", "twice"),
    ]:
        with pytest.raises(ValueError, match=word):
            parse_endpoints(bad)


# ---- outbox in the order's transaction -------------------------------------------------------
@pytest.fixture
def shop(backend: str, tmp_path: Path) -> Iterator[ServiceContext]:
    with fresh_engine(backend, tmp_path) as eng:
        yield make_test_env(eng, ManualClock())


def _events(engine: Engine) -> list[tuple[str, int, dict[str, object]]]:
    ev = T["outbox_events"]
    with engine.connect() as c:
        rows = c.execute(select(ev.c.kind, ev.c.aggregate_id, ev.c.payload).order_by(ev.c.id)).all()
    return [(k, a, json.loads(p)) for k, a, p in rows]


def _express(
    env: ServiceContext, customer: str, sku: str, loc: str, q: int = 1, token: str = "tok_ok"
) -> int:
    shopper = InProcessClient(env, Principal(role="customer", customer_id=customer))
    order = shopper.checkout(
        CheckoutRequest(
            lines=[CheckoutLine(sku=sku, quantity=q)],
            location=loc,
            channel=Channel.WEB,
            payment_token=token,
        )
    )
    return order.id


def test_order_events_commit_with_their_order_and_not_without(shop: ServiceContext) -> None:
    staff = InProcessClient(shop, Principal(role="staff", key_id=1))
    s = seed(staff, n_skus=2, stock=3, price_cents=500)
    oid = _express(shop, "c1", s.skus[0], s.location, q=2)
    with pytest.raises(CommerceError) as err:
        _express(shop, "c2", s.skus[0], s.location, q=2)  # only 1 left: no order, no event
    assert err.value.code == "INSUFFICIENT_STOCK"
    with pytest.raises(CommerceError):
        _express(shop, "c3", s.skus[1], s.location, token="tok_decline")
    staff.cancel_order(oid)
    got = _events(shop.engine)
    kinds = [(k, a) for k, a, _ in got]
    declined = got[2][1]
    assert kinds == [
        ("order.placed", oid),
        ("order.paid", oid),
        ("order.placed", declined),
        ("order.cancelled", declined),
        ("order.cancelled", oid),
        ("order.refunded", oid),
    ]
    placed = got[0][2]
    assert placed["customer_id"] == "c1" and placed["total_cents"] == 1000
    assert placed["lines"] == [{"sku": s.skus[0], "quantity": 2, "unit_price_cents": 500}]
    assert got[1][2] == {"order_id": oid, "status": "paid", "amount_cents": 1000}
    assert got[3][2]["reason"] == "declined" and got[4][2]["reason"] == "cancelled"
    assert got[5][2]["refunded_cents"] == 1000


# ---- delivery ---------------------------------------------------------------------------------
def _dispatcher(env: ServiceContext, url: str, **kw: object) -> Dispatcher:
    cfg = DispatchConfig(
        endpoints=(Endpoint("erp", url),),
        secret=SECRET,
        timeout_s=2.0,
        concurrency=4,
        **kw,  # type: ignore[arg-type]
    )
    return Dispatcher(env.engine, env.clock, cfg, rng=np.random.default_rng(7))


def _drain(d: Dispatcher, clock: ManualClock, passes: int = 50) -> None:
    for _ in range(passes):
        res = d.run_once()
        if res.claimed == 0 and res.fanned_out == 0:
            clock.advance(timedelta(seconds=400))  # past any backoff
            if d.run_once().claimed == 0:
                return


def _orders(env: ServiceContext, n: int) -> list[int]:
    staff = InProcessClient(env, Principal(role="staff", key_id=1))
    s = seed(staff, n_skus=1, stock=n)
    return [_express(env, f"c{i}", s.skus[0], s.location) for i in range(n)]


def test_a_receiver_that_was_down_gets_every_event_after_it_recovers(shop: ServiceContext) -> None:
    clock = shop.clock
    assert isinstance(clock, ManualClock)
    ids = _orders(shop, 6)
    with WebhookReceiver(SECRET) as rx:
        d = _dispatcher(shop, rx.url, max_attempts=20)
        rx.set_down(True)
        for _ in range(3):  # three failed rounds, each backing off
            assert d.run_once().retried == 12
            clock.advance(timedelta(seconds=400))
        assert rx.refused_while_down == 36 and rx.summary()["effects_applied"] == 0
        rx.set_down(False)
        _drain(d, clock)
        d.close()
        applied = sorted(rx.applied.values())
    assert applied == sorted([("order.placed", i) for i in ids] + [("order.paid", i) for i in ids])
    assert rx.summary()["duplicate_effects"] == 0 and rx.summary()["bad_signatures"] == 0


def test_backoff_grows_and_dead_letters_can_be_redriven(shop: ServiceContext) -> None:
    clock = shop.clock
    assert isinstance(clock, ManualClock)
    _orders(shop, 1)
    dl = T["webhook_deliveries"]
    port = free_port()  # nobody listens: connection refused
    d = _dispatcher(shop, f"http://127.0.0.1:{port}/h", max_attempts=3)
    waits = []
    for _ in range(3):
        t0 = clock.now()
        d.run_once()
        with shop.engine.connect() as c:
            nxt = c.scalar(select(dl.c.next_attempt_at).order_by(dl.c.id).limit(1))
        waits.append((nxt - t0).total_seconds())
        clock.advance(timedelta(seconds=400))
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0  # base 1 s, doubling, half jitter
    from api.webhooks import dead_letters, redrive, status

    assert status(shop.engine)["endpoints"]["erp"] == {"pending": 0, "delivered": 0, "dead": 2}
    dead = dead_letters(shop.engine)
    assert [x["kind"] for x in dead] == ["order.placed", "order.paid"]
    assert dead[0]["attempts"] == 3 and "Connect" in str(dead[0]["last_error"])
    d.close()
    with WebhookReceiver(SECRET, port=port) as rx:
        assert redrive(shop.engine, clock, ids=[dead[0]["delivery_id"]]) == 1
        d2 = _dispatcher(shop, rx.url, max_attempts=3)
        assert d2.run_once().delivered == 1
        assert redrive(shop.engine, clock) == 1
        assert d2.run_once().delivered == 1
        d2.close()
    assert status(shop.engine)["endpoints"]["erp"] == {"pending": 0, "delivered": 2, "dead": 0}


class _Crash(BaseException):
    """Stands for the process dying (kill -9): nothing after it runs."""


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_receivers_apply_once(
    shop: ServiceContext,
) -> None:
    clock = shop.clock
    assert isinstance(clock, ManualClock)
    ids = _orders(shop, 5)
    with WebhookReceiver(SECRET) as rx:
        d1 = _dispatcher(shop, rx.url, lease_s=30.0)
        d1.fan_out()
        batch = d1.claim()
        assert len(batch) == 10
        sent = 0
        with pytest.raises(_Crash):  # sends 4 of its 10, then dies before booking anything
            for c in batch:
                if sent == 4:
                    raise _Crash
                assert d1.send(c) is None
                sent += 1
        d1.close()
        d2 = _dispatcher(shop, rx.url, lease_s=30.0)
        assert d2.run_once().claimed == 0  # still leased by the dead dispatcher
        clock.advance(timedelta(seconds=31))  # the lease runs out
        assert d2.run_once().delivered == 10
        d2.close()
        summary = rx.summary()
    assert summary["deliveries_received"] == 14  # the 4 sent before the crash arrived twice
    assert summary["events_received"] == 10 and summary["effects_applied"] == 10
    assert summary["duplicate_effects"] == 0
    assert sorted(o for _, o in rx.applied.values()) == sorted(ids * 2)


def test_concurrent_dispatchers_share_the_work_without_double_claims(shop: ServiceContext) -> None:
    _orders(shop, 20)
    with WebhookReceiver(SECRET) as rx:
        ds = [_dispatcher(shop, rx.url, batch=5) for _ in range(3)]
        done = [0, 0, 0]

        def work(i: int) -> None:
            for _ in range(40):
                done[i] += ds[i].run_once().delivered

        threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for d in ds:
            d.close()
        summary = rx.summary()
    assert sum(done) == 40 and summary["deliveries_received"] == 40  # no event sent twice
    assert summary["effects_applied"] == 40


def test_body_carries_the_event_id_type_and_data(shop: ServiceContext) -> None:
    (oid,) = _orders(shop, 1)
    d = _dispatcher(shop, "http://127.0.0.1:9/h")
    d.fan_out()
    c = d.claim()[0]
    d.close()
    body = json.loads(event_body(c))
    assert body["id"] == f"evt_{c.event_id}" and body["type"] == "order.placed"
    assert body["data"]["order_id"] == oid


# ---- the API: dispatcher thread, staff routes ---------------------------------------------------
@contextmanager
def _serve(app: object) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.mark.slow
def test_the_api_delivers_order_events_from_its_own_dispatcher_thread(tmp_path: Path) -> None:
    with WebhookReceiver(SECRET) as rx:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'w.db'}",
            auto_create_schema=True,
            sweep_interval_seconds=0,
            api_key_pepper=PEPPER,
            bootstrap_api_keys="staff:staff-key-0123456789abc,customer:cust-key-0123456789abc:c9",
            webhook_endpoints=f"erp={rx.url}",
            webhook_secret=SECRET,
            webhook_poll_seconds=0.05,
        )
        with _serve(create_app(settings)) as url:
            staff_h = {"X-API-Key": "staff-key-0123456789abc"}
            cust_h = {"X-API-Key": "cust-key-0123456789abc"}
            with HttpClient(url, "staff-key-0123456789abc") as staff:
                s = seed(staff, n_skus=1, stock=5)
            r = httpx.post(
                f"{url}/v1/checkout",
                json={
                    "lines": [{"sku": s.skus[0], "quantity": 1}],
                    "location": s.location,
                    "channel": "web",
                },
                headers=cust_h,
            )
            assert r.status_code == 201, r.text
            oid = r.json()["id"]
            deadline = time.monotonic() + 10
            while len(rx.applied) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sorted(rx.applied.values()) == [("order.paid", oid), ("order.placed", oid)]
            st = httpx.get(f"{url}/v1/webhooks/status", headers=staff_h).json()
            assert st == {
                "events": 2,
                "not_fanned_out": 0,
                "endpoints": {"erp": {"pending": 0, "delivered": 2, "dead": 0}},
            }
            assert httpx.get(f"{url}/v1/webhooks/status", headers=cust_h).status_code == 403
            assert httpx.get(f"{url}/v1/webhooks/dead-letters", headers=staff_h).json() == []
            redo = httpx.post(f"{url}/v1/webhooks/dead-letters/redrive", json={}, headers=staff_h)
            assert redo.json() == {"redriven": 0}


def test_production_settings_refuse_the_default_webhook_secret() -> None:
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        Settings(
            mode="production",
            api_key_pepper="p" * 32,
            bootstrap_api_keys="",
            webhook_endpoints="erp=http://127.0.0.1:1/h",
        )
