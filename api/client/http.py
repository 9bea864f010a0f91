"""HTTP :class:`~api.client.base.CommerceClient` (httpx) against a running server.

Requests are built from the operation table (:mod:`api.client.operations`). Every error answer
is raised as the matching typed :class:`~api.client.base.CommerceError` subclass
(:func:`api.client.errors.typed_error`) with the server's ``code``, ``message``, ``details``,
the HTTP status and, for 429 and 503, ``retry_after_s`` from ``Retry-After``. A server that
cannot be reached (connection refused, timeout) raises ``ServiceUnavailableError`` with code
``UNREACHABLE``: the outcome of an unsafe call is then unknown, so retry it with the same
``Idempotency-Key``. The client is thread-safe (one pooled ``httpx.Client``); use one per
process or thread pool.

Example::

    with HttpClient("http://127.0.0.1:8000", api_key="dev-staff-key") as client:
        client.list_locations()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx

from api.client.base import CommerceError, OperationClient
from api.client.errors import UnexpectedResponseError, parse_retry_after, typed_error
from api.client.operations import Operation
from api.errors import ServiceUnavailableError

R = TypeVar("R")
_JSON = {"Content-Type": "application/json"}


class HttpClient(OperationClient):
    """CommerceClient over HTTP. ``api_key`` goes into the ``X-API-Key`` header."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"X-API-Key": api_key},
            timeout=timeout_s,
            transport=transport,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the one door ------------------------------------------------------------------
    def _invoke(self, op: Operation[R], args: Mapping[str, Any], key: str | None) -> R:
        req = op.http(args)
        headers: dict[str, str] | None = None
        content = None
        if req.body is not None:
            content = op.encode(req.body)
            headers = _JSON
        if key is not None:
            headers = {**(headers or {}), "Idempotency-Key": key}
        try:
            resp = self._http.request(
                req.verb, req.path, content=content, params=req.params, headers=headers
            )
        except httpx.TransportError as exc:
            err = ServiceUnavailableError(
                f"{req.verb} {req.path}: the server could not be reached ({type(exc).__name__})",
                code="UNREACHABLE",
                details={"cause": type(exc).__name__},
            )
            raise err from exc
        if resp.status_code >= 400:
            raise error_of(resp)
        return op.decode(resp.content)


def error_of(resp: httpx.Response) -> CommerceError:
    """The typed error for an error answer (an untyped body keeps the status as its code)."""
    retry = parse_retry_after(resp.headers.get("Retry-After"))
    try:
        body = resp.json()
        code, message, details = str(body["code"]), str(body["message"]), body.get("details")
    except (ValueError, KeyError, TypeError):
        code, message = f"HTTP_{resp.status_code}", resp.text[:500]
        if resp.status_code >= 500 and resp.status_code not in (503,):
            return UnexpectedResponseError(code, message, status=resp.status_code)
        details = None
    return typed_error(resp.status_code, code, message, details, retry)
