"""Feeds: a real video file, an image folder, a local HTTP MJPEG IP camera, rendered frames."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_sim.errors import ConfigError, FeedError, FeedTimeoutError
from edge_sim.feeds import (
    Backoff,
    CaptureFeed,
    FrameSource,
    ImageFolderFeed,
    RenderedFeed,
    open_feed,
)
from edge_sim.planogram import shelf_state
from edge_sim.scenes import random_scene

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "grocery" / "photos"


def _photos(n: int, size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:
    files = sorted(PHOTOS.glob("*.jpg"))[:n]
    assert len(files) == n
    out = []
    for f in files:
        img = cv2.imread(str(f))
        assert img is not None, f
        out.append(cv2.resize(img, size))
    return out


def test_video_file_of_real_photos_is_read_in_order_then_ends(tmp_path: Path) -> None:
    path = tmp_path / "shelf.avi"
    frames = _photos(6)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 5.0, (320, 240))
    for f in frames:
        w.write(f)
    w.release()
    feed = open_feed(str(path), read_timeout_s=5.0)
    assert isinstance(feed, FrameSource)
    got = []
    while (fr := feed.read()) is not None:
        got.append(fr)
    feed.close()
    assert [g.seq for g in got] == list(range(6))
    # MJPEG is lossy: each decoded frame is close to the photo it came from, not to the others
    for k, g in enumerate(got):
        errs = [np.abs(g.image.astype(int) - f.astype(int)).mean() for f in frames]
        assert int(np.argmin(errs)) == k and errs[k] < 12
    assert feed.stats.frames == 6 and feed.stats.dropped == 0


def test_missing_file_fails_with_a_feed_error(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="neither"):
        open_feed(str(tmp_path / "nope.avi"))
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"not a video")
    feed = CaptureFeed(str(bad), read_timeout_s=5.0)
    with pytest.raises(FeedError, match="failed"):
        feed.read()
    feed.close()


def test_image_folder_skips_unreadable_files(tmp_path: Path) -> None:
    for k, img in enumerate(_photos(3)):
        cv2.imwrite(str(tmp_path / f"{k:02d}.jpg"), img)
    (tmp_path / "03.jpg").write_bytes(b"broken")
    feed = open_feed(str(tmp_path))
    assert isinstance(feed, ImageFolderFeed)
    n = 0
    while feed.read() is not None:
        n += 1
    assert n == 3 and feed.stats.dropped == 1


class _Camera(BaseHTTPRequestHandler):
    """An IP camera: multipart MJPEG; each connection sends ``per_conn`` frames then hangs up."""

    frames: list[bytes] = []
    per_conn = 5
    connections = 0

    def do_GET(self) -> None:
        type(self).connections += 1
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        try:
            for k in range(self.per_conn):
                jpg = self.frames[k % len(self.frames)]
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n")
                self.wfile.write(f"Content-Length: {len(jpg)}\r\n\r\n".encode())
                self.wfile.write(jpg + b"\r\n")
                self.wfile.flush()
                time.sleep(0.02)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ip_camera() -> Iterator[str]:
    _Camera.frames = [cv2.imencode(".jpg", f)[1].tobytes() for f in _photos(3)]
    _Camera.connections = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Camera)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg"
    server.shutdown()
    server.server_close()


def test_mjpeg_ip_camera_streams_and_reconnects_after_hangups(ip_camera: str) -> None:
    feed = open_feed(
        ip_camera,
        open_timeout_s=3.0,
        read_timeout_s=3.0,
        backoff=Backoff(initial_s=0.05, max_s=0.2),
        queue_size=64,
    )
    got = [feed.read(timeout_s=5.0) for _ in range(12)]
    feed.close()
    assert all(g is not None and g.image.shape == (240, 320, 3) for g in got)
    st = feed.stats
    assert st.reconnects >= 2  # 5 frames per connection, 12 read
    assert _Camera.connections >= 3
    assert st.frames == 12


def test_slow_consumer_of_a_live_feed_counts_dropped_frames(ip_camera: str) -> None:
    _Camera.per_conn = 40
    try:
        feed = CaptureFeed(ip_camera, read_timeout_s=3.0, queue_size=1)
        first = feed.read(timeout_s=5.0)
        time.sleep(0.6)  # the camera keeps sending while we are busy
        second = feed.read(timeout_s=5.0)
        feed.close()
    finally:
        _Camera.per_conn = 5
    assert first is not None and second is not None
    assert feed.stats.dropped >= 3
    assert second.seq - first.seq >= 4


def test_silent_camera_times_out_and_dead_camera_gives_up() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)  # accepts the connection, never answers
    port = srv.getsockname()[1]
    feed = CaptureFeed(
        f"http://127.0.0.1:{port}/x.mjpg",
        open_timeout_s=1.0,
        read_timeout_s=1.0,
        backoff=Backoff(initial_s=0.05, max_attempts=1),
    )
    with pytest.raises(FeedTimeoutError):
        feed.read(timeout_s=0.3)
    srv.close()
    with pytest.raises(FeedError):
        for _ in range(20):
            feed.read(timeout_s=3.0)
    feed.close()
    assert feed.stats.failures >= 2


def test_rendered_feed_carries_truth_and_simulated_time() -> None:
    rng = np.random.default_rng(7)
    sc = random_scene(rng, "clean")
    full = [s.capacity for s in sc.planogram.slots]
    empty = [0] * len(full)

    def state_at(t: float) -> object:
        return shelf_state(sc.planogram, full if t < 1.0 else empty, rng)

    feed = RenderedFeed(sc.renderer, state_at, rng, fps=2.0, n_frames=4)  # type: ignore[arg-type]
    frames = [feed.read() for _ in range(5)]
    assert frames[4] is None
    ts = [f.t_s for f in frames[:4] if f is not None]
    assert ts == [0.0, 0.5, 1.0, 1.5]
    assert frames[0] is not None and frames[0].truth is not None
    assert len(frames[0].truth.gap_boxes) == 0
    assert frames[3] is not None and frames[3].truth is not None
    assert frames[3].truth.counts.sum() == 0
    with pytest.raises(ConfigError, match="fps 0"):
        RenderedFeed(sc.renderer, state_at, rng, fps=0)  # type: ignore[arg-type]
