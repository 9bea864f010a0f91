"""Error bodies -> typed :class:`~api.client.base.CommerceError` subclasses (both doors).

An error answer (HTTP, or a batch item's :class:`~api.schemas_batch.ItemError`) becomes the
class the service would have raised in-process: ``InsufficientStockError`` for
``409 INSUFFICIENT_STOCK``, ``ServiceUnavailableError`` for ``503``, and so on, matched on
``(code, status)`` first and on the status alone otherwise (keeping the answer's code).
``429`` becomes :class:`TooManyRequestsError`; 429 and 503 carry ``retry_after_s`` from the
``Retry-After`` header (or the body's ``details.retry_after_s``).
"""

from __future__ import annotations

from typing import Any

from api.client.base import CommerceError
from api.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PaymentFailedError,
    ServiceError,
    ServiceUnavailableError,
    UnauthenticatedError,
)


class TooManyRequestsError(CommerceError):
    """429: the caller is rate limited; retry after ``retry_after_s`` seconds."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "RATE_LIMITED",
        details: dict[str, object] | list[object] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(code, message, status=429, details=details, retry_after_s=retry_after_s)


class UnexpectedResponseError(CommerceError):
    """A 5xx answer without a typed body (a server bug), or a body that is not an error body."""


_BY_STATUS: dict[int, type[ServiceError]] = {
    400: ServiceError,
    401: UnauthenticatedError,
    402: PaymentFailedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidInputError,
    503: ServiceUnavailableError,
}


def _subclasses(cls: type[ServiceError]) -> list[type[ServiceError]]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


def _exact(code: str, status: int) -> type[ServiceError] | None:
    # looked up per error (rare): subclasses added by other modules are found too
    for cls in _subclasses(ServiceError):
        if cls.code_default == code and cls.status_default == status:
            return cls
    return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds (an HTTP date gives None)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def typed_error(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    retry_after_s: float | None = None,
) -> CommerceError:
    """The typed error for an error answer (see the module docstring)."""
    if retry_after_s is None and isinstance(details, dict):
        hint = details.get("retry_after_s")
        if isinstance(hint, int | float) and not isinstance(hint, bool):
            retry_after_s = float(hint)
    err: CommerceError
    if status == 429:
        err = TooManyRequestsError(message, code=code, details=details)
    else:
        cls = _exact(code, status) or _BY_STATUS.get(status)
        if cls is None:
            err = (
                UnexpectedResponseError(code, message, status=status, details=details)
                if status >= 500
                else CommerceError(code, message, status=status, details=details)
            )
        else:
            err = cls(message, details=details, code=code)
            err.status = status
    err.retry_after_s = retry_after_s
    return err
