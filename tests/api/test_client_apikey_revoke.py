"""``shopsphere apikey revoke``: a revoked key is refused by every worker within a second,
although keys are cached for a minute."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from api_helpers import PEPPER, ServerThread, make_test_env
from typer.testing import CliRunner

from api.client.base import CommerceError
from api.clock import ManualClock
from api.db import make_engine, upgrade_schema
from api.errors import UnauthenticatedError
from api.services.auth import Authenticator, create_api_key, revoke_api_key
from shopsphere_cli.main import app


def _refused_after(check: Callable[[], object], limit_s: float = 3.0) -> float:
    """Seconds until ``check`` raises the typed 401 (polling every 20 ms)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        try:
            check()
        except (UnauthenticatedError, CommerceError) as exc:
            assert exc.status == 401
            return time.monotonic() - t0
        time.sleep(0.02)
    raise AssertionError(f"still accepted after {limit_s} s")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    engine = make_engine(url)
    upgrade_schema(engine)
    engine.dispose()
    return url


def test_cli_revoke_reaches_every_worker_cache_within_a_second(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPSPHERE_DATABASE_URL", db_url)
    monkeypatch.setenv("SHOPSPHERE_API_KEY_PEPPER", PEPPER)
    engine = make_engine(db_url)
    token = create_api_key(engine, ManualClock(), PEPPER, "staff")
    other = create_api_key(engine, ManualClock(), PEPPER, "staff")
    workers = [Authenticator(engine, PEPPER), Authenticator(engine, PEPPER)]
    for w in workers:  # both cache the key (60 s)
        assert w.authenticate(token).role == "staff"
        assert w.cached(token) is not None

    result = CliRunner().invoke(app, ["apikey", "revoke", "--token", token, "--db", db_url])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("revoked API key ")

    for w in workers:
        assert _refused_after(lambda w=w: w.cached(token) or w.authenticate(token)) < 1.0  # type: ignore[misc]
        assert w.authenticate(other).role == "staff"  # other keys keep working
    engine.dispose()


def test_cli_revoke_of_an_unknown_key_exits_2_naming_it(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPSPHERE_DATABASE_URL", db_url)
    runner = CliRunner()
    result = runner.invoke(app, ["apikey", "revoke", "--id", "999", "--db", db_url])
    assert result.exit_code == 2
    assert "no active API key matches --id 999" in result.output
    result = runner.invoke(app, ["apikey", "revoke", "--db", db_url])
    assert result.exit_code == 2
    assert "exactly one of --token and --id" in result.output


def test_a_served_key_is_refused_within_a_second_of_revocation(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    upgrade_schema(engine)
    with ServerThread(make_test_env(engine)) as srv, srv.client("staff") as client:
        client.list_locations()  # cached by the server
        token = client._http.headers["X-API-Key"]
        assert revoke_api_key(engine, PEPPER, token=token)
        assert _refused_after(client.list_locations) < 1.0
    engine.dispose()
