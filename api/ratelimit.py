"""Rate limits per API key and per client address (token buckets), as ASGI middleware.

Every request outside ``/v1/health`` and the docs takes one token from the bucket of its API
key (``X-API-Key`` or ``Authorization: Bearer``) and one from the bucket of its client address.
A bucket holds at most ``burst`` tokens and refills at ``per_s`` tokens a second. A request that
finds either bucket empty takes nothing and is answered ``429`` with the typed body
``{"code": "RATE_LIMITED", "message": ..., "details": {"limit": "key"|"address",
"retry_after_s": n}}`` and ``Retry-After: n`` (whole seconds until a token is back, at least 1).

Keys the authenticator already knows as ``staff`` or ``service`` are not limited (operations
must not be locked out by a sale). Settings (``SHOPSPHERE_`` prefix): ``RATE_LIMIT_KEY_PER_S``,
``RATE_LIMIT_KEY_BURST``, ``RATE_LIMIT_IP_PER_S``, ``RATE_LIMIT_IP_BURST`` (0 per second: off),
``RATE_LIMIT_TRUST_FORWARDED`` (take the address from ``X-Forwarded-For``, behind a proxy).

Buckets live in the worker process: with ``N`` uvicorn workers a client that spreads its
connections over them gets up to ``N`` times the limit. A shared limit needs a shared store.

Load shedding (:class:`InFlightLimit`, ``SHOPSPHERE_MAX_IN_FLIGHT``, 0: off): at most that many
requests are being served by one worker at a time; one more is answered at once with ``503``
``{"code": "OVERLOADED", ..., "details": {"max_in_flight": n, "retry_after_s": 1}}`` and
``Retry-After: 1``, before it costs a database round trip. Without it an overloaded worker
queues requests without bound (open-loop clients keep arriving), and every answer comes later
than the one before: the flash-sale benchmark's collapse. Staff and service keys the
authenticator has cached, and ``/v1/health``, are never shed.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

EXEMPT_PATHS = frozenset({"/v1/health", "/docs", "/redoc", "/openapi.json"})
EXEMPT_ROLES = frozenset({"staff", "service"})


class TokenBuckets:
    """Token buckets by name: ``burst`` tokens at most, refilled at ``per_s`` tokens a second.

    Idle full buckets are dropped once more than ``max_entries`` exist, so memory stays bounded
    under a flood of distinct keys or addresses.
    """

    def __init__(self, per_s: float, burst: int, *, max_entries: int = 100_000) -> None:
        if per_s <= 0 or burst < 1:
            raise ValueError(f"rate {per_s!r}/s with burst {burst!r} is not a limit")
        self.per_s = per_s
        self.burst = float(burst)
        self.max_entries = max_entries
        self._state: dict[str, tuple[float, float]] = {}  # name -> (tokens, at)

    def _tokens(self, name: str, now: float) -> float:
        tokens, at = self._state.get(name, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.per_s)

    def wait_s(self, name: str, now: float) -> float:
        """Seconds until ``name`` has a token (0: it has one now). Takes nothing."""
        tokens = self._tokens(name, now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.per_s

    def take(self, name: str, now: float) -> None:
        """Take one token (call after :meth:`wait_s` returned 0)."""
        self._state[name] = (self._tokens(name, now) - 1.0, now)
        if len(self._state) > self.max_entries:
            self._prune(now)

    def _prune(self, now: float) -> None:
        full = [
            n for n, (tok, at) in self._state.items() if tok + (now - at) * self.per_s >= self.burst
        ]
        for n in full:
            del self._state[n]


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Limits; a ``*_per_s`` of 0 switches that limit off."""

    key_per_s: float = 0.0
    key_burst: int = 20
    ip_per_s: float = 0.0
    ip_burst: int = 200
    trust_forwarded: bool = False

    @property
    def enabled(self) -> bool:
        return self.key_per_s > 0 or self.ip_per_s > 0

    @staticmethod
    def from_settings(settings: Any) -> RateLimitConfig:
        return RateLimitConfig(
            key_per_s=float(getattr(settings, "rate_limit_key_per_s", 0.0)),
            key_burst=int(getattr(settings, "rate_limit_key_burst", 20)),
            ip_per_s=float(getattr(settings, "rate_limit_ip_per_s", 0.0)),
            ip_burst=int(getattr(settings, "rate_limit_ip_burst", 200)),
            trust_forwarded=bool(getattr(settings, "rate_limit_trust_forwarded", False)),
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return bytes(v).decode("latin-1")
    return None


class RateLimitMiddleware:
    """ASGI middleware enforcing :class:`RateLimitConfig` (see the module docstring).

    Args:
        app: the wrapped ASGI app.
        config: the limits.
        clock: monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        app: ASGIApp,
        config: RateLimitConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.config = config
        self.clock = clock
        self.keys = (
            TokenBuckets(config.key_per_s, config.key_burst) if config.key_per_s > 0 else None
        )
        self.ips = TokenBuckets(config.ip_per_s, config.ip_burst) if config.ip_per_s > 0 else None
        self.rejected = 0

    def _address(self, scope: Scope) -> str:
        if self.config.trust_forwarded:
            fwd = _header(scope, b"x-forwarded-for")
            if fwd:
                return fwd.split(",")[0].strip()
        client = scope.get("client")
        return str(client[0]) if client else "unknown"

    @staticmethod
    def _token(scope: Scope) -> str | None:
        token = _header(scope, b"x-api-key")
        if token is None:
            auth = _header(scope, b"authorization")
            if auth and auth.lower().startswith("bearer "):
                token = auth[7:].strip()
        return token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        token = self._token(scope)
        if token is not None:
            app = scope.get("app")
            auth = getattr(getattr(app, "state", None), "auth", None)
            who = auth.cached(token) if auth is not None else None
            if who is not None and who.role in EXEMPT_ROLES:
                await self.app(scope, receive, send)
                return
        now = self.clock()
        key_name = hashlib.blake2b((token or "").encode(), digest_size=16).hexdigest()
        ip_name = self._address(scope)
        wait, limit = 0.0, ""
        if self.keys is not None and token is not None:
            wait, limit = self.keys.wait_s(key_name, now), "key"
        if self.ips is not None and wait == 0.0:
            wait, limit = self.ips.wait_s(ip_name, now), "address"
        if wait > 0:
            self.rejected += 1
            await self._reject(send, limit, wait)
            return
        if self.keys is not None and token is not None:
            self.keys.take(key_name, now)
        if self.ips is not None:
            self.ips.take(ip_name, now)
        await self.app(scope, receive, send)

    @staticmethod
    async def _reject(send: Send, limit: str, wait_s: float) -> None:
        retry_after = max(1, math.ceil(wait_s))
        body = orjson.dumps(
            {
                "code": "RATE_LIMITED",
                "message": f"too many requests for this {limit}; retry after {retry_after} s",
                "details": {"limit": limit, "retry_after_s": retry_after},
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", str(retry_after).encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class InFlightLimit:
    """ASGI middleware: sheds requests beyond ``max_in_flight`` served at once by this worker
    (503 ``OVERLOADED`` with ``Retry-After``; see the module docstring)."""

    def __init__(self, app: ASGIApp, max_in_flight: int, retry_after_s: int = 1) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight {max_in_flight!r} would shed every request")
        self.app = app
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s
        self.in_flight = 0
        self.shed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight and not self._exempt(scope):
            self.shed += 1
            body = orjson.dumps(
                {
                    "code": "OVERLOADED",
                    "message": f"this worker is serving {self.in_flight} requests, its limit; "
                    f"retry after {self.retry_after_s} s",
                    "details": {
                        "max_in_flight": self.max_in_flight,
                        "retry_after_s": self.retry_after_s,
                    },
                }
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", str(self.retry_after_s).encode()),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        self.in_flight += 1  # one event loop per worker: no lock needed
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    @staticmethod
    def _exempt(scope: Scope) -> bool:
        token = RateLimitMiddleware._token(scope)
        if token is None:
            return False
        auth = getattr(getattr(scope.get("app"), "state", None), "auth", None)
        who = auth.cached(token) if auth is not None else None
        return who is not None and who.role in EXEMPT_ROLES


def install(app: Any, settings: Any) -> None:
    """Add the middleware to a FastAPI ``app`` when ``settings`` switch a limit on, and the
    load shedder (outermost: it runs first) when ``max_in_flight`` is set."""
    config = RateLimitConfig.from_settings(settings)
    if config.enabled:
        app.add_middleware(RateLimitMiddleware, config=config)
    max_in_flight = int(getattr(settings, "max_in_flight", 0) or 0)
    if max_in_flight > 0:
        app.add_middleware(InFlightLimit, max_in_flight=max_in_flight)
