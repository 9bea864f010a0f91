"""A real ``shopsphere webhooks dispatch`` process killed with SIGKILL in the middle of a batch:
after its leases run out, a second dispatcher delivers every event, and the receiver, which got
some events twice, applied each exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from api_helpers import PG_URL, REPO, fresh_engine, make_test_env, require_pg, seed
from sqlalchemy import text

from api.client.inprocess import InProcessClient
from api.schemas import Channel, CheckoutLine, CheckoutRequest
from api.services.context import Principal
from api.webhooks import status
from replay.receiver import WebhookReceiver

SECRET = "whsec-kill9-0123456789"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite and PostgreSQL; the PostgreSQL cases carry the ``postgres`` marker."""
    if request.param == "postgres":
        require_pg()
    return str(request.param)


def _dispatch(url: str, db: str, log: Path, *, once: bool = False) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SHOPSPHERE_DATABASE_URL": db,
        "SHOPSPHERE_WEBHOOK_ENDPOINTS": f"erp={url}",
        "SHOPSPHERE_WEBHOOK_SECRET": SECRET,
        "SHOPSPHERE_WEBHOOK_LEASE_SECONDS": "2",
        "SHOPSPHERE_WEBHOOK_CONCURRENCY": "1",
    }
    args = [sys.executable, "-m", "shopsphere_cli.main", "webhooks", "dispatch", "--poll", "0.05"]
    with log.open("ab") as out:
        return subprocess.Popen(
            args + (["--once"] if once else []), env=env, stdout=out, stderr=out, cwd=REPO
        )


@pytest.mark.slow
def test_a_killed_dispatcher_process_loses_no_event_and_effects_stay_single(
    backend: str, tmp_path: Path
) -> None:
    with fresh_engine(backend, tmp_path) as engine:
        if backend == "sqlite":
            db = str(engine.url)
        else:
            with engine.connect() as c:
                schema = c.scalar(text("SELECT current_schema()"))
            db = f"{PG_URL}?options=-csearch_path%3D{schema}"
        env = make_test_env(engine)
        staff = InProcessClient(env, Principal(role="staff", key_id=1))
        s = seed(staff, n_skus=1, stock=10)
        for i in range(10):
            InProcessClient(env, Principal(role="customer", customer_id=f"k{i}")).checkout(
                CheckoutRequest(
                    lines=[CheckoutLine(sku=s.skus[0], quantity=1)],
                    location=s.location,
                    channel=Channel.WEB,
                )
            )
        with WebhookReceiver(SECRET, delay_s=0.1) as rx:  # 20 events take >= 2 s one by one
            proc = _dispatch(rx.url, db, tmp_path / "d1.log")
            deadline = time.monotonic() + 60
            while rx.summary()["deliveries_received"] < 5 and time.monotonic() < deadline:
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            first = rx.summary()["deliveries_received"]
            assert 5 <= first < 20, (tmp_path / "d1.log").read_text()
            assert status(engine)["endpoints"]["erp"]["delivered"] == 0  # killed before booking
            time.sleep(2.2)  # the dead process's leases run out
            proc2 = _dispatch(rx.url, db, tmp_path / "d2.log")
            deadline = time.monotonic() + 60
            while (
                status(engine)["endpoints"]["erp"]["delivered"] < 20 and time.monotonic() < deadline
            ):
                time.sleep(0.1)
            proc2.send_signal(signal.SIGTERM)
            proc2.wait(timeout=20)
            summary = rx.summary()
        assert status(engine)["endpoints"]["erp"] == {"pending": 0, "delivered": 20, "dead": 0}
        assert summary["events_received"] == 20 and summary["effects_applied"] == 20
        assert summary["deliveries_received"] >= 20 + first - 1  # redelivered after the kill
        assert summary["duplicate_effects"] == 0 and summary["bad_signatures"] == 0
