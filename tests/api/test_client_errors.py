"""Both doors raise the typed CommerceError subclass of an error outcome: the HTTP client maps
every typed error body (503 and 429 with Retry-After included), the in-process client maps an
unreachable database to a retryable 503."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from api.client.errors import TooManyRequestsError, UnexpectedResponseError
from api.client.http import HttpClient
from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.db import make_engine
from api.errors import (
    ConflictError,
    IdempotencyInProgressError,
    InsufficientStockError,
    NotFoundError,
    PaymentFailedError,
    ServiceUnavailableError,
)
from api.payments import SimulatedGateway
from api.schemas import CheckoutRequest
from api.services.context import Principal, ServiceContext


def _client(status: int, body: object, headers: dict[str, str] | None = None) -> HttpClient:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return HttpClient("http://shop.test", "k", transport=httpx.MockTransport(answer))


def _raised(client: HttpClient) -> Exception:
    with pytest.raises(Exception) as info:
        client.checkout(CheckoutRequest(cart_id=1), idempotency_key="k-1")
    return info.value


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (409, "INSUFFICIENT_STOCK", InsufficientStockError),
        (409, "IDEMPOTENCY_IN_PROGRESS", IdempotencyInProgressError),
        (409, "CART_CLOSED", ConflictError),
        (404, "NOT_FOUND", NotFoundError),
        (402, "PAYMENT_TIMEOUT", PaymentFailedError),
    ],
)
def test_http_error_bodies_become_their_typed_errors(status: int, code: str, cls: type) -> None:
    details = [{"sku": "A", "code": code, "requested": 2, "available": 1}]
    exc = _raised(_client(status, {"code": code, "message": "m", "details": details}))
    assert type(exc) is cls
    assert (exc.code, exc.status, exc.details, exc.message) == (code, status, details, "m")  # type: ignore[attr-defined]


def test_http_503_carries_retry_after_from_the_header() -> None:
    body = {"code": "SERVICE_UNAVAILABLE", "message": "busy", "details": {"retry_after_s": 1}}
    exc = _raised(_client(503, body, {"Retry-After": "2"}))
    assert isinstance(exc, ServiceUnavailableError)
    assert (exc.status, exc.code, exc.retry_after_s) == (503, "SERVICE_UNAVAILABLE", 2.0)


def test_http_429_is_too_many_requests_with_retry_after() -> None:
    body = {"code": "RATE_LIMITED", "message": "slow down", "details": None}
    exc = _raised(_client(429, body, {"Retry-After": "3"}))
    assert isinstance(exc, TooManyRequestsError)
    assert (exc.status, exc.code, exc.retry_after_s) == (429, "RATE_LIMITED", 3.0)


def test_http_untyped_500_is_an_unexpected_response_not_an_httpx_error() -> None:
    exc = _raised(_client(500, "<html>oops</html>"))
    assert isinstance(exc, UnexpectedResponseError)
    assert (exc.status, exc.code) == (500, "HTTP_500")


def test_http_unreachable_server_is_a_retryable_503() -> None:
    client = HttpClient("http://127.0.0.1:9", "k", timeout_s=2)
    exc = _raised(client)
    assert isinstance(exc, ServiceUnavailableError)
    assert (exc.status, exc.code) == (503, "UNREACHABLE")


def test_inprocess_unreachable_database_is_a_typed_503_with_retry_after() -> None:
    engine = make_engine("postgresql+psycopg://nobody:x@127.0.0.1:9/none", pool_size=1)
    ctx = ServiceContext(
        engine=engine,
        clock=ManualClock(),
        gateway=SimulatedGateway(),
        reservation_ttl=timedelta(seconds=900),
    )
    client = InProcessClient(ctx, Principal(role="staff", key_id=1))
    with pytest.raises(ServiceUnavailableError) as info:
        client.list_locations()
    assert info.value.status == 503 and info.value.retry_after_s == 1.0
    assert info.value.details == {"retry_after_s": 1.0, "cause": "OperationalError"}
