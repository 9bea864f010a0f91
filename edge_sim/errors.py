"""The exception root of :mod:`edge_sim`.

Every error this package raises on purpose derives from :class:`EdgeSimError`, so callers (the
API, the CLI) map one root to a typed 4xx or an exit code. Messages name the field and the bad
value.
"""

from __future__ import annotations

__all__ = ["ConfigError", "EdgeSimError", "FeedError", "FeedTimeoutError"]


class EdgeSimError(Exception):
    """Root of every deliberate :mod:`edge_sim` error."""


class ConfigError(EdgeSimError, ValueError):
    """A planogram, camera, stock or node configuration is invalid (names field and value)."""


class FeedError(EdgeSimError):
    """A frame source could not be opened or has failed for good."""


class FeedTimeoutError(FeedError, TimeoutError):
    """A frame source gave no frame within its timeout."""
