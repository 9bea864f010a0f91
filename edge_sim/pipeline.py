"""The edge loop: frames from any :class:`FrameSource` through ShelfVision to shelf observations.

:func:`watch` reads a feed, resizes frames to the calibration's size when needed, analyses each
with one :class:`ShelfVision` and hands every report to a callback; feed timeouts are counted and
skipped, the end of the feed ends the loop. :func:`observation_payload` turns a report into the
JSON body of ``POST /v1/shelf/observations`` (a plain dict: ``edge_sim`` does not import
``api``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import cv2

from edge_sim.errors import FeedTimeoutError
from edge_sim.feeds import Frame, FrameSource
from edge_sim.vision import ShelfReport, ShelfVision

__all__ = ["WatchStats", "observation_payload", "watch"]


@dataclass(frozen=True, slots=True)
class WatchStats:
    """Frames analysed and feed timeouts met by :func:`watch`."""

    frames: int
    timeouts: int


def watch(
    feed: FrameSource,
    vision: ShelfVision,
    on_report: Callable[[Frame, ShelfReport], None],
    max_frames: int | None = None,
    timeout_s: float | None = None,
    max_timeouts: int = 3,
) -> WatchStats:
    """Analyse frames until the feed ends, ``max_frames`` or ``max_timeouts`` timeouts in a row.

    Raises :class:`edge_sim.errors.FeedError` when the feed fails for good.
    """
    n = timeouts = in_row = 0
    size = (vision.camera.width, vision.camera.height)
    while max_frames is None or n < max_frames:
        try:
            frame = feed.read(timeout_s)
        except FeedTimeoutError:
            timeouts += 1
            in_row += 1
            if in_row >= max_timeouts:
                break
            continue
        in_row = 0
        if frame is None:
            break
        img = frame.image
        if (img.shape[1], img.shape[0]) != size:
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        on_report(frame, vision.analyse(img))
        n += 1
    return WatchStats(frames=n, timeouts=timeouts)


def observation_payload(
    report: ShelfReport,
    location: str,
    camera: str,
    observed_at: datetime | None = None,
    sku_codes: dict[str, str] | None = None,
) -> dict[str, object]:
    """The body of ``POST /v1/shelf/observations`` for ``report``.

    Unobserved slots (mostly occluded) are left out. ``sku_codes`` maps planogram SKU ids to the
    commerce catalog's codes when they differ.
    """
    codes = sku_codes or {}
    at = observed_at or datetime.now(UTC)
    return {
        "location": location,
        "camera": camera,
        "observed_at": at.isoformat(),
        "slots": [
            {
                "sku": codes.get(r.sku, r.sku),
                "facings": r.facings,
                "capacity": r.capacity,
                "confidence": round(r.confidence, 4),
            }
            for r in report.slots
            if r.observed
        ],
        "misplaced": [
            {
                "sku": codes.get(m.expected_sku, m.expected_sku),
                "looks_like": codes.get(m.looks_like, m.looks_like),
                "confidence": round(m.confidence, 4),
            }
            for m in report.misplaced
        ],
    }
