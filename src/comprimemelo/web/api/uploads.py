"""``/api/uploads``: resumable uploads for big files, then a task from them.

``POST /api/uploads`` opens a session and answers where to send the bytes
(``upload_url``). On Cloud Storage that is Google's resumable session URI; in
embedded mode it is ``PUT /api/uploads/<id>`` here, which speaks the same
protocol: ``Content-Range: bytes FIRST-LAST/SIZE`` per chunk, ``308`` with
``Range: bytes=0-LAST`` until the last byte, ``bytes */SIZE`` to ask the offset.
Like the session URI, that URL is the capability: the id is 128 random bits
and a chunk needs no credentials (credentials of another user get 404).
Every other operation is the owner's only (404 for anyone else).
"""

from __future__ import annotations

import re

from flask import Blueprint, jsonify, request, url_for

from comprimemelo.domain.errors import Conflict, InvalidInput, NotFound
from comprimemelo.domain.models import UploadSession, utcnow
from comprimemelo.domain.timestamps import iso_utc
from comprimemelo.services import uploads as upload_service
from comprimemelo.services.intake import CreateTask
from comprimemelo.services.uploads import UploadIncomplete, UploadState
from comprimemelo.storage.resumable import OffsetMismatch, SessionGone
from comprimemelo.web.api import schemas
from comprimemelo.web.api.idempotency import Recorder, idempotent
from comprimemelo.web.api.tasks import (
    parse_format,
    parse_level,
    parse_password,
    parse_retention,
    seal_password,
    submit,
    task_location,
)
from comprimemelo.web.auth import SESSION_COOKIE, bearer_token, current_user_id, login_required
from comprimemelo.web.context import current_settings, database_turn, db_session, release_database, upload_target
from comprimemelo.web.middleware.bodies import accepts_body

bp = Blueprint("api_uploads", __name__, url_prefix="/api")

RESUME_INCOMPLETE = 308
CHUNK_RANGE = re.compile(r"bytes (\d{1,20})-(\d{1,20})/(\d{1,20})")
STATUS_RANGE = re.compile(r"bytes \*/(\d{1,20})")
# The web page sends files above this (or near the multipart limit) in chunks.
RESUMABLE_THRESHOLD_BYTES = 64 * 1024 * 1024
MULTIPART_OVERHEAD_BYTES = 1024 * 1024
# A file name of up to 4096 characters, each escaped as \uXXXX: 24 KiB and room to spare.
CREATE_UPLOAD_BODY_BYTES = 64 * 1024


def session_json(row: UploadSession) -> dict:
    upload_url = row.upload_url or url_for("api_uploads.put_chunk", upload_id=row.id, _external=True)
    public_url = current_settings().public_url.rstrip("/")
    if public_url and not row.upload_url:
        upload_url = public_url + url_for("api_uploads.put_chunk", upload_id=row.id)
    return {
        "id": row.id,
        "file_name": row.filename,
        "size": row.size,
        "content_type": row.content_type,
        "offset": row.received,
        "state": row.state,
        "upload_url": upload_url,
        "method": "PUT",
        "chunk_bytes": current_settings().upload_chunk_bytes,
        "expires_at": iso_utc(row.expires_at),
        "task_id": row.task_id,
    }


def _progress_headers(offset: int) -> dict:
    return {"Range": f"bytes=0-{offset - 1}"} if offset > 0 else {}


def _browser_origin() -> str | None:
    """The calling page's origin when it may upload cross-origin (Cloud Storage):
    this site itself or a configured CORS origin; ``None`` for other clients."""
    origin = request.headers.get("Origin", "").rstrip("/")
    settings = current_settings()
    allowed = {request.host_url.rstrip("/"), settings.public_url.rstrip("/"), *settings.cors_origin_list}
    return origin if origin and origin in allowed else None


def _owned(upload_id: str) -> UploadSession:
    return upload_service.get_session(db_session(), current_user_id(), upload_id)


@bp.app_context_processor
def _resumable_page_settings() -> dict:
    """What the dashboard's upload script needs to choose and run the chunked path."""
    settings = current_settings()
    threshold = min(RESUMABLE_THRESHOLD_BYTES, max(settings.max_upload_bytes - MULTIPART_OVERHEAD_BYTES, 0))
    return {"resumable": {"threshold_bytes": threshold, "max_bytes": settings.max_resumable_upload_bytes}}


@bp.errorhandler(OffsetMismatch)
@bp.errorhandler(UploadIncomplete)
def _offset_error(error):
    """409 in the usual shape, plus where the stored bytes end (body and ``Range``)."""
    response = jsonify(error={"code": error.code, "message": error.message, "offset": error.offset})
    response.status_code = error.status
    response.headers.update(_progress_headers(error.offset))
    return response


@bp.post("/uploads")
@accepts_body(lambda settings: CREATE_UPLOAD_BODY_BYTES)
@login_required
def create_upload():
    body = schemas.parse(schemas.NewUpload)
    identity = [repr(value) for value in (body.file_name, body.size, body.content_type)]

    def produce(record: Recorder) -> tuple[dict, int]:
        row = upload_service.create_session(
            database_turn,
            upload_target(),
            current_settings(),
            owner_id=current_user_id(),
            filename=body.file_name,
            size=body.size,
            content_type=body.content_type,
            origin=_browser_origin(),
            before_commit=lambda session, row: record(session, session_json(row), 201),
        )
        return session_json(row), 201

    return idempotent(
        "POST /api/uploads",
        identity,
        produce,
        headers_for=lambda body: {"Location": url_for("api_uploads.get_upload", upload_id=body["id"])},
    )


@bp.get("/uploads/<upload_id>")
@login_required
def get_upload(upload_id: str):
    row = upload_service.refresh(db_session(), upload_target(), current_settings(), _owned(upload_id))
    return session_json(row), 200, _progress_headers(row.received)


@bp.delete("/uploads/<upload_id>")
@login_required
def delete_upload(upload_id: str):
    upload_service.cancel(db_session(), upload_target(), _owned(upload_id))
    return "", 204


@bp.put("/uploads/<upload_id>")
@accepts_body(lambda settings: settings.max_upload_bytes)
def put_chunk(upload_id: str):
    """One chunk (``Content-Range: bytes FIRST-LAST/SIZE``) or an offset query
    (``bytes */SIZE``, empty body): ``308`` until complete, then ``200``.

    :raise 400: on a malformed or out-of-range ``Content-Range``.
    :raise 409: if the chunk does not start at the current offset (with it).
    """
    db = db_session()
    row = upload_service.get_by_capability(db, upload_id)
    if (bearer_token() or request.cookies.get(SESSION_COOKIE)) and current_user_id() != row.owner_id:
        raise NotFound(f"upload {upload_id} not found")
    target = upload_target()
    append = getattr(target, "append", None)
    if append is None:
        raise Conflict("send the chunks to the session's upload_url", code="upload_elsewhere")
    settings = current_settings()
    header = request.headers.get("Content-Range", "").strip()
    if status := STATUS_RANGE.fullmatch(header):
        _check_total(int(status.group(1)), row)
        upload_service.refresh(db, target, settings, row)
        return _progress(row)
    chunk = CHUNK_RANGE.fullmatch(header)
    if chunk is None:
        raise InvalidInput(
            "send Content-Range: bytes FIRST-LAST/SIZE with a chunk, or bytes */SIZE to ask the offset",
            code="invalid_content_range",
        )
    first, last, total = (int(value) for value in chunk.groups())
    _check_total(total, row)
    if last < first or last >= row.size:
        raise InvalidInput(
            f"chunk bytes {first}-{last} are outside the file's {row.size} bytes", code="chunk_out_of_range"
        )
    length = last - first + 1
    if request.content_length != length:
        raise InvalidInput(
            f"Content-Length must be the chunk's length ({length} bytes)", code="invalid_content_length"
        )
    if row.state != UploadState.OPEN.value:
        raise OffsetMismatch(row.size, f"upload {row.id} is complete")
    release_database()  # the chunk may take minutes to arrive
    try:
        received = append(row.storage_key, first, length, request.stream)
    except SessionGone:
        raise NotFound(f"upload {upload_id} expired; start a new one") from None
    db = db_session()
    row = upload_service.get_by_capability(db, upload_id)
    upload_service.record_progress(db, target, settings, row, received)
    if received < first + length:
        raise InvalidInput(
            f"the chunk ended after {received - first} of {length} bytes", code="chunk_incomplete"
        )
    return _progress(row)


def _check_total(total: int, row: UploadSession) -> None:
    if total != row.size:
        raise InvalidInput(
            f"Content-Range total must be the file's size ({row.size})", code="invalid_content_range"
        )


def _progress(row: UploadSession):
    if row.state == UploadState.OPEN.value:
        return session_json(row), RESUME_INCOMPLETE, _progress_headers(row.received)
    return session_json(row), 200


@bp.post("/uploads/<upload_id>/complete")
@login_required
def complete_upload(upload_id: str):
    """A task from this upload, followed by any ids in ``uploads`` (one archive);
    ``new_format``, ``level``, ``password``, ``retention_hours`` and
    ``webhook_url`` as for ``POST /api/tasks``."""
    body = schemas.parse(schemas.CompleteUpload)
    more = body.uploads
    fmt = parse_format(body.new_format)
    level = parse_level(_text(body.level), fmt)
    retention = parse_retention(_text(body.retention_hours))
    password = parse_password(body.password, fmt)
    webhook_url = body.webhook_url or None
    identity = [upload_id, *more, fmt.value, str(level), str(retention.total_seconds()), str(bool(password))]
    if webhook_url:
        identity.append(f"webhook\x00{webhook_url}")
    release_database()  # the uploads' backend is asked before the task's turn
    command = CreateTask(
        owner_id=current_user_id(), fmt=fmt, level=level, expires_at=utcnow() + retention,
        sealed_password=seal_password(password), webhook_url=webhook_url, upload_ids=[upload_id, *more],
    )
    return idempotent(
        "POST /api/uploads/complete", identity, lambda record: submit(command, record), headers_for=task_location
    )


def _text(value: int | str | None) -> str | None:
    """A field that may be a number or a string, as the form parsers take it."""
    return None if value is None else str(value)
