"""The exception root of the replay package."""

from __future__ import annotations


class ReplayError(Exception):
    """Any failure of the replay tool that a user can fix (bad trace, bad option, bad target)."""


class TraceFormatError(ReplayError):
    """A trace line that cannot be read; the message names the line and the field."""


class ChaosScheduleError(ReplayError):
    """A ``--chaos`` schedule that cannot be parsed; the message names the bad entry."""
