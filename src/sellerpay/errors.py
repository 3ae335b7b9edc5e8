"""The one error hierarchy of Sellerpay, and the `invariant` check.

Services raise these; `sellerpay.api` maps them once to RFC 9457 problem details and
`sellerpay.cli` to exit codes. Every error carries a stable `code` (named for the rule that
failed) and keyword-only context that is safe to show to the caller.

    SellerpayError
    ├── InvalidInput           422  the request itself is wrong (bad amount, unknown currency…)
    │   └── LimitExceeded      413  a named limit was exceeded (batch_size_max…)
    ├── NotFound               404  no such thing, or not yours to see
    ├── Conflict               409  the request contradicts what is stored (reused key…)
    ├── Rejected               422  valid, but a business rule refuses it (flags, funds)
    ├── Unauthenticated        401
    ├── Forbidden              403
    └── Unavailable            503  a dependency is down; retrying later may succeed
    InvariantViolation              a bug: stored state broke a rule that must always hold
"""

from __future__ import annotations

from typing import Any, ClassVar


class SellerpayError(Exception):
    """Base of every error a service raises on purpose."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "error"
    title: ClassVar[str] = "Request failed"

    def __init__(self, detail: str, *, code: str | None = None, **context: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.context = context

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


class InvalidInput(SellerpayError):
    """The input is malformed or breaks a validation rule; nothing was stored."""

    status = 422
    default_code = "invalid_input"
    title = "Invalid input"


class LimitExceeded(InvalidInput):
    """A named limit (batch size, page size, body size) was exceeded."""

    status = 413
    default_code = "limit_exceeded"
    title = "Limit exceeded"


class NotFound(SellerpayError):
    """No such resource, or the caller may not know it exists."""

    status = 404
    default_code = "not_found"
    title = "Not found"


class Conflict(SellerpayError):
    """The request contradicts stored state, e.g. an idempotency key reused with another body."""

    status = 409
    default_code = "conflict"
    title = "Conflict"


class Rejected(SellerpayError):
    """Valid input that a business rule refuses (an account flag, insufficient funds…)."""

    status = 422
    default_code = "rejected"
    title = "Rejected by a rule"


class Unauthenticated(SellerpayError):
    """No credentials, or credentials that do not identify anyone."""

    status = 401
    default_code = "unauthenticated"
    title = "Authentication required"


class Forbidden(SellerpayError):
    """The caller is known but their role does not allow this action."""

    status = 403
    default_code = "forbidden"
    title = "Forbidden"


class Unavailable(SellerpayError):
    """A dependency (database, broker) is unavailable; the request may be retried."""

    status = 503
    default_code = "unavailable"
    title = "Service unavailable"


class InvariantViolation(Exception):
    """Stored or computed state broke a rule that must always hold. This is a bug, never input."""


def invariant(condition: bool, message: str) -> None:
    """Raise `InvariantViolation` unless `condition` holds (unlike `assert`, survives `-O`)."""
    if not condition:
        raise InvariantViolation(message)
