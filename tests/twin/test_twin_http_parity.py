"""HTTP mode against a running server on PostgreSQL gives the in-process results.

Needs ``SHOPSPHERE_TEST_PG_URL`` (``scripts/test.sh`` sets it); skipped without it locally,
failed under ``CI=true``. The server runs in a thread on its own fresh PostgreSQL schema, with
the same kind of injected clock the twin moves in in-process mode (development mode only).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from twin_helpers import clock_for, small_baseline

from api.clock import ManualClock

pytestmark = pytest.mark.postgres

PEPPER = "twin-test-pepper-0123456789"


def _pg_url() -> str:
    url = os.environ.get("SHOPSPHERE_TEST_PG_URL")
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but SHOPSPHERE_TEST_PG_URL is not set: PostgreSQL tests cannot run")
    pytest.skip("PostgreSQL not configured (set SHOPSPHERE_TEST_PG_URL or run scripts/test.sh)")


@contextmanager
def served_on_postgres(clock: ManualClock) -> Iterator[tuple[str, str]]:
    """``shopsphere serve``'s app on a fresh PostgreSQL schema; yields (base URL, service key)."""
    import uvicorn

    from api.app import create_app
    from api.client.inprocess import make_context
    from api.db import make_engine, upgrade_schema
    from api.services.auth import create_api_key
    from api.settings import Settings

    url = _pg_url()
    schema = f"twin_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(url, pg_schema=schema)
    try:
        upgrade_schema(engine)
        env = make_context(url, clock, migrate=False)
        env.engine.dispose()
        env.engine = engine
        app = create_app(
            Settings(
                mode="development",
                api_key_pepper=PEPPER,
                bootstrap_api_keys="",
                sweep_interval_seconds=0,
            ),
            ctx=env,
        )
        key = create_api_key(engine, clock, PEPPER, "service")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}", key
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_http_mode_on_postgres_gives_the_in_process_results() -> None:
    from api.client.http import HttpClient
    from api.client.inprocess import InProcessClient
    from twin.reconcile import reconcile_stock
    from twin.runner import run_scenario

    sc = small_baseline(days=3, n_skus=16, population=150)
    clock = clock_for(sc)
    local = InProcessClient.for_sqlite(":memory:", clock)
    try:
        a = run_scenario(sc, write=False, client=local, clock=clock)
    finally:
        local.close()
    clock = clock_for(sc)
    with served_on_postgres(clock) as (base_url, key):
        http = HttpClient(base_url, key, timeout_s=60)
        try:
            b = run_scenario(sc, write=False, client=http, clock=clock)
            assert reconcile_stock(b.result, http).ok
        finally:
            http.close()
    assert b.kpis["online_orders"] > 0 and b.kpis["units_sold"] > 0
    assert b.result.kpis_digest == a.result.kpis_digest
    assert b.result.events_digest == a.result.events_digest
