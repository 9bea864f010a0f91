"""The payment gateway interface and a simulated gateway.

The checkout calls the gateway with no database transaction open. Every call carries the
gateway's own idempotency key, the ``reference`` (``order-<id>``): an order is charged at most
once however often its payment is retried, and :meth:`PaymentGateway.lookup` answers what the
gateway did for a reference, which is how a payment interrupted by a crash is reconciled.

The simulated gateway understands the tokens ``tok_ok`` (approves), ``tok_decline`` (declines),
``tok_timeout`` (times out before charging) and ``tok_lost_answer`` (the first call charges, then
times out: the answer is lost on the way back, as when the caller crashes; a retry gets the
charge). Its charges live in memory, or,
with ``path``, in a SQLite file of its own, so that they survive a crash of the API server the
way a remote gateway's would (the ``kill -9`` test needs that).
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class GatewayError(Exception):
    """Root of gateway failures."""


class PaymentDeclined(GatewayError):  # noqa: N818 - domain name, not an error suffix
    """The card issuer declined."""


class GatewayTimeout(GatewayError):  # noqa: N818
    """No answer in time; whether the charge was made is unknown until :meth:`lookup`."""


@dataclass(frozen=True, slots=True)
class Authorization:
    auth_id: str
    amount_cents: int


@dataclass(frozen=True, slots=True)
class Charge:
    """What the gateway holds for one reference (amounts in cents)."""

    auth_id: str
    amount_cents: int
    captured_cents: int
    refunded_cents: int


class PaymentGateway(Protocol):
    """Authorise, capture and refund amounts in integer minor units; idempotent per reference."""

    def authorize(self, *, amount_cents: int, token: str, reference: str) -> Authorization: ...
    def capture(self, auth: Authorization, amount_cents: int) -> None: ...
    def refund(self, auth_id: str, amount_cents: int) -> None: ...
    def lookup(self, reference: str) -> Charge | None: ...


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS charges (reference TEXT PRIMARY KEY, auth_id TEXT UNIQUE NOT NULL,"
    " amount_cents INTEGER NOT NULL, captured_cents INTEGER NOT NULL DEFAULT 0,"
    " refunded_cents INTEGER NOT NULL DEFAULT 0)"
)


class SimulatedGateway:
    """Simulated gateway. ``latency_s`` sleeps in every call to mimic a remote service.

    ``charges`` counts authorisations made per reference by this process; ``refunds`` sums
    refunded cents per authorisation id. ``path``: keep the charges in that SQLite file (shared
    by every worker process, surviving their crashes) instead of in memory.
    """

    def __init__(self, latency_s: float = 0.0, path: str | Path | None = None) -> None:
        if latency_s < 0:
            raise ValueError(f"negative gateway latency {latency_s}")
        self.latency_s = latency_s
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._mem: dict[
            str, list[object]
        ] = {}  # reference -> [auth_id, amount, captured, refunded]
        self._ref_of: dict[str, str] = {}  # auth_id -> reference (memory mode)
        self._path = str(path) if path is not None else None
        self._local = threading.local()
        self.charges: Counter[str] = Counter()
        self.captured: Counter[str] = Counter()
        self.refunds: Counter[str] = Counter()
        if self._path is not None:
            with self._db() as db:
                db.execute(_SCHEMA)

    # ---- storage ----------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            assert self._path is not None
            db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    def lookup(self, reference: str) -> Charge | None:
        """The charge made for ``reference``, or None when none was ever authorised."""
        self._wait()
        if self._path is None:
            with self._lock:
                row = self._mem.get(reference)
                return None if row is None else Charge(*row)  # type: ignore[arg-type]
        got = (
            self._db()
            .execute(
                "SELECT auth_id, amount_cents, captured_cents, refunded_cents FROM charges "
                "WHERE reference = ?",
                (reference,),
            )
            .fetchone()
        )
        return None if got is None else Charge(*got)

    def _authorize(self, reference: str, amount_cents: int) -> tuple[Authorization, bool]:
        if self._path is None:
            with self._lock:
                row = self._mem.get(reference)
                if row is None:
                    row = [f"auth_{next(self._ids)}", amount_cents, 0, 0]
                    self._mem[reference] = row
                    self._ref_of[str(row[0])] = reference
                    self.charges[reference] += 1
                    return Authorization(str(row[0]), amount_cents), True
                return Authorization(str(row[0]), int(row[1])), False  # type: ignore[call-overload]
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            got = db.execute(
                "SELECT auth_id, amount_cents FROM charges WHERE reference = ?", (reference,)
            ).fetchone()
            created = got is None
            if got is None:
                auth_id = f"auth_{reference}"
                db.execute(
                    "INSERT INTO charges (reference, auth_id, amount_cents) VALUES (?, ?, ?)",
                    (reference, auth_id, amount_cents),
                )
                got = (auth_id, amount_cents)
                self.charges[reference] += 1
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return Authorization(str(got[0]), int(got[1])), created

    # ---- the gateway ------------------------------------------------------------------
    def _wait(self) -> None:
        if self.latency_s:
            time.sleep(self.latency_s)

    def authorize(self, *, amount_cents: int, token: str, reference: str) -> Authorization:
        """Authorise ``amount_cents`` once per ``reference`` (a repeat returns the same one).

        Raises: PaymentDeclined, GatewayTimeout, ValueError (negative amount)."""
        self._wait()
        if amount_cents < 0:
            raise ValueError(f"negative amount_cents {amount_cents}")
        if token == "tok_decline":
            raise PaymentDeclined(f"card declined for {reference}")
        if token == "tok_timeout":
            raise GatewayTimeout(f"gateway timed out for {reference}")
        auth, created = self._authorize(reference, amount_cents)
        if token == "tok_lost_answer" and created:
            raise GatewayTimeout(f"gateway answer lost for {reference} (charge made)")
        return auth

    def capture(self, auth: Authorization, amount_cents: int) -> None:
        """Capture up to the authorised amount (idempotent: sets the captured amount)."""
        self._wait()
        if amount_cents > auth.amount_cents:
            raise ValueError(f"capture {amount_cents} exceeds authorised {auth.amount_cents}")
        with self._lock:
            self.captured[auth.auth_id] = amount_cents
            ref = self._ref_of.get(auth.auth_id)
            if ref is not None:
                self._mem[ref][2] = amount_cents
        if self._path is not None:
            self._db().execute(
                "UPDATE charges SET captured_cents = ? WHERE auth_id = ?",
                (amount_cents, auth.auth_id),
            )

    def refund(self, auth_id: str, amount_cents: int) -> None:
        """Refund captured money. Raises ValueError beyond what was captured."""
        self._wait()
        if self._path is not None:
            cur = self._db().execute(
                "UPDATE charges SET refunded_cents = refunded_cents + ? "
                "WHERE auth_id = ? AND refunded_cents + ? <= captured_cents",
                (amount_cents, auth_id, amount_cents),
            )
            if cur.rowcount != 1:
                raise ValueError(f"refund {amount_cents} exceeds captured for {auth_id}")
            with self._lock:
                self.refunds[auth_id] += amount_cents
            return
        with self._lock:
            if self.refunds[auth_id] + amount_cents > self.captured[auth_id]:
                raise ValueError(f"refund {amount_cents} exceeds captured for {auth_id}")
            self.refunds[auth_id] += amount_cents
            ref = self._ref_of.get(auth_id)
            if ref is not None:
                row = self._mem[ref]
                row[3] = int(row[3]) + amount_cents  # type: ignore[call-overload]
