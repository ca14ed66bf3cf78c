"""Webhook delivery over HTTP(S) with the standard library's ``http.client``.

``http.client`` lets us connect to the exact address ``targets.resolve``
checked (TLS still verifies the certificate against the host name) and never
follows a redirect on its own: a 3xx is an answer like any other.
"""

from __future__ import annotations

import dataclasses
import http.client
import socket
import ssl
from typing import Protocol

from comprimemelo import __version__
from comprimemelo.notifications.targets import Target

USER_AGENT = f"comprimemelo-webhooks/{__version__}"
# Addresses of a host tried in turn when one does not answer (each within the timeout).
MAX_ADDRESSES_TRIED = 2
# Enough of the answer to show the user why it failed, no more.
MAX_ERROR_BODY_BYTES = 200


@dataclasses.dataclass(frozen=True)
class WebhookAnswer:
    status: int
    retry_after: float | None = None
    excerpt: str = ""


class WebhookNetworkError(Exception):
    """No HTTP answer: refused, reset, timed out, TLS failure."""


class Webhooks(Protocol):
    """The port: POST a body to a checked target, return the HTTP answer."""

    def post(self, target: Target, body: bytes, headers: dict[str, str]) -> WebhookAnswer: ...


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, address: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, address: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class HttpWebhooks:
    """POSTs with ``http.client``, connecting to the target's checked addresses in turn."""

    def __init__(self, timeout_seconds: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout_seconds
        self.ssl_context = ssl_context or ssl.create_default_context()

    def post(self, target: Target, body: bytes, headers: dict[str, str]) -> WebhookAnswer:
        """:raise WebhookNetworkError: if no address gave an HTTP answer."""
        errors = []
        for address in target.addresses[:MAX_ADDRESSES_TRIED]:
            connection = self._connection(target, address)
            try:
                connection.request(
                    "POST",
                    target.path,
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        "User-Agent": USER_AGENT,
                        **headers,
                    },
                )
                response = connection.getresponse()
                excerpt = response.read(MAX_ERROR_BODY_BYTES).decode("utf-8", "replace")
                return WebhookAnswer(response.status, _retry_after(response.getheader("Retry-After")), excerpt)
            except (OSError, http.client.HTTPException) as error:
                errors.append(f"{address}: {type(error).__name__}: {error}")
            finally:
                connection.close()
        raise WebhookNetworkError("; ".join(errors))

    def _connection(self, target: Target, address: str) -> http.client.HTTPConnection:
        if target.scheme == "https":
            return _PinnedHTTPSConnection(
                address, target.host, target.port, timeout=self.timeout, context=self.ssl_context
            )
        return _PinnedHTTPConnection(address, target.host, target.port, timeout=self.timeout)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
