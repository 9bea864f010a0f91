"""The payment gateway interface and a simulated gateway.

The checkout calls the gateway with no database transaction open. The simulated gateway
understands the tokens ``tok_ok`` (approves), ``tok_decline`` (declines) and ``tok_timeout``
(times out), is idempotent per ``reference`` (an order is charged at most once however often it
is retried) and counts its calls so tests can prove "each charge once".
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Protocol


class GatewayError(Exception):
    """Root of gateway failures."""


class PaymentDeclined(GatewayError):  # noqa: N818 - domain name, not an error suffix
    """The card issuer declined."""


class GatewayTimeout(GatewayError):  # noqa: N818
    """No answer in time; the authorisation is treated as not made."""


@dataclass(frozen=True, slots=True)
class Authorization:
    auth_id: str
    amount_cents: int


class PaymentGateway(Protocol):
    """Authorise, capture and refund amounts in integer minor units."""

    def authorize(self, *, amount_cents: int, token: str, reference: str) -> Authorization: ...
    def capture(self, auth: Authorization, amount_cents: int) -> None: ...
    def refund(self, auth_id: str, amount_cents: int) -> None: ...


class SimulatedGateway:
    """In-memory gateway. ``latency_s`` sleeps in every call to mimic a remote service.

    ``charges`` counts successful authorisations per reference; ``refunds`` sums refunded cents
    per authorisation id.
    """

    def __init__(self, latency_s: float = 0.0) -> None:
        if latency_s < 0:
            raise ValueError(f"negative gateway latency {latency_s}")
        self.latency_s = latency_s
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._by_ref: dict[str, Authorization] = {}
        self.charges: Counter[str] = Counter()
        self.captured: Counter[str] = Counter()
        self.refunds: Counter[str] = Counter()

    def _wait(self) -> None:
        if self.latency_s:
            time.sleep(self.latency_s)

    def authorize(self, *, amount_cents: int, token: str, reference: str) -> Authorization:
        self._wait()
        if amount_cents < 0:
            raise ValueError(f"negative amount_cents {amount_cents}")
        if token == "tok_decline":
            raise PaymentDeclined(f"card declined for {reference}")
        if token == "tok_timeout":
            raise GatewayTimeout(f"gateway timed out for {reference}")
        with self._lock:
            auth = self._by_ref.get(reference)
            if auth is None:
                auth = Authorization(f"auth_{next(self._ids)}", amount_cents)
                self._by_ref[reference] = auth
                self.charges[reference] += 1
            return auth

    def capture(self, auth: Authorization, amount_cents: int) -> None:
        self._wait()
        if amount_cents > auth.amount_cents:
            raise ValueError(f"capture {amount_cents} exceeds authorised {auth.amount_cents}")
        with self._lock:
            self.captured[auth.auth_id] = amount_cents

    def refund(self, auth_id: str, amount_cents: int) -> None:
        self._wait()
        with self._lock:
            if self.refunds[auth_id] + amount_cents > self.captured[auth_id]:
                raise ValueError(f"refund {amount_cents} exceeds captured for {auth_id}")
            self.refunds[auth_id] += amount_cents
