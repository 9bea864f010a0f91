"""Exceptions of :mod:`policies.routing` (one root, :class:`RoutingError`)."""

from __future__ import annotations

__all__ = ["InvalidProblemError", "NoSolutionError", "RoutingError", "UnsupportedProblemError"]


class RoutingError(Exception):
    """Root of every error raised by the routing package."""


class InvalidProblemError(RoutingError, ValueError):
    """The problem is inconsistent (the message names the field and the bad value)."""


class UnsupportedProblemError(RoutingError):
    """This solver cannot model the problem (e.g. pickup-and-delivery pairs in PyVRP)."""


class NoSolutionError(RoutingError):
    """The solver found no solution within its budget."""
