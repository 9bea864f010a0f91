"""X-Simulated-Time: honoured outside production when enabled, refused by production settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from api_helpers import PEPPER, make_test_env
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from api.clock import ManualClock
from api.db import make_engine, upgrade_schema
from api.schemas import LocationCreate, LocationKind
from api.services.auth import create_api_key
from api.settings import Settings

SIM = datetime(2031, 5, 4, 9, 30, tzinfo=UTC)


def test_production_settings_refuse_the_simulated_time_header() -> None:
    with pytest.raises(ValidationError, match="refused in production"):
        Settings(
            mode="production",
            api_key_pepper="a-production-pepper-0123456789",
            bootstrap_api_keys="",
            accept_sim_time_header=True,
        )


def _app(tmp_path: Path, accept: bool) -> tuple[TestClient, str, ManualClock]:
    engine = make_engine(f"sqlite:///{tmp_path / 'sim.db'}")
    upgrade_schema(engine)
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    ctx = make_test_env(engine, clock)
    settings = Settings(
        mode="development",
        api_key_pepper=PEPPER,
        bootstrap_api_keys="",
        sweep_interval_seconds=0,
        accept_sim_time_header=accept,
    )
    app = create_app(settings, ctx=ctx)
    from api.client.inprocess import InProcessClient
    from api.services.context import Principal

    InProcessClient(ctx, Principal(role="staff", key_id=1)).create_location(
        LocationCreate(code="W", kind=LocationKind.WAREHOUSE, name="W", lat=0, lon=0)
    )
    token = create_api_key(engine, clock, PEPPER, "customer", "c-sim")
    return TestClient(app), token, clock


def test_simulated_time_header_stamps_the_records_of_its_request(tmp_path: Path) -> None:
    http, token, clock = _app(tmp_path, accept=True)
    with http:
        headers = {"X-API-Key": token, "X-Simulated-Time": SIM.isoformat()}
        cart = http.post("/v1/carts", json={"channel": "web", "location": "W"}, headers=headers)
        assert cart.status_code == 201, cart.text
        assert datetime.fromisoformat(cart.json()["expires_at"]) == SIM + timedelta(seconds=900)
        plain = http.post(
            "/v1/carts", json={"channel": "web", "location": "W"}, headers={"X-API-Key": token}
        )
        assert datetime.fromisoformat(plain.json()["expires_at"]) == clock.now() + timedelta(
            seconds=900
        )
        bad = http.post(
            "/v1/carts",
            json={"channel": "web", "location": "W"},
            headers={"X-API-Key": token, "X-Simulated-Time": "2031-05-04T09:30:00"},
        )
        assert bad.status_code == 422 and bad.json()["code"] == "VALIDATION_ERROR"


def test_simulated_time_header_is_ignored_unless_enabled(tmp_path: Path) -> None:
    http, token, clock = _app(tmp_path, accept=False)
    with http:
        headers = {"X-API-Key": token, "X-Simulated-Time": SIM.isoformat()}
        cart = http.post("/v1/carts", json={"channel": "web", "location": "W"}, headers=headers)
        assert datetime.fromisoformat(cart.json()["expires_at"]) == clock.now() + timedelta(
            seconds=900
        )
