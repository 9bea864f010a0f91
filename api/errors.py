"""The exception root of the commerce service and its typed subclasses.

Every error a caller can cause is a :class:`ServiceError`; it *is* a
:class:`api.client.base.CommerceError`, so the in-process client raises it unchanged and the HTTP
layer maps it to its status and :class:`api.schemas.ErrorBody` in one place (``api.app``).
"""

from __future__ import annotations

from api.client.base import CommerceError


class ServiceError(CommerceError):
    """Root of all service errors. Subclasses fix ``code`` and ``status``."""

    code_default = "BAD_REQUEST"
    status_default = 400

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, object] | list[object] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(
            code or self.code_default, message, status=self.status_default, details=details
        )


class InvalidInputError(ServiceError):
    code_default = "VALIDATION_ERROR"
    status_default = 422


class UnauthenticatedError(ServiceError):
    code_default = "UNAUTHENTICATED"
    status_default = 401


class ForbiddenError(ServiceError):
    code_default = "FORBIDDEN"
    status_default = 403


class NotFoundError(ServiceError):
    code_default = "NOT_FOUND"
    status_default = 404


class ConflictError(ServiceError):
    code_default = "CONFLICT"
    status_default = 409


class InsufficientStockError(ServiceError):
    code_default = "INSUFFICIENT_STOCK"
    status_default = 409


class InvalidTransitionError(ServiceError):
    code_default = "INVALID_TRANSITION"
    status_default = 409


class IdempotencyMismatchError(ServiceError):
    code_default = "IDEMPOTENCY_MISMATCH"
    status_default = 422


class IdempotencyInProgressError(ServiceError):
    code_default = "IDEMPOTENCY_IN_PROGRESS"
    status_default = 409


class PaymentFailedError(ServiceError):
    """Declined or timed-out payment (``code`` PAYMENT_DECLINED or PAYMENT_TIMEOUT)."""

    code_default = "PAYMENT_DECLINED"
    status_default = 402


class ServiceUnavailableError(ServiceError):
    """The database is unreachable or overloaded (pool exhausted, connection slots used up,
    lock wait timed out). Retryable: the HTTP layer answers 503 with ``Retry-After``."""

    code_default = "SERVICE_UNAVAILABLE"
    status_default = 503


class PreconditionFailedError(ServiceError):
    """An ``If-Match`` version that is no longer current (optimistic concurrency)."""

    code_default = "PRECONDITION_FAILED"
    status_default = 412


class PreconditionRequiredError(ServiceError):
    """An update of versioned content sent without ``If-Match``."""

    code_default = "PRECONDITION_REQUIRED"
    status_default = 428


def error_from_stored(code: str, message: str, status: int, details: object) -> CommerceError:
    """Rebuild a stored error (idempotent replay) as the matching typed error."""
    for cls in _ALL:
        if cls.status_default == status and cls.code_default == code:
            return cls(message, details=details)  # type: ignore[arg-type]
    err = ServiceError(message, details=details, code=code)  # type: ignore[arg-type]
    err.status = status
    return err


_ALL: tuple[type[ServiceError], ...] = (
    InvalidInputError,
    UnauthenticatedError,
    ForbiddenError,
    NotFoundError,
    ConflictError,
    InsufficientStockError,
    InvalidTransitionError,
    IdempotencyMismatchError,
    IdempotencyInProgressError,
    PaymentFailedError,
    ServiceUnavailableError,
    PreconditionFailedError,
    PreconditionRequiredError,
)


# ---- promotions (api.services.promotions) ----------------------------------------------------
class VoucherNotFoundError(NotFoundError):
    code_default = "VOUCHER_NOT_FOUND"


class VoucherExpiredError(ConflictError):
    """The voucher's window has ended, has not begun, or the voucher was withdrawn."""

    code_default = "VOUCHER_EXPIRED"


class VoucherExhaustedError(ConflictError):
    """The voucher's total or per-customer usage limit is reached (``details.scope``)."""

    code_default = "VOUCHER_EXHAUSTED"


class VoucherNotApplicableError(ConflictError):
    """The voucher does not fit this cart or order (channel, SKUs, minimum subtotal)."""

    code_default = "VOUCHER_NOT_APPLICABLE"


_ALL = (
    *_ALL,
    VoucherNotFoundError,
    VoucherExpiredError,
    VoucherExhaustedError,
    VoucherNotApplicableError,
)
