"""Settings: typed, SHOPSPHERE_ prefixed, refusing default secrets outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.settings import DEV_PEPPER, Settings, parse_bootstrap_keys


def test_defaults_are_a_development_sqlite_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SHOPSPHERE_DATABASE_URL", "SHOPSPHERE_MODE", "SHOPSPHERE_API_KEY_PEPPER"):
        monkeypatch.delenv(var, raising=False)
    s = Settings()
    assert (s.database_url, s.mode, s.reservation_ttl_seconds) == (
        "sqlite:///./shopsphere.db",
        "development",
        900,
    )
    assert {k.role for k in s.bootstrap_keys} == {"staff", "service", "customer"}


def test_environment_variables_use_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPSPHERE_RESERVATION_TTL_SECONDS", "60")
    monkeypatch.setenv("SHOPSPHERE_DATABASE_URL", "postgresql+psycopg://u:p@h/db")
    s = Settings()
    assert (s.reservation_ttl_seconds, s.database_url) == (60, "postgresql+psycopg://u:p@h/db")


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({}, "API_KEY_PEPPER"),
        ({"api_key_pepper": DEV_PEPPER}, "API_KEY_PEPPER"),
        ({"api_key_pepper": "x" * 32}, "development default"),
        ({"api_key_pepper": "x" * 32, "bootstrap_api_keys": "staff:short"}, "shorter than 20"),
    ],
)
def test_production_refuses_default_or_weak_secrets(overrides: dict[str, str], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        Settings(mode="production", **overrides)  # type: ignore[arg-type]


def test_production_accepts_real_secrets() -> None:
    s = Settings(
        mode="production", api_key_pepper="p" * 32, bootstrap_api_keys="service:" + "s" * 40
    )
    assert s.bootstrap_keys[0].role == "service"


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("admin:tok", "role 'admin'"),
        ("customer:tok", "needs a customer id"),
        ("staff", "role:token"),
    ],
)
def test_bad_bootstrap_key_entries_name_the_problem(spec: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_bootstrap_keys(spec)


def test_unknown_database_scheme_is_refused() -> None:
    with pytest.raises(ValidationError, match="mysql"):
        Settings(database_url="mysql://x")
