"""``Client``: the REST API of a comprimemelo server as Python calls.

>>> client = Client.login("https://compress.example.com", "ana", "a long secret")
>>> task = client.submit([Path("report.pdf")], "tar.zst")
>>> [done] = client.wait([task.id])
>>> client.download(done.id, Path("."))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import urljoin

from comprimemelo.client import downloads
from comprimemelo.client.http import Http, RetryPolicy
from comprimemelo.client.journal import UploadJournal
from comprimemelo.client.models import Task
from comprimemelo.client.uploads import (
    IDEMPOTENCY_HEADER,
    MultipartBody,
    Progress,
    ResumableUploader,
    SentFile,
    new_idempotency_key,
)

# The multipart form's names of the task's options (a JSON body names them in snake_case).
FORM_FIELDS = {"new_format": "newFormat", "level": "level", "retention_hours": "retentionHours",
               "webhook_url": "webhookUrl", "password": "password"}
# Tasks of more bytes than this go in resumable chunks (the web page's rule too).
RESUMABLE_ABOVE_BYTES = 64 * 1024 * 1024
POLL_SECONDS = 1.0
# Tasks asked for per request when following pages (the server answers up to 1000).
LIST_PAGE_SIZE = 200


class Client:
    """Calls of one user on one server. Every method raises ``ApiError`` when the
    server refuses (its JSON error's code and message) and ``NetworkError`` when
    it cannot be reached, after the retries ``RetryPolicy`` allows."""

    def __init__(
        self, base_url: str, token: str | None = None, *, retry: RetryPolicy = RetryPolicy(),
        journal: UploadJournal | None = None, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = Http(base_url, token, retry=retry, sleep=sleep)
        self.uploader = ResumableUploader(self.http, journal)
        self.token_expires_in: int | None = None  # set by ``login``
        self._sleep = sleep

    @property
    def base_url(self) -> str:
        return self.http.base_url

    @classmethod
    def login(cls, base_url: str, username: str, password: str, **options) -> Client:
        """A client holding a new token (``expires_in`` seconds long: ``token_expires_in``)."""
        client = cls(base_url, **options)
        response = client.http.request(
            "POST", "/api/auth/login", idempotent=True, json={"username": username, "password": password}
        )
        answer = response.json()
        client.http.token = answer["access_token"]
        client.token_expires_in = int(answer["expires_in"])
        return client

    def logout(self) -> None:
        """Revoke the token on the server."""
        self.http.request("POST", "/api/auth/logout", idempotent=True, expect=(204,))
        self.http.token = None

    def account(self) -> dict:
        return self.http.request("GET", "/api/account", idempotent=True).json()

    def formats(self) -> list[dict]:
        return self.http.request("GET", "/api/formats", idempotent=True).json()

    def tasks(self, *, limit: int | None = None, newest_first: bool = True, status: str | None = None,
              format: str | None = None, search: str | None = None) -> list[Task]:
        """The first page of tasks the filters match (at most ``limit``, or the server's most)."""
        params = _list_params(limit, newest_first, status, format, search)
        response = self.http.request("GET", "/api/tasks", idempotent=True, params=params)
        return [Task.from_json(item) for item in response.json()]

    def iter_tasks(self, *, status: str | None = None, format: str | None = None, search: str | None = None,
                   newest_first: bool = True, page_size: int = LIST_PAGE_SIZE) -> Iterator[Task]:
        """Every task the filters match, one request a page, following each answer's
        ``Link: rel="next"`` (the server's cursor, never built here) until none is given."""
        url: str | None = "/api/tasks"
        params: dict[str, str] | None = _list_params(page_size, newest_first, status, format, search)
        while url is not None:
            response = self.http.request("GET", url, idempotent=True, params=params)
            yield from (Task.from_json(item) for item in response.json())
            following = response.links.get("next")
            # The next URL carries every parameter; it is relative to the answer's own URL.
            url, params = (urljoin(response.url, following["url"]), None) if following else (None, None)

    def task(self, task_id: int) -> Task:
        return Task.from_json(self.http.request("GET", f"/api/tasks/{task_id}", idempotent=True).json())

    def delete(self, task_id: int) -> None:
        """Delete the task and its files (``409`` while it is processing)."""
        self.http.request("DELETE", f"/api/tasks/{task_id}", idempotent=True, expect=(204,))

    def submit(
        self,
        paths: list[Path],
        fmt: str,
        *,
        level: str | int | None = None,
        password: str | None = None,
        retention_hours: int | None = None,
        webhook_url: str | None = None,
        chunked: bool | None = None,
        on_upload: Callable[[Path], Progress | None] | None = None,
        on_resumed: Callable[[Path, int], None] | None = None,
    ) -> Task:
        """One task compressing ``paths`` into one archive of format ``fmt``.

        Up to ``RESUMABLE_ABOVE_BYTES`` in all (unless ``chunked``), the files go in
        one multipart request; beyond, each in resumable chunks, continuing an upload a
        previous run left (with a journal). Either way the request that makes the task
        carries an ``Idempotency-Key``: a retry never makes a second task.
        ``on_upload(path)`` gives the progress callback of a file (the multipart body's
        for the first path when they go together); ``on_resumed(path, offset)`` is told
        of each upload continued from a previous run.
        """
        options = {name: str(value) for name, value in (
            ("new_format", fmt), ("level", level), ("retention_hours", retention_hours),
            ("webhook_url", webhook_url), ("password", password)) if value is not None}
        if chunked is None:
            chunked = sum(path.stat().st_size for path in paths) > RESUMABLE_ABOVE_BYTES
        if chunked:
            return self._submit_chunked(paths, options, on_upload, on_resumed)
        fields = {FORM_FIELDS[name]: value for name, value in options.items()}
        body = MultipartBody(paths, fields, on_upload(paths[0]) if on_upload else None)
        try:
            response = self.http.request(
                "POST", "/api/tasks", idempotent=True, expect=(201,), body=body.make,
                headers={"Content-Type": body.content_type, IDEMPOTENCY_HEADER: new_idempotency_key()},
            )
        finally:
            body.close()
        return Task.from_json(response.json())

    def _submit_chunked(self, paths: list[Path], options: dict[str, str], on_upload, on_resumed) -> Task:
        sent = [self.uploader.send(path, on_upload(path) if on_upload else None) for path in paths]
        for path, item in zip(paths, sent):
            if item.resumed_from and on_resumed:
                on_resumed(path, item.resumed_from)
        done = next((item.session.task_id for item in sent if item.session.task_id is not None), None)
        if done is not None:  # a run before made the task, and stopped before forgetting the uploads
            task = self.task(done)
        else:
            task = self._complete(sent, options)
        for path in paths:
            self.uploader.forget(path)
        return task

    def _complete(self, sent: list[SentFile], options: dict[str, str]) -> Task:
        first, *more = (item.session.id for item in sent)
        response = self.http.request(
            "POST", f"/api/uploads/{first}/complete", idempotent=True, expect=(201,),
            json={**options, "uploads": more}, headers={IDEMPOTENCY_HEADER: new_idempotency_key()},
        )
        return Task.from_json(response.json())

    def wait(self, task_ids: Iterable[int], *, on_change: Callable[[Task], None] | None = None,
             poll_seconds: float = POLL_SECONDS) -> list[Task]:
        """Poll the tasks until each is finished (processed, failed or expired);
        their last states, in order. ``on_change`` sees every state polled."""
        ids = list(dict.fromkeys(task_ids))
        last: dict[int, Task] = {}
        pending = list(ids)
        while pending:
            for task_id in list(pending):
                task = last[task_id] = self.task(task_id)
                if on_change:
                    on_change(task)
                if task.finished:
                    pending.remove(task_id)
            if pending:
                self._sleep(poll_seconds)
        return [last[task_id] for task_id in ids]

    def download(self, task_id: int, destination: Path, *, original: bool = False, file_index: int = 0,
                 on_progress: Progress | None = None) -> Path:
        """The task's archive (or an original file) saved as ``destination``, or in it if it is a folder."""
        if original:
            path, fallback = f"/api/tasks/{task_id}/original?file={file_index}", f"task-{task_id}-{file_index}"
        else:
            path, fallback = f"/api/tasks/{task_id}/compressed", f"task-{task_id}.archive"
        return downloads.download(self.http, path, destination, fallback, on_progress)


def _list_params(limit: int | None, newest_first: bool, status: str | None, format: str | None,
                 search: str | None) -> dict[str, str]:
    params = {"max": str(limit) if limit else None, "order": "1" if newest_first else "0",
              "status": status, "format": format, "search": search}
    return {name: value for name, value in params.items() if value is not None}
