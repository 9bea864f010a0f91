"""The request guard: hostile input is refused before it costs anything.

A pure ASGI middleware in front of every route. For requests that carry a body it
1. authenticates the caller *before reading the body* (401 otherwise) and refuses a customer key
   on an endpoint only staff and service keys may call (403);
2. reads the body under a size limit enforced while reading (``Content-Length`` first, then the
   bytes received): ``max_body_bytes`` by default, ``max_bulk_body_bytes`` for the bulk endpoints
   and only for staff and service keys (413 ``PAYLOAD_TOO_LARGE``);
3. refuses JSON nested deeper than ``max_json_depth`` and strings carrying NUL characters or lone
   UTF-16 surrogates, which no column can store (422).
For every request it refuses NUL characters in the path and query string (422).

The caller it authenticated is left in the request state, so the route does not look it up
again. Every refusal is a typed :class:`api.schemas.ErrorBody`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool

from api.errors import ServiceError
from api.services.auth import Authenticator
from api.services.context import Principal

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CUSTOMER_WRITES = re.compile(
    r"^/v1/(carts|carts/\d+/(lines|voucher)|checkout|orders/\d+/(cancel|returns|rmas)|"
    r"batch(/.*)?|waiting-room/[^/]+|recommendations/views|visual-search)$"
)
"""Paths a customer key may send a body to; every other body-carrying endpoint is staff-only."""
BULK_PATHS = re.compile(
    r"^/v1/(skus/import|prices|stock/(receipts|levels|pos-sales|transfers)|"
    r"replenishment/plan|pricing/quote|batch(/.*)?)$"
)
"""Endpoints that take large bodies (from staff and service keys only)."""

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS_ONLY = bytes(b for b in range(256) if b not in b"[]{}")
_ESCAPED_BACKSLASH = re.compile(rb"\\\\")
_SURROGATE_PAIR = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def json_depth(raw: bytes) -> int:
    """Deepest nesting of arrays/objects in a JSON text (strings ignored)."""
    brackets = _STRINGS.sub(b'""', raw).translate(None, _BRACKETS_ONLY)
    if not brackets:
        return 0
    arr = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((arr == 91) | (arr == 123), 1, -1)
    return int(np.cumsum(steps).max())


def bad_string_reason(raw: bytes) -> str | None:
    """Why a JSON text's strings cannot be stored (NUL or lone surrogate), or None."""
    if b"\x00" in raw or (b"\\u0000" in raw and _NUL_ESCAPE.search(raw)):
        return "strings must not contain NUL characters"
    if b"\\ud" in raw or b"\\uD" in raw:
        s = _SURROGATE_PAIR.sub(b"", _ESCAPED_BACKSLASH.sub(b"", raw))
        if _SURROGATE.search(s):
            return "strings must not contain lone UTF-16 surrogates"
    return None


def _error(status: int, code: str, message: str, details: object = None) -> tuple[int, bytes]:
    body = json.dumps({"code": code, "message": message, "details": details}, ensure_ascii=True)
    return status, body.encode()


class RequestGuard:
    """ASGI middleware; see the module docstring. ``auth`` resolves API keys."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        auth: Authenticator,
        max_body_bytes: int,
        max_bulk_body_bytes: int,
        max_json_depth: int,
    ) -> None:
        self.app = app
        self.auth = auth
        self.max_body = max_body_bytes
        self.max_bulk = max_bulk_body_bytes
        self.max_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        qs: bytes = scope.get("query_string", b"")
        if "\x00" in path or b"%00" in qs or b"\x00" in qs:
            await _reply(send, *_error(422, "VALIDATION_ERROR", "NUL characters are not allowed"))
            return
        if scope["method"] not in _WRITES:
            await self.app(scope, receive, send)
            return
        # 1. who is asking, before a single body byte is read
        token = _token(scope)
        who = self.auth.cached(token)
        if who is None:
            try:
                who = await run_in_threadpool(self.auth.authenticate, token)
            except ServiceError as exc:
                await _reply(send, *_error(exc.status, exc.code, exc.message, exc.details))
                return
            except Exception:  # database unavailable: let the route answer its typed 503
                await self.app(scope, receive, send)
                return
        if who.role == "customer" and not CUSTOMER_WRITES.match(path):
            await _reply(
                send,
                *_error(
                    403,
                    "FORBIDDEN",
                    f"{scope['method']} {path} needs a staff or service key",
                    {"role": who.role},
                ),
            )
            return
        scope.setdefault("state", {})["principal"] = who
        # 2. the body, under its limit
        limit = self.max_bulk if who.is_staff and BULK_PATHS.match(path) else self.max_body
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _reply(send, *_too_large(limit))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _reply(send, *_too_large(limit))
                return
            chunks.append(chunk)
            more = msg.get("more_body", False)
        raw = b"".join(chunks)
        # 3. what no column can hold, and nesting no request needs
        if raw and _is_json(scope):
            reason = bad_string_reason(raw)
            if reason is not None:
                await _reply(send, *_error(422, "VALIDATION_ERROR", reason))
                return
            if (b"[[" in raw or raw.count(b"{") + raw.count(b"[") > self.max_depth) and (
                depth := json_depth(raw)
            ) > self.max_depth:
                await _reply(
                    send,
                    *_error(
                        422,
                        "VALIDATION_ERROR",
                        f"JSON nested {depth} levels deep; at most {self.max_depth} allowed",
                        {"field": "body", "max_depth": self.max_depth},
                    ),
                )
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _too_large(limit: int) -> tuple[int, bytes]:
    return _error(
        413,
        "PAYLOAD_TOO_LARGE",
        f"request body larger than {limit} bytes",
        {"max_bytes": limit},
    )


def _token(scope: Scope) -> str | None:
    bearer = None
    for k, v in scope["headers"]:
        if k == b"x-api-key":
            return str(v.decode("latin-1"))
        if k == b"authorization":
            text = v.decode("latin-1")
            if text.lower().startswith("bearer "):
                bearer = text[7:].strip()
    return bearer


def _content_length(scope: Scope) -> int | None:
    for k, v in scope["headers"]:
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None


def _is_json(scope: Scope) -> bool:
    for k, v in scope["headers"]:
        if k == b"content-type":
            return b"json" in v.lower()
    return True  # FastAPI parses a body without a content type as JSON


async def _reply(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def principal_of(scope: Scope) -> Principal | None:
    """The caller the guard authenticated for this request, if any."""
    state = scope.get("state")
    if isinstance(state, dict):
        who = state.get("principal")
        if isinstance(who, Principal):
            return who
    return None
