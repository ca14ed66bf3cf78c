"""Domain errors, raised anywhere inside and turned into HTTP in one place (``web.errors``)."""

from __future__ import annotations


class ComprimemeloError(Exception):
    """Base of every error a client can cause or must be told about."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def details(self) -> dict:
        """Fields the error object carries besides ``code`` and ``message``."""
        return {}


class InvalidInput(ComprimemeloError):
    status, code = 400, "invalid_input"


class Unauthorized(ComprimemeloError):
    status, code = 401, "unauthorized"


class Forbidden(ComprimemeloError):
    """Authenticated, but this needs more: the password again, say."""

    status, code = 403, "forbidden"


class NotFound(ComprimemeloError):
    status, code = 404, "not_found"


class Conflict(ComprimemeloError):
    status, code = 409, "conflict"


class Gone(ComprimemeloError):
    """The resource existed but its retention ended: its files are deleted."""

    status, code = 410, "expired"


class PayloadTooLarge(ComprimemeloError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ComprimemeloError):
    status, code = 415, "unsupported_media_type"


class TooManyRequests(ComprimemeloError):
    status, code = 429, "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(ComprimemeloError):
    """A backend (database, storage, queue) is unreachable; the client may retry."""

    status, code = 503, "unavailable"
    retry_after = 5
