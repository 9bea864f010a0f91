"""Injected time.

Every service takes a :class:`Clock`. Production uses :class:`SystemClock`; the twin and the
tests use :class:`ManualClock`, whose time only moves when the owner moves it. There is no
route that can move a clock: only code holding a ``ManualClock`` can, and the production app is
always built with a ``SystemClock`` (see ``api.settings``). Outside production, a deployment may
let a request stamp its own records with a simulated time (``api.simtime``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of the current time (timezone-aware UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time, UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to. Used by the twin (simulated time) and tests.

    Raises:
        ValueError: on a naive start time or on an attempt to move time backwards.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError(f"clock start {start!r} must be timezone-aware")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError(f"clock time {when!r} must be timezone-aware")
        if when < self._now:
            raise ValueError(
                f"clock cannot move backwards: {when.isoformat()} < {self._now.isoformat()}"
            )
        self._now = when

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError(f"negative clock advance {delta}")
        self._now = self._now + delta
