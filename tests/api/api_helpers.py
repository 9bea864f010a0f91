"""Helpers and fixtures for the commerce API tests, parametrized over SQLite and PostgreSQL.

PostgreSQL runs when ``SHOPSPHERE_TEST_PG_URL`` is set (``scripts/test.sh`` sets it); without
it the PostgreSQL cases are skipped locally and *fail* under ``CI=true``. Each test module gets
a fresh database: a temporary SQLite file, or its own PostgreSQL schema, migrated with Alembic.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, create_engine, text

from api.app import create_app
from api.client.http import HttpClient
from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.db import make_engine, upgrade_schema
from api.payments import SimulatedGateway
from api.schemas import LocationCreate, LocationKind, ReceiptCreate, SkuImportRow, StockLine
from api.services.auth import create_api_key
from api.services.context import Principal, ServiceContext
from api.settings import Settings

PG_URL = os.environ.get("SHOPSPHERE_TEST_PG_URL")
PEPPER = "test-pepper-0123456789"
REPO = Path(__file__).resolve().parents[2]


def require_pg() -> str:
    if PG_URL:
        return PG_URL
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but SHOPSPHERE_TEST_PG_URL is not set: PostgreSQL tests cannot run")
    pytest.skip("PostgreSQL not configured (set SHOPSPHERE_TEST_PG_URL or run scripts/test.sh)")


@contextmanager
def fresh_engine(backend: str, tmp_dir: Path) -> Iterator[Engine]:
    """A migrated, empty database for ``backend`` ("sqlite" or "postgres"), removed afterwards."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_dir / f'shop-{uuid.uuid4().hex[:8]}.db'}")
        upgrade_schema(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    url = require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(
        url, pool_size=12, max_overflow=8, pg_schema=schema, pg_synchronous_commit=False
    )
    try:
        upgrade_schema(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        require_pg()
    return str(request.param)


@pytest.fixture(scope="module")
def engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with fresh_engine(backend, tmp_path_factory.mktemp("db")) as eng:
        yield eng


def make_test_env(engine: Engine, clock: ManualClock | None = None) -> ServiceContext:
    from datetime import timedelta

    return ServiceContext(
        engine=engine,
        clock=clock or ManualClock(),
        gateway=SimulatedGateway(),
        reservation_ttl=timedelta(seconds=900),
        unpaid_order_ttl=timedelta(seconds=1800),
        idempotency_wait_s=10.0,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def env(engine: Engine, clock: ManualClock) -> ServiceContext:
    return make_test_env(engine, clock)


@pytest.fixture
def staff(env: ServiceContext) -> InProcessClient:
    return InProcessClient(env, Principal(role="staff", key_id=1))


@dataclass(frozen=True, slots=True)
class Seed:
    prefix: str
    skus: list[str]
    location: str


def seed(
    client: InProcessClient | HttpClient,
    *,
    n_skus: int = 3,
    stock: int = 10,
    price_cents: int = 1000,
) -> Seed:
    """Unique SKUs (``<prefix>-S<i>``, list price ``price_cents + i``) and a warehouse holding
    ``stock`` units of each."""
    p = uuid.uuid4().hex[:8]
    rows = [
        SkuImportRow(
            sku=f"{p}-S{i}",
            product=f"{p}-P{i}",
            name=f"Item {i} of {p}",
            category=f"{p}-C",
            cost_cents=price_cents // 2,
            list_price_cents=price_cents + i,
        )
        for i in range(n_skus)
    ]
    client.import_skus(rows)
    loc = f"{p}-W"
    client.create_location(
        LocationCreate(code=loc, kind=LocationKind.WAREHOUSE, name="Warehouse", lat=52.5, lon=13.4)
    )
    if stock:
        client.receive(
            ReceiptCreate(location=loc, lines=[StockLine(sku=r.sku, quantity=stock) for r in rows])
        )
    return Seed(prefix=p, skus=[r.sku for r in rows], location=loc)


class ServerThread:
    """uvicorn on 127.0.0.1 and a random free port, in a daemon thread."""

    def __init__(self, env: ServiceContext) -> None:
        settings = Settings(
            mode="development",
            api_key_pepper=PEPPER,
            bootstrap_api_keys="",
            sweep_interval_seconds=0,
        )
        self.env = env
        self.app = create_app(settings, ctx=env)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                log_level="warning",
                lifespan="on",
                access_log=False,
                backlog=512,
                timeout_keep_alive=600,
            )
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def client(self, role: str, customer_id: str | None = None) -> HttpClient:
        token = create_api_key(self.env.engine, self.env.clock, PEPPER, role, customer_id)
        return HttpClient(self.url, token, timeout_s=60)


@pytest.fixture
def server(env: ServiceContext) -> Iterator[ServerThread]:
    with ServerThread(env) as srv:
        yield srv


ClientFactory = Callable[[str, str | None], "InProcessClient | HttpClient"]


@pytest.fixture
def fresh_staff(backend: str, tmp_path: Path, clock: ManualClock) -> Iterator[InProcessClient]:
    """A staff client on a database of its own (for tests that count global effects)."""
    with fresh_engine(backend, tmp_path) as eng:
        yield InProcessClient(make_test_env(eng, clock), Principal(role="staff", key_id=1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``shopsphere serve`` as a subprocess of its own session (so it can be SIGKILLed)."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "shopsphere_cli.main",
                    "serve",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    url = require_pg()
    schema = f"k_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
