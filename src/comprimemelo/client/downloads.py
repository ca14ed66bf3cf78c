"""Streaming a task's file to disk.

The API answers with the bytes (embedded mode) or with ``302`` to a
short-lived signed Cloud Storage URL (Google Cloud): the redirect is followed
here, without the bearer token (``Http`` adds it only for the API's own
origin). The file is written to ``NAME.part`` and renamed when complete; a
connection that breaks resumes with ``Range`` from the bytes already written,
asking the API again (a signed URL may have expired meanwhile).
"""

from __future__ import annotations

import email.message
import os
from pathlib import Path

import requests

from comprimemelo.client.errors import NetworkError
from comprimemelo.client.http import Http
from comprimemelo.client.uploads import Progress

READ_BYTES = 1024 * 1024
PART_SUFFIX = ".part"


def download(
    http: Http, api_path: str, destination: Path, fallback_name: str, on_progress: Progress | None = None
) -> Path:
    """Save the file at ``api_path`` as ``destination`` or, if that is a folder,
    under the name the server gives (``fallback_name`` if none); returns the path.

    :raise ApiError: if the API refuses (not processed, expired, not found).
    :raise NetworkError: if the transfer keeps breaking.
    """
    target: Path | None = None
    written = 0
    attempt = 0
    while True:
        attempt += 1
        headers = {"Range": f"bytes={written}-"} if written else {}
        response = http.request("GET", api_path, idempotent=True, expect=(200, 206, 302), headers=headers,
                                stream=True)
        if response.status_code == 302:
            location = response.headers["Location"]
            response.close()
            response = http.request("GET", location, idempotent=True, expect=(200, 206), headers=headers,
                                    stream=True)
        with response:
            if target is None:
                target = _target(destination, _attachment_name(response) or fallback_name)
            if response.status_code == 200:
                written = 0  # the server sent it whole
            total = written + int(response.headers.get("Content-Length", 0))
            try:
                written = _append(response, target.with_name(target.name + PART_SUFFIX), written, total,
                                  on_progress)
                break
            except requests.RequestException as error:
                if attempt >= http.retry.attempts:
                    raise NetworkError(f"the download of {target.name} keeps breaking: {error}") from error
        http.pause(attempt)
    os.replace(target.with_name(target.name + PART_SUFFIX), target)
    return target


def _append(response: requests.Response, part: Path, written: int, total: int, on_progress: Progress | None) -> int:
    """Write the body to ``part`` after its first ``written`` bytes; returns its length."""
    with open(part, "r+b" if written else "wb") as handle:
        handle.seek(written)
        handle.truncate()
        try:
            for data in response.iter_content(READ_BYTES):
                handle.write(data)
                written += len(data)
                if on_progress:
                    on_progress(written, total)
        finally:
            handle.flush()
            os.fsync(handle.fileno())
    return written


def _target(destination: Path, name: str) -> Path:
    return destination / name if destination.is_dir() else destination


def _attachment_name(response: requests.Response) -> str | None:
    """The file name of ``Content-Disposition`` (``filename*`` decoded), reduced to a
    plain name: a server's answer never picks the folder it lands in."""
    header = response.headers.get("Content-Disposition")
    if not header:
        return None
    message = email.message.Message()
    message["Content-Disposition"] = header
    name = Path((message.get_filename() or "").replace("\\", "/")).name.strip()
    return name if name not in ("", ".", "..") and "\x00" not in name else None
