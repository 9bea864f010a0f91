"""The exception root of :mod:`assistant`: every deliberate error derives from
:class:`AssistantError`, and its message names the field and the bad value."""

from __future__ import annotations

__all__ = ["AssistantError", "UtteranceError"]


class AssistantError(Exception):
    """Root of every deliberate :mod:`assistant` error."""


class UtteranceError(AssistantError, ValueError):
    """An utterance is empty, too long, or a test-set line is malformed."""
