"""The twin's exception root. Every error the twin raises on purpose derives from
:class:`TwinError`, so callers (the runner, the CLI) catch one type."""

from __future__ import annotations

__all__ = ["TwinConfigError", "TwinError", "TwinInvariantError"]


class TwinError(Exception):
    """Root of the twin's errors."""


class TwinConfigError(TwinError, ValueError):
    """A run was asked for with a value the twin cannot use (the message names it)."""


class TwinInvariantError(TwinError, AssertionError):
    """The twin's own bookkeeping disagrees with itself or with the ledger (a bug)."""
