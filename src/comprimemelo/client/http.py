"""One HTTP exchange with a server: the bearer token, timeouts and retries.

Retried, with exponential backoff (or ``Retry-After`` when the server sends one):

- any request answered ``429`` or ``503`` whose ``Retry-After`` is at most
  ``RetryPolicy.max_retry_after_seconds``: the server did nothing and says when to
  come back (a longer wait, such as an hourly quota, is the caller's to decide);
- ``409 idempotency_key_in_use``: the first try of the same request is still running;
- requests safe to repeat (``idempotent=True``: reads, deletes, chunk uploads,
  and POSTs carrying an ``Idempotency-Key``) on network errors and ``502``/``504``.

The token goes only to the server's own origin, and redirects are never followed
here: a download's ``302`` to a signed URL is the caller's to follow, without it.
"""

from __future__ import annotations

import dataclasses
import random
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from comprimemelo import __version__
from comprimemelo.client.errors import ApiError, NetworkError

USER_AGENT = f"comprimemelo-client/{__version__}"
CONNECT_TIMEOUT_SECONDS = 10
# A chunk or a download may stall this long between two reads before it is given up.
READ_TIMEOUT_SECONDS = 120
RETRY_ON_BUSY = frozenset({429, 503})
RETRY_IF_IDEMPOTENT = frozenset({502, 503, 504})
KEY_IN_USE = "idempotency_key_in_use"
MAX_REASON_LENGTH = 200
_OS_ERROR = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_seconds: float = 0.5
    max_backoff_seconds: float = 10.0
    max_retry_after_seconds: float = 60.0
    jitter: float = 0.2

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before try ``attempt + 1``: ``Retry-After`` if given, else ``base * 2**(attempt-1)``, jittered."""
        if retry_after is not None:
            return retry_after
        backoff = min(self.base_seconds * 2 ** (attempt - 1), self.max_backoff_seconds)
        return backoff * (1 + random.uniform(0, self.jitter))


NO_RETRIES = RetryPolicy(attempts=1)


class Http:
    """Requests to one server, with or without a bearer token."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        retry: RetryPolicy = RetryPolicy(),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.retry = retry
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self._sleep = sleep
        self._origin = _origin(self.base_url)

    def url(self, path: str) -> str:
        """An absolute URL for a path of the API (or a URL the API gave, as it is)."""
        return urljoin(self.base_url + "/", path.lstrip("/")) if path.startswith("/") else path

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        expect: Iterable[int] = (200,),
        body: Callable[[], Any] | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """Send ``method path`` until it gets an answer in ``expect`` or the policy gives up.

        ``body`` makes the request's ``data`` afresh for every try (a file read
        again from its start). The bearer token is added only for the server's
        own origin.

        :raise ApiError: on any other answer (after the retries it allows).
        :raise NetworkError: if no answer came (after the retries it allows).
        """
        url = self.url(path)
        expected = frozenset(expect)
        headers = dict(headers or {})
        if self.token and _origin(url) == self._origin:
            headers["Authorization"] = f"Bearer {self.token}"
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.request(
                    method, url, headers=headers, data=body() if body else None, stream=stream,
                    timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS), allow_redirects=False, **kwargs,
                )
            except requests.RequestException as error:
                if idempotent and attempt < self.retry.attempts:
                    self.pause(attempt)
                    continue
                raise NetworkError(f"cannot reach {_origin(url)}: {_reason(error)}") from error
            if response.status_code in expected:
                return response
            error = ApiError.from_response(response)
            response.close()
            if attempt < self.retry.attempts and self._retryable(error, idempotent):
                self._sleep(self.retry.delay(attempt, error.retry_after))
                continue
            raise error

    def pause(self, attempt: int) -> None:
        """Wait as the policy does before try ``attempt + 1``."""
        self._sleep(self.retry.delay(attempt, None))

    def _retryable(self, error: ApiError, idempotent: bool) -> bool:
        if error.retry_after is not None and error.retry_after > self.retry.max_retry_after_seconds:
            return False
        if error.status in RETRY_ON_BUSY or error.code == KEY_IN_USE:
            return True
        return idempotent and error.status in RETRY_IF_IDEMPOTENT


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _reason(error: requests.RequestException) -> str:
    """A short cause: urllib3's text wraps it in pool and object names."""
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.exceptions.SSLError):
        return "the TLS handshake failed (certificate or protocol)"
    text = str(error)
    found = _OS_ERROR.search(text)
    return found.group(1) if found else text[:MAX_REASON_LENGTH]
