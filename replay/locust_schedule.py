"""The schedule the Locust file replays: sessions in start order, split across Locust workers.

Kept apart from ``replay/locustfile.py`` so it can be tested without importing Locust (which
patches the standard library with gevent).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from replay.trace import Trace, TraceRequest


@dataclass(frozen=True, slots=True)
class Session:
    """One session's requests, in order; ``start_s`` is its first scheduled time (trace s)."""

    name: str
    start_s: float
    requests: tuple[TraceRequest, ...]


def sessions(trace: Trace) -> list[Session]:
    """Every session of ``trace``, by start time (ties by name)."""
    by: dict[str, list[TraceRequest]] = defaultdict(list)
    for r in trace.requests:
        by[r.session].append(r)
    out = [Session(name, reqs[0].t, tuple(reqs)) for name, reqs in by.items()]
    out.sort(key=lambda s: (s.start_s, s.name))
    return out


def shard(all_sessions: list[Session], index: int, count: int) -> list[Session]:
    """The sessions worker ``index`` of ``count`` replays: every ``count``-th from ``index``.

    Raises:
        ValueError: an index outside ``0..count-1``.
    """
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"worker index {index!r} is not within 0..{count - 1}")
    return all_sessions[index::count]


class SessionQueue:
    """Hands out sessions in start order (gevent is cooperative: no lock needed)."""

    def __init__(self, items: list[Session]) -> None:
        self._items = items
        self._next = 0

    def __len__(self) -> int:
        return len(self._items) - self._next

    def pop(self) -> Session | None:
        if self._next >= len(self._items):
            return None
        s = self._items[self._next]
        self._next += 1
        return s
