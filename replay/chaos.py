"""Chaos during a replay: ``kill -9`` of API workers and a PostgreSQL restart.

A schedule is a comma-separated list of ``ACTION@SECONDS`` (replay seconds from the start)::

    kill-worker@15,pg-restart@30,kill-worker@45

``kill-worker`` sends SIGKILL to one worker process (a child) of the server whose master pid
the tool knows (it started the server, or was given ``--server-pid``); uvicorn's supervisor
starts a replacement, and the fault window ends when the replacement is up. ``pg-restart`` runs
the given restart command (e.g. ``pg_ctl -D DIR restart -m immediate``) and ends when it
returns. Each action becomes a :class:`replay.engine.FaultWindow` shaded on the report's plots.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
from dataclasses import dataclass

import numpy as np

from replay.engine import FaultWindow, SideTask
from replay.errors import ChaosScheduleError

ACTIONS = ("kill-worker", "pg-restart")


@dataclass(frozen=True, slots=True)
class ChaosAction:
    action: str
    at_s: float


def parse_schedule(spec: str) -> list[ChaosAction]:
    """Parse ``ACTION@SECONDS,...``.

    Raises:
        ChaosScheduleError: naming the bad entry (unknown action, bad or negative time).
    """
    out = []
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        action, sep, at = entry.partition("@")
        if not sep or action not in ACTIONS:
            raise ChaosScheduleError(
                f"chaos entry {entry!r} must be ACTION@SECONDS with ACTION one of {ACTIONS}"
            )
        try:
            at_s = float(at)
        except ValueError:
            raise ChaosScheduleError(
                f"chaos entry {entry!r}: time {at!r} is not a number"
            ) from None
        if not at_s >= 0:
            raise ChaosScheduleError(f"chaos entry {entry!r}: time {at_s!r} is negative")
        out.append(ChaosAction(action, at_s))
    return sorted(out, key=lambda a: a.at_s)


def _workers(master_pid: int) -> list[int]:
    import psutil

    try:
        procs = psutil.Process(master_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for p in procs:
        try:
            # uvicorn's multiprocessing children include a resource tracker: not a worker
            if p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(
                p.cmdline()
            ):
                out.append(p.pid)
        except psutil.Error:
            continue
    return out


class ChaosRunner:
    """Runs a schedule as a side task of :meth:`replay.engine.Replayer.run`.

    Args:
        actions: the parsed schedule.
        server_pid: master pid of the API server (needed by ``kill-worker``).
        pg_restart_cmd: shell-free command restarting PostgreSQL (needed by ``pg-restart``).
        rng: picks the worker to kill.

    Raises:
        ChaosScheduleError: an action whose target was not given.
    """

    def __init__(
        self,
        actions: list[ChaosAction],
        *,
        server_pid: int | None,
        pg_restart_cmd: str | None,
        rng: np.random.Generator,
    ) -> None:
        if any(a.action == "kill-worker" for a in actions) and server_pid is None:
            raise ChaosScheduleError(
                "kill-worker needs the server's pid: let the tool start the server (--serve-db) "
                "or pass --server-pid"
            )
        if any(a.action == "pg-restart" for a in actions) and not pg_restart_cmd:
            raise ChaosScheduleError("pg-restart needs --pg-restart-cmd")
        self.actions = actions
        self.server_pid = server_pid
        self.pg_restart_cmd = pg_restart_cmd
        self.rng = rng

    def task(self) -> SideTask:
        async def run(t0: float, faults: list[FaultWindow]) -> None:
            loop = asyncio.get_running_loop()
            for a in self.actions:
                delay = t0 + a.at_s - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                start = loop.time() - t0
                try:
                    if a.action == "kill-worker":
                        detail = await self._kill_worker()
                    else:
                        detail = await self._pg_restart()
                except (OSError, ValueError) as exc:
                    detail = f"failed: {exc!r}"
                faults.append(FaultWindow(a.action, start, loop.time() - t0, detail))

        return run

    async def _kill_worker(self) -> str:
        assert self.server_pid is not None
        before = _workers(self.server_pid)
        if not before:
            return "no worker found"
        victim = before[int(self.rng.integers(len(before)))]
        os.kill(victim, signal.SIGKILL)
        # the fault lasts until the supervisor has a replacement running (at most 20 s)
        for _ in range(200):
            await asyncio.sleep(0.1)
            now = _workers(self.server_pid)
            if victim not in now and len(now) >= len(before):
                return f"killed pid {victim}, replaced"
        return f"killed pid {victim}, not replaced within 20 s"

    async def _pg_restart(self) -> str:
        assert self.pg_restart_cmd is not None
        proc = await asyncio.create_subprocess_exec(
            *shlex.split(self.pg_restart_cmd),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        if proc.returncode:
            return f"restart command failed ({proc.returncode}): {err.decode()[:200]}"
        return "restarted"
