"""A small client for the comprimemelo REST API, shared by the set-up code and the locust users.

It wraps any session with the ``requests`` calling convention: a
``requests.Session`` for set-up, or a locust ``HttpSession`` / ``FastHttpSession``
inside a user, in which case every request is named by its route (``name=``) so
that ``/api/tasks/17`` and ``/api/tasks/18`` are one line in the statistics.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

PASSWORD = "capacity-test-password"
REQUEST_TIMEOUT_SECONDS = 60
UPLOAD_TIMEOUT_SECONDS = 300
FINISHED_STATUSES = frozenset({"processed", "failed"})


class ApiError(RuntimeError):
    """The API answered with an unexpected status code."""


@dataclass(frozen=True)
class Account:
    username: str
    token: str


def multipart_body(filename: str, content: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    """Encode one file field ``fileName`` and text ``fields`` as multipart/form-data.

    Built by hand so that the same body works with every session type (locust's
    fast client has no ``files=``), and so a large file is encoded once per upload.
    """
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="fileName"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
    )
    parts.append(content)
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class ApiClient:
    """The calls the scenarios make; each returns parsed JSON or raises ``ApiError``."""

    def __init__(self, session, base_url: str = "", *, named: bool = False) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.named = named
        self.token: str | None = None

    def _request(self, method: str, path: str, name: str, expected: int, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.named:
            kwargs["name"] = name  # locust sessions: timeouts are the user's network_timeout
            kwargs.pop("timeout", None)
        else:
            kwargs.setdefault("timeout", REQUEST_TIMEOUT_SECONDS)
        response = self.session.request(method, self.base_url + path, headers=headers, **kwargs)
        if response.status_code != expected:
            text = (response.text or "")[:200] if hasattr(response, "text") else ""
            raise ApiError(f"{method} {name}: HTTP {response.status_code} (expected {expected}) {text}")
        return response

    def signup(self, username: str, password: str = PASSWORD) -> dict:
        body = {"username": username, "email": f"{username}@example.com",
                "password1": password, "password2": password}
        return self._request("POST", "/api/auth/signup", "/api/auth/signup", 201, json=body).json()

    def login(self, username: str, password: str = PASSWORD) -> str:
        body = {"username": username, "password": password}
        token = self._request("POST", "/api/auth/login", "/api/auth/login", 200, json=body).json()["access_token"]
        self.token = token
        return token

    def logout(self) -> None:
        self._request("POST", "/api/auth/logout", "/api/auth/logout", 204)
        self.token = None

    def list_tasks(self, limit: int | None = None, order: int = 1) -> list[dict]:
        query = f"?order={order}" + (f"&max={limit}" if limit else "")
        return self._request("GET", "/api/tasks" + query, "/api/tasks", 200).json()

    def get_task(self, task_id: int) -> dict:
        return self._request("GET", f"/api/tasks/{task_id}", "/api/tasks/[id]", 200).json()

    def upload(self, filename: str, content: bytes, fmt: str, level: int | None = None) -> dict:
        fields = {"newFormat": fmt}
        if level is not None:
            fields["level"] = str(level)
        body, content_type = multipart_body(filename, content, fields)
        return self._request(
            "POST", "/api/tasks", "/api/tasks [upload]", 201,
            data=body, headers={"Content-Type": content_type}, timeout=UPLOAD_TIMEOUT_SECONDS,
        ).json()

    def wait_finished(self, task_id: int, *, timeout: float, poll_seconds: float) -> dict:
        """The task once processed or failed, polled every ``poll_seconds``.

        :raise TimeoutError: if it is neither after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            task = self.get_task(task_id)
            if task["status"] in FINISHED_STATUSES:
                return task
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} not processed in {timeout:g}s")
            time.sleep(poll_seconds)

    def download_compressed(self, task_id: int) -> int:
        response = self._request("GET", f"/api/tasks/{task_id}/compressed", "/api/tasks/[id]/compressed", 200)
        return len(response.content)

    def delete_task(self, task_id: int) -> None:
        self._request("DELETE", f"/api/tasks/{task_id}", "/api/tasks/[id] [delete]", 204)
