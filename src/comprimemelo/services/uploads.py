"""Resumable uploads: big files reach storage in chunks, then become a task.

A client opens a session (``create_session``), sends the bytes in chunks to the
session's upload URL (resuming from ``refresh``'s offset after any interruption)
and submits one or several finished sessions as a task (``intake.create_task``).
The bytes never pass through the web tier on Cloud Storage, and are appended
straight to a part file beside the storage folder in embedded mode.

Where the bytes go is the port ``storage.resumable.UploadTarget`` and its
adapters (``LocalUploads``: the app serves ``PUT /api/uploads/<id>``;
``GcsUploads``: a Cloud Storage resumable session the client uploads to
directly). Sessions idle past ``expires_at`` are abandoned: ``sweep_abandoned`` (called by
the worker's periodic sweep) drops their bytes and rows.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import secrets
import uuid
from collections.abc import Callable
from typing import ContextManager

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from comprimemelo.compression import sanitize_arcname
from comprimemelo.domain.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from comprimemelo.domain.models import UploadSession, utcnow
from comprimemelo.services import quotas
from comprimemelo.settings import Settings
from comprimemelo.storage import Storage, StorageError
from comprimemelo.storage.resumable import SessionGone, UploadTarget, target_for

log = logging.getLogger(__name__)

ID_BYTES = 16  # 128 random bits: the embedded upload URL's capability
KEY_PREFIX = "uploads"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_CONTENT_TYPE_LENGTH = 255
MAX_FILENAME_INPUT_LENGTH = 4096
SWEEP_BATCH = 200


class UploadState(str, enum.Enum):
    OPEN = "open"  # bytes still arriving
    UPLOADED = "uploaded"  # every byte stored and the object visible under its key
    SUBMITTED = "submitted"  # an input of ``task_id``: the object now belongs to the task


class UploadIncomplete(Conflict):
    """Submitted before every byte arrived."""

    code = "upload_incomplete"

    def __init__(self, upload_id: str, offset: int, size: int) -> None:
        super().__init__(f"upload {upload_id} has {offset} of {size} bytes; send the rest first")
        self.offset = offset


def _expiry(settings: Settings) -> dt.datetime:
    return utcnow() + dt.timedelta(seconds=settings.upload_session_seconds)


def _content_type(raw: object) -> str:
    if raw in (None, ""):
        return DEFAULT_CONTENT_TYPE
    if (
        not isinstance(raw, str)
        or len(raw) > MAX_CONTENT_TYPE_LENGTH
        or raw.count("/") != 1
        or not raw.isascii()
        or not raw.isprintable()
    ):
        raise InvalidInput("content_type must be a media type like 'application/pdf'", code="invalid_content_type")
    return raw


def create_session(
    turns: Callable[[], ContextManager[Session]],
    target: UploadTarget,
    settings: Settings,
    *,
    owner_id: int,
    filename: object,
    size: object,
    content_type: object = None,
    origin: str | None = None,
    before_commit: Callable[[Session, UploadSession], None] | None = None,
) -> UploadSession:
    """Open a session for one file of exactly ``size`` bytes; ``before_commit``
    joins its transaction (an idempotency key's record commits with it).
    ``turns`` gives a session per short turn at the database: none is held
    while the backend opens its side (a Cloud Storage request).

    :raise InvalidInput: on a missing or malformed name, size or media type.
    :raise PayloadTooLarge: if ``size`` is over ``max_resumable_upload_bytes``.
    :raise QuotaExceeded: if it would take the owner over a quota.
    """
    if not isinstance(filename, str) or not filename.strip() or len(filename) > MAX_FILENAME_INPUT_LENGTH:
        raise InvalidInput("file_name must be a non-empty string", code="invalid_filename")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidInput("size must be the file's length in bytes (an integer >= 0)", code="invalid_size")
    if size > settings.max_resumable_upload_bytes:
        raise PayloadTooLarge(
            f"file too large: the limit is {settings.max_resumable_upload_bytes} bytes"
        )
    media_type = _content_type(content_type)
    limits = quotas.Limits.of(settings)
    with turns() as db:
        quotas.check_upload(db, owner_id, limits, size)
    upload_id = secrets.token_hex(ID_BYTES)
    key = f"{KEY_PREFIX}/{uuid.uuid4().hex}"
    upload_url = target.begin(key, size, origin)
    row = UploadSession(
        id=upload_id,
        owner_id=owner_id,
        storage_key=key,
        filename=sanitize_arcname(filename),
        content_type=media_type,
        size=size,
        received=0,
        state=UploadState.OPEN.value,
        upload_url=upload_url,
        expires_at=_expiry(settings),
    )
    try:
        with turns() as db:
            try:
                quotas.take_upload(db, owner_id, limits, size)
                db.add(row)
                if before_commit:
                    db.flush()
                    before_commit(db, row)
                db.commit()
            except BaseException:
                db.rollback()
                raise
    except BaseException:
        target.abandon(key, upload_url)
        raise
    return row


def get_session(db: Session, owner_id: int, upload_id: str) -> UploadSession:
    """:raise NotFound: if there is no such session or it is someone else's."""
    row = db.get(UploadSession, upload_id) if len(upload_id) <= 2 * ID_BYTES else None
    if row is None or row.owner_id != owner_id:
        raise NotFound(f"upload {upload_id} not found")
    return row


def get_by_capability(db: Session, upload_id: str) -> UploadSession:
    """The session whose (secret) id is ``upload_id``, whoever owns it.

    :raise NotFound: if there is none.
    """
    row = db.get(UploadSession, upload_id) if len(upload_id) <= 2 * ID_BYTES else None
    if row is None:
        raise NotFound(f"upload {upload_id} not found")
    return row


def record_progress(db: Session, target: UploadTarget, settings: Settings, row: UploadSession, received: int) -> None:
    """Note ``received`` bytes (pushing the idle expiry forward when it grew) and,
    once all have arrived, make the object visible: the session is ``uploaded``."""
    if row.state != UploadState.OPEN.value:
        return
    if received > row.received:
        row.expires_at = _expiry(settings)
    row.received = received
    if received >= row.size:
        target.finish(row.storage_key, row.size)
        row.received = row.size
        row.state = UploadState.UPLOADED.value
    db.commit()


def refresh(db: Session, target: UploadTarget, settings: Settings, row: UploadSession) -> UploadSession:
    """Ask the backend how many bytes it holds and record it (see ``record_progress``).

    :raise NotFound: if the backend dropped the session (it is removed here too).
    """
    if row.state != UploadState.OPEN.value:
        return row
    try:
        received = target.received(row.storage_key, row.size, row.upload_url)
        record_progress(db, target, settings, row, received)
    except SessionGone:
        db.rollback()
        _forget(db, target, row)
        raise NotFound(f"upload {row.id} expired; start a new one") from None
    return row


def cancel(db: Session, target: UploadTarget, row: UploadSession) -> None:
    """Drop an unsubmitted session and its bytes.

    :raise Conflict: if it is already a task's input (delete the task instead).
    """
    if row.state == UploadState.SUBMITTED.value:
        raise Conflict(f"upload {row.id} is an input of task {row.task_id}", code="upload_submitted")
    _forget(db, target, row)


def _forget(db: Session, target: UploadTarget, row: UploadSession) -> None:
    """Bytes first, then the row: a failure in between leaves a row whose
    (idempotent) abandon the next sweep repeats, never bytes nobody tracks."""
    target.abandon(row.storage_key, row.upload_url)
    db.delete(row)
    db.commit()


def sweep_abandoned(
    sessions: sessionmaker[Session], storage: Storage, *, now: dt.datetime | None = None
) -> int:
    """Remove sessions idle past their expiry: their bytes and object unless a
    task uses them, then the row. Returns how many went; backend errors are
    logged and the rest is left for the next sweep."""
    now = now or utcnow()
    removed = 0
    try:
        target = target_for(storage)
    except ValueError:  # a storage without resumable uploads (a test fake) has no sessions
        return 0
    try:
        with sessions() as db:
            expired = db.scalars(
                sa.select(UploadSession)
                .where(UploadSession.expires_at < now)
                .order_by(UploadSession.expires_at)
                .limit(SWEEP_BATCH)
            ).all()
            for row in expired:
                if row.state == UploadState.SUBMITTED.value:
                    db.delete(row)
                    db.commit()
                else:
                    _forget(db, target, row)
                removed += 1
    except (sa.exc.SQLAlchemyError, StorageError, OSError) as error:
        log.warning("upload sweep stopped after %d sessions: %s", removed, error)
    if removed:
        log.info("removed %d abandoned or finished upload sessions", removed)
    return removed
