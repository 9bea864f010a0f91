"""Camera feeds behind one protocol: rendered from store state, or real through OpenCV.

:class:`FrameSource` is all the vision side sees: ``read(timeout_s)`` returns the next
:class:`Frame` or ``None`` at the end of a finite stream; ``stats`` counts frames, drops and
reconnects; ``close()`` releases it.

- :class:`RenderedFeed` - frames of a bay drawn by :class:`edge_sim.render.ShelfRenderer` from a
  callable giving the shelf state at each frame time (simulated time ``seq / fps`` seconds).
- :class:`CaptureFeed` - anything ``cv2.VideoCapture`` opens: video files, RTSP or HTTP MJPEG IP
  cameras, webcams (an ``int`` index). A reader thread owns the capture; frames go through a
  bounded queue. Live sources drop the oldest frame when the consumer falls behind (counted in
  ``stats.dropped``) and reconnect with exponential backoff (:class:`Backoff`) when the stream
  fails; files block instead of dropping and end with ``None``. ``read`` raises
  :class:`FeedTimeoutError` when no frame comes within the timeout and :class:`FeedError` once
  reconnection attempts are exhausted.
- :class:`ImageFolderFeed` - the images of a folder in name order (a camera that uploads
  snapshots).
- :func:`open_feed` - picks one of the above from a string (URL, path, webcam index).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from edge_sim.errors import ConfigError, FeedError, FeedTimeoutError
from edge_sim.planogram import ShelfState
from edge_sim.render import FrameTruth, ShelfRenderer

__all__ = [
    "Backoff",
    "CaptureFeed",
    "FeedStats",
    "Frame",
    "FrameSource",
    "ImageFolderFeed",
    "RenderedFeed",
    "open_feed",
]

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: BGR ``image``, capture time ``t_s`` (seconds), sequence number ``seq``.

    ``truth`` is set only by rendered feeds (for scoring); vision never reads it.
    """

    image: np.ndarray
    t_s: float
    seq: int
    source: str
    truth: FrameTruth | None = None


@dataclass(slots=True)
class FeedStats:
    """Counters of a feed: frames delivered, dropped, reconnects, failed opens or reads."""

    frames: int = 0
    dropped: int = 0
    reconnects: int = 0
    failures: int = 0
    last_error: str | None = None


@runtime_checkable
class FrameSource(Protocol):
    """What every feed offers (see the module docstring)."""

    @property
    def stats(self) -> FeedStats:
        """Counters so far."""
        ...

    def read(self, timeout_s: float | None = None) -> Frame | None:
        """Next frame; ``None`` at the end of a finite stream."""
        ...

    def close(self) -> None:
        """Release the source (idempotent)."""
        ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: ``initial_s * factor**k`` capped at ``max_s``; ``max_attempts`` opens
    in a row may fail before the feed gives up (``None``: never gives up)."""

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 10.0
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.initial_s < 0 or self.max_s < self.initial_s:
            raise ConfigError(f"backoff delays {self.initial_s}..{self.max_s} s are not valid")
        if self.factor < 1.0:
            raise ConfigError(f"backoff factor {self.factor} < 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ConfigError(f"max_attempts {self.max_attempts} < 1")

    def delays(self) -> Iterator[float]:
        """The delay before each retry, in seconds."""
        d = self.initial_s
        k = 0
        while self.max_attempts is None or k < self.max_attempts:
            yield min(d, self.max_s)
            d *= self.factor
            k += 1


class RenderedFeed:
    """Frames rendered from store state: ``state_at(t_s)`` gives the shelf at each frame time.

    ``fps`` sets simulated time (``t_s = seq / fps``); ``n_frames`` ends the stream (``None``:
    endless). Raises :class:`ConfigError` on a non-positive ``fps``.
    """

    def __init__(
        self,
        renderer: ShelfRenderer,
        state_at: Callable[[float], ShelfState],
        rng: np.random.Generator,
        fps: float = 1.0,
        n_frames: int | None = None,
        name: str = "rendered",
    ) -> None:
        if fps <= 0:
            raise ConfigError(f"fps {fps} must be positive")
        self._renderer, self._state_at, self._rng = renderer, state_at, rng
        self._fps, self._n, self._name = fps, n_frames, name
        self._seq = 0
        self._stats = FeedStats()
        self._closed = False

    @property
    def stats(self) -> FeedStats:
        """Counters so far."""
        return self._stats

    def read(self, timeout_s: float | None = None) -> Frame | None:
        """Render the next frame (never times out); ``None`` after ``n_frames``."""
        if self._closed or (self._n is not None and self._seq >= self._n):
            return None
        t = self._seq / self._fps
        fr = self._renderer.render(self._state_at(t), self._rng)
        frame = Frame(image=fr.image, t_s=t, seq=self._seq, source=self._name, truth=fr.truth)
        self._seq += 1
        self._stats.frames += 1
        return frame

    def close(self) -> None:
        """Stop the stream."""
        self._closed = True


_EOS = object()
_FAILED = object()


@dataclass
class _Shared:
    q: queue.Queue[object]
    stop: threading.Event = field(default_factory=threading.Event)


class CaptureFeed:
    """A ``cv2.VideoCapture`` source read by a background thread (see the module docstring).

    Arguments: ``source`` (path, URL or webcam index); ``live`` (default: True for URLs and
    webcams, False for files); ``open_timeout_s`` / ``read_timeout_s`` (passed to the FFmpeg
    backend and used by :meth:`read`); ``backoff``; ``queue_size`` (frames buffered);
    ``capture_factory`` (replaces ``cv2.VideoCapture`` in tests). Raises :class:`ConfigError`
    on bad values.
    """

    def __init__(
        self,
        source: str | int,
        *,
        live: bool | None = None,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        backoff: Backoff | None = None,
        queue_size: int = 2,
        capture_factory: Callable[[str | int], cv2.VideoCapture] | None = None,
    ) -> None:
        if open_timeout_s <= 0 or read_timeout_s <= 0:
            raise ConfigError(f"timeouts must be positive, got {open_timeout_s}, {read_timeout_s}")
        if queue_size < 1:
            raise ConfigError(f"queue_size {queue_size} < 1")
        is_url = isinstance(source, str) and "://" in source
        self.source = source
        self.live = (is_url or isinstance(source, int)) if live is None else live
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.backoff = backoff or Backoff()
        self._factory = capture_factory or self._open_cv
        self._stats = FeedStats()
        self._lock = threading.Lock()
        self._shared = _Shared(q=queue.Queue(maxsize=queue_size))
        self._finished = False
        self._thread = threading.Thread(target=self._run, name=f"feed-{source}", daemon=True)
        self._thread.start()

    @property
    def stats(self) -> FeedStats:
        """Counters so far (a snapshot)."""
        with self._lock:
            s = self._stats
            return FeedStats(s.frames, s.dropped, s.reconnects, s.failures, s.last_error)

    def _open_cv(self, source: str | int) -> cv2.VideoCapture:
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(self.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(self.read_timeout_s * 1000),
        ]
        if isinstance(source, int):
            return cv2.VideoCapture(source, cv2.CAP_ANY, params)
        return cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)

    def _put(self, item: object) -> bool:
        """Queue an item; live feeds drop the oldest frame when full. False once stopped."""
        sh = self._shared
        while not sh.stop.is_set():
            try:
                sh.q.put(item, timeout=0.05)
                return True
            except queue.Full:
                if self.live and item is not _EOS and item is not _FAILED:
                    try:
                        sh.q.get_nowait()
                        with self._lock:
                            self._stats.dropped += 1
                    except queue.Empty:
                        pass
        return False

    def _run(self) -> None:
        sh = self._shared
        seq = 0
        ever_opened = False
        delays = self.backoff.delays()
        while not sh.stop.is_set():
            try:
                cap = self._factory(self.source)
                opened = bool(cap.isOpened())
            except cv2.error as exc:  # a malformed URL can raise inside OpenCV
                cap, opened = None, False
                with self._lock:
                    self._stats.last_error = str(exc)[:200]
            if not opened:
                with self._lock:
                    self._stats.failures += 1
                    self._stats.last_error = self._stats.last_error or f"cannot open {self.source}"
                if not self.live and not ever_opened:
                    self._put(_FAILED)
                    return
                delay = next(delays, None)
                if delay is None:
                    self._put(_FAILED)
                    return
                sh.stop.wait(delay)
                continue
            if ever_opened:
                with self._lock:
                    self._stats.reconnects += 1
            ever_opened = True
            delays = self.backoff.delays()
            assert cap is not None
            while not sh.stop.is_set():
                ok, img = cap.read()
                if not ok or img is None:
                    break
                frame = Frame(image=img, t_s=time.time(), seq=seq, source=str(self.source))
                seq += 1
                if not self._put(frame):
                    break
            cap.release()
            if not self.live:
                self._put(_EOS)
                return
            with self._lock:
                self._stats.failures += 1
                self._stats.last_error = "stream ended or read timed out"
            delay = next(delays, None)
            if delay is None:
                self._put(_FAILED)
                return
            sh.stop.wait(delay)

    def read(self, timeout_s: float | None = None) -> Frame | None:
        """Next frame, waiting up to ``timeout_s`` (default ``read_timeout_s``).

        Returns ``None`` at the end of a file. Raises :class:`FeedTimeoutError` if nothing
        arrives in time, :class:`FeedError` once the source has failed for good.
        """
        if self._finished:
            return None
        wait = self.read_timeout_s if timeout_s is None else timeout_s
        try:
            item = self._shared.q.get(timeout=wait)
        except queue.Empty:
            raise FeedTimeoutError(f"no frame from {self.source} within {wait} s") from None
        if item is _EOS:
            self._finished = True
            return None
        if item is _FAILED:
            self._finished = True
            raise FeedError(f"feed {self.source} failed: {self.stats.last_error}")
        assert isinstance(item, Frame)
        with self._lock:
            self._stats.frames += 1
        return item

    def close(self) -> None:
        """Stop the reader thread and release the capture."""
        self._shared.stop.set()
        self._thread.join(timeout=max(self.read_timeout_s, self.open_timeout_s) + 1.0)
        self._finished = True


class ImageFolderFeed:
    """The images of ``folder`` in name order, then ``None``; unreadable files are dropped.

    Raises :class:`FeedError` if the folder does not exist or holds no images.
    """

    def __init__(self, folder: str | Path) -> None:
        path = Path(folder)
        if not path.is_dir():
            raise FeedError(f"image folder {str(path)!r} does not exist")
        self._files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise FeedError(f"image folder {str(path)!r} has no images")
        self._i = 0
        self._stats = FeedStats()
        self._name = str(path)

    @property
    def stats(self) -> FeedStats:
        """Counters so far."""
        return self._stats

    def read(self, timeout_s: float | None = None) -> Frame | None:
        """Next readable image, or ``None`` when the folder is done."""
        while self._i < len(self._files):
            p = self._files[self._i]
            self._i += 1
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is None:
                self._stats.dropped += 1
                self._stats.last_error = f"cannot decode {p.name}"
                continue
            self._stats.frames += 1
            return Frame(image=img, t_s=p.stat().st_mtime, seq=self._i - 1, source=str(p))
        return None

    def close(self) -> None:
        """Nothing to release."""
        self._i = len(self._files)


def open_feed(spec: str, **kwargs: object) -> FrameSource:
    """A feed from a string: ``rtsp://``/``http(s)://`` URL, a digit (webcam), a folder, a file.

    Extra keyword arguments go to :class:`CaptureFeed`. Raises :class:`FeedError` for a path
    that does not exist.
    """
    if "://" in spec:
        return CaptureFeed(spec, **kwargs)  # type: ignore[arg-type]
    if spec.isdigit():
        return CaptureFeed(int(spec), **kwargs)  # type: ignore[arg-type]
    path = Path(spec)
    if path.is_dir():
        return ImageFolderFeed(path)
    if not path.is_file():
        raise FeedError(f"feed {spec!r} is neither a URL, a webcam index, a folder nor a file")
    return CaptureFeed(str(path), **kwargs)  # type: ignore[arg-type]
