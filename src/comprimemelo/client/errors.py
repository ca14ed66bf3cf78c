"""What can go wrong when talking to a comprimemelo server, as the client raises it."""

from __future__ import annotations


class ClientError(Exception):
    """Base of the client's errors; ``str()`` is a one-line message for a person."""


class ApiError(ClientError):
    """The server answered with an error: ``{"error": {"code", "message", ...}}``.

    ``details`` holds the error object's other fields (a quota's ``limit`` and
    ``used``, an upload's ``offset``); ``retry_after`` is the ``Retry-After``
    header in seconds, when sent.
    """

    def __init__(
        self, status: int, code: str, message: str, *, details: dict | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{message} (HTTP {status} {code})")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, response) -> ApiError:
        """The error of a ``requests.Response``, whatever shape its body has."""
        try:
            error = response.json()["error"]
            code, message = str(error["code"]), str(error["message"])
            details = {name: value for name, value in error.items() if name not in ("code", "message")}
        except (ValueError, KeyError, TypeError):
            code = "http_error"
            message = response.reason or "the server answered with an error"
            details = {}
        return cls(response.status_code, code, message, details=details,
                   retry_after=retry_after_seconds(response.headers.get("Retry-After")))

    def as_json(self) -> dict:
        return {"error": {**self.details, "status": self.status, "code": self.code, "message": self.message}}


class NetworkError(ClientError):
    """No HTTP answer: the server cannot be reached, the connection broke, or it timed out."""


class NotLoggedIn(ClientError):
    """No stored credentials for a server, or they expired."""


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the API sends delays, never dates); ``None`` if absent or odd."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
