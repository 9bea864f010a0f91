"""Fixtures for the commerce API tests (see api_helpers for the backends and helpers)."""

from api_helpers import backend, clock, engine, env, fresh_staff, pg_schema_url, server, staff

__all__ = ["backend", "clock", "engine", "env", "fresh_staff", "pg_schema_url", "server", "staff"]
