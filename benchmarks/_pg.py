"""A throwaway PostgreSQL role and database for benchmarks, on the local cluster.

:func:`throwaway_database` starts the Debian cluster (``pg_ctlcluster 15 main start``) if it is
not running, creates a role with a random password and a database it owns (through
``su postgres -c psql``), yields a SQLAlchemy URL for them on 127.0.0.1, and on exit drops both
and stops the cluster again if it started it, leaving the machine as it found it.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Cluster:
    """A Debian PostgreSQL cluster (``pg_lsclusters`` row)."""

    version: str
    name: str
    port: int
    online: bool


def _run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def find_cluster(version: str | None = None, name: str = "main") -> Cluster:
    """The local cluster ``version``/``name`` (default: the newest version with that name).

    Raises:
        RuntimeError: ``pg_lsclusters`` is missing or lists no such cluster.
    """
    try:
        out = _run(["pg_lsclusters", "--no-header"]).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RuntimeError(f"pg_lsclusters failed ({exc}); is PostgreSQL installed?") from exc
    rows = [line.split() for line in out.splitlines() if line.strip()]
    rows = [r for r in rows if r[1] == name and (version is None or r[0] == version)]
    if not rows:
        raise RuntimeError(f"no PostgreSQL cluster {version or '*'}/{name} in pg_lsclusters")
    ver, nm, port, status = max(rows, key=lambda r: float(r[0]))[:4]
    return Cluster(version=ver, name=nm, port=int(port), online=status == "online")


def psql(sql: str, *, database: str = "postgres") -> str:
    """Run ``sql`` as the ``postgres`` superuser (peer authentication); returns stdout.

    Raises:
        RuntimeError: psql failed; the message carries its stderr.
    """
    cmd = f"psql -X -q -At -v ON_ERROR_STOP=1 -d {shlex.quote(database)} -c {shlex.quote(sql)}"
    argv = (
        ["su", "postgres", "-c", cmd]
        if os.geteuid() == 0
        else ["sudo", "-u", "postgres", "sh", "-c", cmd]
    )
    res = _run(argv, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"psql failed ({res.returncode}) for {sql[:80]!r}: {res.stderr.strip()}")
    return res.stdout


@contextmanager
def throwaway_database(prefix: str = "shopsphere_bench") -> Iterator[str]:
    """Yield ``postgresql+psycopg://role:pw@127.0.0.1:port/db`` for a fresh role and database.

    Everything created is dropped on exit (``DROP DATABASE ... WITH (FORCE)``), and the cluster
    is stopped again if this function started it.
    """
    cluster = find_cluster()
    started = False
    if not cluster.online:
        log.info("starting PostgreSQL cluster %s/%s", cluster.version, cluster.name)
        _run(["pg_ctlcluster", cluster.version, cluster.name, "start"])
        started = True
    suffix = secrets.token_hex(4)
    role = db = f"{prefix}_{suffix}"
    password = secrets.token_hex(16)
    try:
        psql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        try:
            psql(f"CREATE DATABASE {db} OWNER {role}")
            try:
                yield f"postgresql+psycopg://{role}:{password}@127.0.0.1:{cluster.port}/{db}"
            finally:
                psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        finally:
            psql(f"DROP ROLE IF EXISTS {role}")
    finally:
        if started:
            log.info(
                "stopping PostgreSQL cluster %s/%s (this run started it)",
                cluster.version,
                cluster.name,
            )
            _run(["pg_ctlcluster", cluster.version, cluster.name, "stop"], check=False)
