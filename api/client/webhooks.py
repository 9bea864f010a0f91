"""For webhook receivers: verify ShopSphere's signature and apply each event at most once.

The API's outbox dispatcher (:mod:`api.webhooks`) POSTs every order event as JSON to each
configured endpoint with these headers:

* ``ShopSphere-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``: the HMAC, keyed with the
  shared secret (``SHOPSPHERE_WEBHOOK_SECRET``), of ``<t>.`` followed by the raw body bytes;
* ``ShopSphere-Event-Id: evt_<n>``: stable across every retry of the event: the dedup id;
* ``ShopSphere-Event-Type``: ``order.placed``, ``order.paid``, ``order.cancelled`` or
  ``order.refunded``; ``ShopSphere-Delivery-Attempt``: 1, 2, ...

Delivery is at least once: a receiver may get an event twice (a dispatcher crashed after the
POST and before booking it, or the answer was lost). :class:`DedupLedger` makes the receiver's
effect happen at most once per event id, also across the receiver's restarts (SQLite file).

Example (any web framework)::

    verify_signature(SECRET, raw_body, request.headers["ShopSphere-Signature"])
    ledger.apply_once(request.headers["ShopSphere-Event-Id"], lambda: handle(json.loads(raw_body)))
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

SIGNATURE_HEADER = "ShopSphere-Signature"
EVENT_ID_HEADER = "ShopSphere-Event-Id"
EVENT_TYPE_HEADER = "ShopSphere-Event-Type"
ATTEMPT_HEADER = "ShopSphere-Delivery-Attempt"
DEFAULT_TOLERANCE_S = 300.0
"""Signatures older (or further in the future) than this are refused: a replayed capture of an
old request does not verify."""


class WebhookSignatureError(Exception):
    """The signature header is missing, malformed, stale or does not match the body.

    ``reason`` is one of ``missing``, ``malformed``, ``stale``, ``mismatch``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def sign(secret: str, body: bytes, timestamp_s: int) -> str:
    """The ``ShopSphere-Signature`` header value for ``body`` sent at ``timestamp_s``."""
    mac = hmac.new(secret.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256)
    return f"t={timestamp_s},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    now_s: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> int:
    """Check a ``ShopSphere-Signature`` header against the raw ``body``; returns its timestamp.

    Several ``v1=`` entries are accepted (any one matching: secrets being rotated). Compares in
    constant time.

    Raises:
        WebhookSignatureError: missing or malformed header, a timestamp more than
            ``tolerance_s`` seconds from ``now_s`` (default: the system clock), or no match.
    """
    if not header:
        raise WebhookSignatureError("missing", f"no {SIGNATURE_HEADER} header")
    ts: int | None = None
    sigs: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            ts = int(value)
        elif name == "v1" and value:
            sigs.append(value)
    if ts is None or not sigs:
        raise WebhookSignatureError(
            "malformed", f"{SIGNATURE_HEADER} {header[:80]!r} lacks t=<seconds> or v1=<hex>"
        )
    now = time.time() if now_s is None else now_s
    if abs(now - ts) > tolerance_s:
        raise WebhookSignatureError(
            "stale", f"signature timestamp {ts} is {now - ts:.0f} s from now (limit {tolerance_s})"
        )
    expected = sign(secret, body, ts).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, s) for s in sigs):
        raise WebhookSignatureError("mismatch", "signature does not match the body")
    return ts


class DedupLedger:
    """Applies each event's effect at most once, by event id (thread-safe).

    ``path``: a SQLite file, so that the ledger survives a restart of the receiver; None keeps
    it in memory. The id commits after the effect ran; a receiver whose effect is a write to its
    own database should record the id in that same transaction instead (the same idea, one
    transaction, no window between the two).
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (event_id TEXT PRIMARY KEY)")
        self._db.commit()
        self._lock = threading.Lock()

    def apply_once(self, event_id: str, effect: Callable[[], None]) -> bool:
        """Run ``effect`` unless ``event_id`` was applied before; True when it ran.

        If ``effect`` raises, the id is not recorded (a retry will apply it) and the error
        propagates."""
        with self._lock:
            try:
                self._db.execute("INSERT INTO seen (event_id) VALUES (?)", (event_id,))
            except sqlite3.IntegrityError:
                self._db.rollback()
                return False
            try:
                effect()
            except BaseException:
                self._db.rollback()
                raise
            self._db.commit()
            return True

    def seen(self) -> set[str]:
        """Every event id applied so far."""
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT event_id FROM seen")}

    def close(self) -> None:
        self._db.close()
