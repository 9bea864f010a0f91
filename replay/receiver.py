"""A reference webhook receiver: verifies signatures, applies each event at most once.

:class:`WebhookReceiver` serves ``POST /`` (any path) on 127.0.0.1 in a thread. For each
request it checks ``ShopSphere-Signature`` (:func:`api.client.webhooks.verify_signature`; a bad
one is answered 401 and counted) and applies the event through a
:class:`api.client.webhooks.DedupLedger` keyed by ``ShopSphere-Event-Id``, so a redelivered
event is acknowledged (200) without a second effect. The "effect" is recording the event's type
and order id in :attr:`WebhookReceiver.applied`; :attr:`WebhookReceiver.received` counts every
delivery by event id. :meth:`WebhookReceiver.set_down` makes it answer 503 (an outage).

The replay's post-run check runs one and compares what it applied with the outbox.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from api.client.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    DedupLedger,
    WebhookSignatureError,
    verify_signature,
)


class WebhookReceiver:
    """A signature-checking, deduplicating receiver on ``127.0.0.1:port`` (0: a free port)."""

    def __init__(
        self,
        secret: str,
        *,
        port: int = 0,
        ledger_path: Path | None = None,
        delay_s: float = 0.0,
    ) -> None:
        self.secret = secret
        self.delay_s = delay_s  # a slow receiver (tests: a dispatcher killed mid-batch)
        self.ledger = DedupLedger(ledger_path)
        self.received: Counter[str] = Counter()
        self.applied: dict[str, tuple[str, int]] = {}  # event id -> (type, order id)
        self.effects: Counter[str] = Counter()  # event id -> times its effect ran
        self.bad_signatures = 0
        self.refused_while_down = 0
        self._down = False
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                code = receiver._handle(
                    body, self.headers.get(SIGNATURE_HEADER), self.headers.get(EVENT_ID_HEADER)
                )
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def set_down(self, down: bool) -> None:
        """While down, every delivery is answered 503 and nothing is applied."""
        self._down = down

    def _handle(self, body: bytes, signature: str | None, event_id: str | None) -> int:
        if self.delay_s:
            time.sleep(self.delay_s)
        if self._down:
            with self._lock:
                self.refused_while_down += 1
            return 503
        try:
            verify_signature(self.secret, body, signature)
        except WebhookSignatureError:
            with self._lock:
                self.bad_signatures += 1
            return 401
        try:
            event = json.loads(body)
        except ValueError:
            return 400
        if not event_id or event.get("id") != event_id:
            return 400
        with self._lock:
            self.received[event_id] += 1

        def effect() -> None:
            with self._lock:
                self.effects[event_id] += 1
                self.applied[event_id] = (
                    str(event.get("type")),
                    int(event.get("data", {}).get("order_id", 0)),
                )

        self.ledger.apply_once(event_id, effect)
        return 200

    def summary(self) -> dict[str, int]:
        """Counts: deliveries received, distinct events, effects, duplicate effects, refused."""
        with self._lock:
            return {
                "deliveries_received": sum(self.received.values()),
                "events_received": len(self.received),
                "effects_applied": sum(self.effects.values()),
                "duplicate_effects": sum(n - 1 for n in self.effects.values() if n > 1),
                "bad_signatures": self.bad_signatures,
                "refused_while_down": self.refused_while_down,
            }

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.ledger.close()
