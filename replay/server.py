"""A local API server the replay tool starts (and may kill workers of) for benchmarks and chaos.

The server is ``shopsphere serve`` in a child process (so this package imports nothing of the
API beyond its client). The shoppers' keys are stored first with ``shopsphere replay-trace keys
`` (the store-keys verb) on the same database and pepper.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from replay.errors import ReplayError
from replay.keys import KeyBook


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "shopsphere_cli.main", *args]


class LocalServer:
    """``shopsphere serve --workers N`` on 127.0.0.1 with the keys of ``keys`` stored.

    Args:
        db_url: the database (migrated on start).
        keys: stored before the server starts.
        workers: uvicorn worker processes.
        env: extra ``SHOPSPHERE_*`` settings (rate limits, pool sizes...).
        log_path: where the server's output goes (default: discarded).
    """

    def __init__(
        self,
        db_url: str,
        keys: KeyBook,
        *,
        workers: int = 2,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.db_url = db_url
        self.keys = keys
        self.workers = workers
        self.port = free_port()
        self.env = {
            **os.environ,
            "SHOPSPHERE_DATABASE_URL": db_url,
            "SHOPSPHERE_BOOTSTRAP_API_KEYS": "",
            **(env or {}),
        }
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise ReplayError("the local server is not running")
        return self.proc.pid

    def store_keys(self, key_file: Path) -> None:
        """Migrate the database and store every key of the book (idempotent).

        Raises:
            ReplayError: the CLI failed (its message is included).
        """
        self.keys.save(key_file)
        for args in (("db", "upgrade"), ("replay-trace", "store-keys", str(key_file))):
            done = subprocess.run(
                _cli(*args), env=self.env, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise ReplayError(f"`shopsphere {' '.join(args)}` failed: {done.stderr.strip()}")

    def start(self, timeout_s: float = 60.0) -> None:
        """Start and wait until ``/v1/health`` answers.

        Raises:
            ReplayError: the server exited or did not answer within ``timeout_s``.
        """
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            _cli(
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--no-migrate",
                "--log-level",
                "warning",
            ),
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ReplayError(f"the local server exited with status {self.proc.returncode}")
            try:
                if httpx.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ReplayError(f"the local server did not answer within {timeout_s} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
