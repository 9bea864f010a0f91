"""Robustness under load: a database that cannot give a connection is a typed, retryable 503
(never an untyped 500), and bootstrap keys can be stored by several workers at once."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from api_helpers import PEPPER, require_pg
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.exc import OperationalError

from api.app import create_app
from api.clock import ManualClock
from api.models import T
from api.payments import SimulatedGateway
from api.services.auth import Authenticator, ensure_keys, hash_token
from api.services.context import ServiceContext
from api.settings import BootstrapKey, Settings


def _settings() -> Settings:
    return Settings(
        mode="development", api_key_pepper=PEPPER, bootstrap_api_keys="", sweep_interval_seconds=0
    )


def _tiny_pool_engine(backend: str, tmp_path: Path) -> Engine:
    """One pooled connection, no overflow, 0.2 s pool timeout (no schema needed)."""
    url = f"sqlite:///{tmp_path / 'tiny.db'}" if backend == "sqlite" else require_pg()
    return create_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.2)


def _assert_503(resp: object) -> None:
    assert resp.status_code == 503, resp.text  # type: ignore[attr-defined]
    body = resp.json()  # type: ignore[attr-defined]
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == "SERVICE_UNAVAILABLE"
    assert resp.headers["Retry-After"] == "1"  # type: ignore[attr-defined]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_exhausted_connection_pool_is_a_typed_retryable_503(backend: str, tmp_path: Path) -> None:
    engine = _tiny_pool_engine(backend, tmp_path)
    env = ServiceContext(engine=engine, clock=ManualClock(), gateway=SimulatedGateway())
    app = create_app(_settings(), ctx=env)
    held = engine.connect()  # the only connection: every request times out waiting for the pool
    try:
        with TestClient(app, raise_server_exceptions=False) as http:
            resp = http.post("/v1/carts", json={"location": "W1"}, headers={"X-API-Key": "k"})
            _assert_503(resp)
            assert resp.json()["details"]["cause"] == "TimeoutError"
    finally:
        held.close()
        engine.dispose()


def test_connection_slots_exhausted_operational_error_is_a_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    app = create_app(
        _settings(),
        ctx=ServiceContext(engine=engine, clock=ManualClock(), gateway=SimulatedGateway()),
    )

    def slots_reserved(self: Authenticator, token: str | None) -> None:
        raise OperationalError("connect", {}, Exception("remaining connection slots are reserved"))

    monkeypatch.setattr(Authenticator, "authenticate", slots_reserved)
    with TestClient(app, raise_server_exceptions=False) as http:
        resp = http.get("/v1/orders", headers={"X-API-Key": "k"})
    _assert_503(resp)
    assert resp.json()["details"]["cause"] == "OperationalError"
    engine.dispose()


def test_bootstrap_keys_stored_by_concurrent_workers_without_unique_violation(
    engine: Engine,
) -> None:
    keys = [BootstrapKey(role="staff", token=f"boot-{uuid.uuid4().hex}") for _ in range(3)]
    keys.append(
        BootstrapKey(role="customer", token=f"boot-{uuid.uuid4().hex}", customer_id="c-boot")
    )
    added: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker() -> None:
        start.wait()
        try:
            added.append(ensure_keys(engine, ManualClock(), PEPPER, keys))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(added) == len(keys)  # each key stored by exactly one worker
    auth = Authenticator(engine, PEPPER)
    assert auth.authenticate(keys[-1].token).customer_id == "c-boot"
    k = T["api_keys"]
    with engine.connect() as conn:
        stored = conn.scalar(
            select(func.count())
            .select_from(k)
            .where(k.c.key_hash.in_([hash_token(PEPPER, x.token) for x in keys]))
        )
    assert stored == len(keys)
    assert ensure_keys(engine, ManualClock(), PEPPER, keys) == 0  # a restart adds nothing


def test_connection_budget_warns_when_workers_times_pool_exceeds_max_connections() -> None:
    url = require_pg()
    from api.db import connection_budget_warning

    assert connection_budget_warning(url, 1, 2) is None
    warning = connection_budget_warning(url, 64, 100)
    assert warning is not None and "6400" in warning and "max_connections" in warning
    assert connection_budget_warning("sqlite:///x.db", 64, 100) is None


def test_threadpool_defaults_to_the_pool_size_so_overflow_is_not_churned(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    settings = Settings(
        mode="development",
        api_key_pepper=PEPPER,
        bootstrap_api_keys="",
        sweep_interval_seconds=0,
        db_pool_size=7,
    )
    app = create_app(
        settings, ctx=ServiceContext(engine=engine, clock=ManualClock(), gateway=SimulatedGateway())
    )
    seen: list[float] = []

    @app.get("/probe")
    def probe() -> dict[str, str]:
        from anyio import from_thread, to_thread

        seen.append(
            from_thread.run_sync(lambda: to_thread.current_default_thread_limiter().total_tokens)
        )
        return {}

    with TestClient(app) as http:
        assert http.get("/probe").status_code == 200
    assert seen == [7]
    assert settings.connections_per_worker == 7 + settings.db_max_overflow
    engine.dispose()
