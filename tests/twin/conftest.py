"""Fixtures for the twin tests (defined in twin_helpers)."""

from twin_helpers import fake_client

__all__ = ["fake_client"]
