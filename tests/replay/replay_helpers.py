"""Servers for the replay tests: a deliberately stalled ASGI app, and the real API in a thread."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class UvicornThread:
    """uvicorn serving ``app`` on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, log_level="warning", lifespan="auto", access_log=False, backlog=1024
            )
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> UvicornThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


class StalledApp:
    """Answers ``{"id": n}`` at once, except that it freezes for ``stall_s`` seconds starting
    ``stall_at_s`` after its first request: everything in flight or arriving then is answered
    only when the stall ends (a stop-the-world pause, a lock held by a stuck transaction)."""

    def __init__(self, stall_at_s: float, stall_s: float) -> None:
        self.stall_at_s = stall_at_s
        self.stall_s = stall_s
        self.first: float | None = None
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while True:
                    msg = await receive()
                    if msg["type"] == "lifespan.startup":
                        await send({"type": "lifespan.startup.complete"})
                    elif msg["type"] == "lifespan.shutdown":
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            return
        while (await receive()).get("more_body"):
            pass
        now = time.monotonic()
        if self.first is None:
            self.first = now
        start = self.first + self.stall_at_s
        end = start + self.stall_s
        if start <= now < end:  # service time is ~0: only arrivals inside the window wait
            await asyncio.sleep(end - now)
        self.count += 1
        body = b'{"id": %d}' % self.count
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class StalledServerProcess:
    """:class:`StalledApp` served by uvicorn in a child process (its own interpreter, so the
    client under test does not share a GIL with the server)."""

    def __init__(self, stall_at_s: float, stall_s: float) -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.args = [str(stall_at_s), str(stall_s)]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StalledServerProcess:
        here = Path(__file__).parent
        code = (
            "import sys, uvicorn; sys.path.insert(0, sys.argv[1]);"
            "from replay_helpers import StalledApp;"
            "uvicorn.run(StalledApp(float(sys.argv[3]), float(sys.argv[4])), host='127.0.0.1',"
            " port=int(sys.argv[2]), log_level='warning', access_log=False, backlog=1024)"
        )
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(here), str(self.port), *self.args], env=env
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError("stalled server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
