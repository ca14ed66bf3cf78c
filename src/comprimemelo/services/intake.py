"""Turning uploads into a task: the one use case behind ``POST /api/tasks``
(files in a multipart body) and ``POST /api/uploads/<id>/complete`` (finished
resumable uploads).

The database is held in short turns, never while bytes move:

1. check (a turn): the named uploads are the caller's and not yet a task's;
   the webhook can be signed;
2. store (no turn): multipart files go to storage; resumable ones are
   confirmed complete with their backend;
3. commit (a turn): the task, its files, its webhook, the idempotency record
   (``before_commit``) and the uploads' hand-over, in one transaction;
4. publish (no turn): the task message. A publish that fails or times out is
   left to the worker's republish sweep: ``published_at`` is set in step 3,
   as the time of the attempt, so no write follows the publish.

A failure before step 3 commits deletes what step 2 stored; a resumable
upload's bytes stay with its session, which can be submitted again. On
Cloud Storage a 2 GiB multipart upload used to hold its request's turn (one
of a process's few database connections) for the whole transfer, and with a
webhook an open transaction too.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, ContextManager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from comprimemelo.compression import ArchiveFormat, unique_arcnames
from comprimemelo.domain.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from comprimemelo.domain.models import Task, TaskFile, UploadSession, utcnow
from comprimemelo.domain.statuses import TaskStatus
from comprimemelo.notifications import attach_task_webhook, validate_task_webhook
from comprimemelo.queue import Queue, QueueError, TaskMessage
from comprimemelo.services import quotas
from comprimemelo.services.tasks import delete_objects, original_key
from comprimemelo.services.uploads import UploadIncomplete, UploadState, get_session
from comprimemelo.settings import Settings
from comprimemelo.storage import Storage
from comprimemelo.storage.resumable import SessionGone, UploadTarget

log = logging.getLogger(__name__)

# A unit of work: a session for one short turn at the database, closed after.
Turns = Callable[[], ContextManager[Session]]
BeforeCommit = Callable[[Session, Task], None]


@dataclass(frozen=True)
class Upload:
    """A file of a multipart upload, spooled: ``stream`` holds ``size`` bytes."""

    filename: str  # as the client sent it: untrusted
    stream: BinaryIO
    size: int


@dataclass(frozen=True)
class CreateTask:
    """What the caller asks for: files (``uploads``) or finished resumable
    uploads (``upload_ids``, in order), made into one archive."""

    owner_id: int
    fmt: ArchiveFormat
    level: int | None
    expires_at: dt.datetime | None = None
    # An encrypted archive's password, sealed (``comprimemelo.services.sealed``): kept
    # on the task until it finishes (and copied into its message, see TaskMessage).
    sealed_password: str | None = field(default=None, repr=False)
    webhook_url: str | None = None
    uploads: Sequence[Upload] = ()
    upload_ids: Sequence[str] = ()


@dataclass(frozen=True)
class _Input:
    filename: str
    size: int
    storage_key: str


@dataclass(frozen=True)
class _Resumable:
    id: str
    storage_key: str
    size: int
    filename: str
    state: str
    upload_url: str | None


def create_task(
    turns: Turns,
    storage: Storage,
    queue: Queue,
    settings: Settings,
    command: CreateTask,
    *,
    target: Callable[[], UploadTarget] | None = None,
    before_commit: BeforeCommit | None = None,
) -> Task:
    """Make and queue the task ``command`` asks for (see the module's steps).

    ``target`` gives the resumable uploads' backend (made only when needed);
    ``before_commit(session, task)`` joins the task's transaction, the task
    having its id (an idempotency key's record commits with it).

    :raise InvalidInput: no file, more than ``max_files_per_task``, an upload
        named twice, or a webhook that cannot be used.
    :raise PayloadTooLarge: files over ``max_task_bytes`` together.
    :raise NotFound: an upload id unknown or someone else's (or expired).
    :raise UploadIncomplete: an upload still missing bytes.
    :raise Conflict: an upload already submitted (or meanwhile).
    :raise QuotaExceeded: if it would take the owner over a quota.
    :raise StorageError: if storage fails (nothing is left behind).
    """
    names = [upload.filename for upload in command.uploads]
    count = len(command.uploads) + len(command.upload_ids)
    _check_count(command, count, settings)
    new_bytes = sum(upload.size for upload in command.uploads)  # resumable ones are counted already
    limits = quotas.Limits.of(settings)
    with turns() as session:
        webhook_url = validate_task_webhook(session, command.owner_id, command.webhook_url, settings)
        resumables = [_resumable(get_session(session, command.owner_id, upload_id)) for upload_id in command.upload_ids]
        quotas.check_task(session, command.owner_id, limits, new_bytes)
    for row in resumables:
        if row.state == UploadState.SUBMITTED.value:
            raise Conflict(f"upload {row.id} is already a task's input", code="upload_submitted")
    sizes = [upload.size for upload in command.uploads] + [row.size for row in resumables]
    if sum(sizes) > settings.max_task_bytes:
        raise PayloadTooLarge(f"the files of one task may total at most {settings.max_task_bytes} bytes")
    prefix = uuid.uuid4().hex
    stored: list[str] = []
    try:
        inputs = _store(storage, prefix, command.uploads, stored)
        if resumables:
            inputs += _confirm_complete(turns, target() if target else None, resumables)
        names += [row.filename for row in resumables]
        task = _commit(turns, command, prefix, inputs, unique_arcnames(names), webhook_url, limits, before_commit)
    except BaseException:
        delete_objects(storage, stored)
        raise
    _publish(queue, task, command.sealed_password)
    return task


def _check_count(command: CreateTask, count: int, settings: Settings) -> None:
    if count == 0:
        raise InvalidInput("send at least one file", code="missing_file")
    if count > settings.max_files_per_task:
        raise InvalidInput(f"at most {settings.max_files_per_task} files per task", code="too_many_files")
    if len(set(command.upload_ids)) != len(command.upload_ids):
        raise InvalidInput("an upload is named twice", code="duplicate_upload")


def _resumable(row: UploadSession) -> _Resumable:
    return _Resumable(row.id, row.storage_key, row.size, row.filename, row.state, row.upload_url)


def _store(storage: Storage, prefix: str, uploads: Sequence[Upload], stored: list[str]) -> list[_Input]:
    inputs = []
    for position, upload in enumerate(uploads):
        key = original_key(prefix, position)
        stored.append(key)
        size = storage.put_stream(key, upload.stream)
        inputs.append(_Input(upload.filename, size, key))
    return inputs


def _confirm_complete(turns: Turns, target: UploadTarget | None, rows: Sequence[_Resumable]) -> list[_Input]:
    """Every byte of each upload is stored and its object visible under its key.

    :raise UploadIncomplete: if one still misses bytes.
    :raise NotFound: if the backend dropped one (its session is removed).
    """
    for row in rows:
        if row.state != UploadState.OPEN.value:
            continue
        if target is None:
            raise ValueError("resumable uploads need their target")
        try:
            received = target.received(row.storage_key, row.size, row.upload_url)
            if received < row.size:
                raise UploadIncomplete(row.id, received, row.size)
            target.finish(row.storage_key, row.size)
        except SessionGone:
            target.abandon(row.storage_key, row.upload_url)
            with turns() as session:
                session.execute(sa.delete(UploadSession).where(UploadSession.id == row.id))
                session.commit()
            raise NotFound(f"upload {row.id} expired; start a new one") from None
    return [_Input(row.filename, row.size, row.storage_key) for row in rows]


def _commit(
    turns: Turns,
    command: CreateTask,
    prefix: str,
    inputs: Sequence[_Input],
    names: Sequence[str],
    webhook_url: str | None,
    limits: quotas.Limits,
    before_commit: BeforeCommit | None,
) -> Task:
    now = utcnow()
    new_bytes = 0 if command.upload_ids else task_bytes(inputs)
    task = Task(
        owner_id=command.owner_id,
        storage_prefix=prefix,
        new_format=command.fmt.value,
        level=command.level,
        status=TaskStatus.UPLOADED.value,
        size_original=task_bytes(inputs),
        attempts=0,
        encrypted=command.sealed_password is not None,
        sealed_password=command.sealed_password,
        expires_at=command.expires_at,
        created_at=now,
        published_at=now,
        files=[
            TaskFile(position=position, filename=name, size=item.size, storage_key=item.storage_key)
            for position, (item, name) in enumerate(zip(inputs, names))
        ],
    )
    with turns() as session:
        try:
            quotas.take_task(session, command.owner_id, limits, new_bytes)
            session.add(task)
            session.flush()
            if command.upload_ids:
                _hand_over(session, command, task)
            attach_task_webhook(session, task, webhook_url)
            if before_commit:
                before_commit(session, task)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return task


def task_bytes(inputs: Sequence[_Input]) -> int:
    return sum(item.size for item in inputs)


def _hand_over(session: Session, command: CreateTask, task: Task) -> None:
    """The uploads become the task's inputs: one conditional update, so two
    concurrent submissions of one upload cannot both win."""
    claimed = session.execute(
        sa.update(UploadSession)
        .where(
            UploadSession.id.in_(command.upload_ids),
            UploadSession.owner_id == command.owner_id,
            UploadSession.state != UploadState.SUBMITTED.value,
        )
        .values(state=UploadState.SUBMITTED.value, task_id=task.id, received=UploadSession.size)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != len(command.upload_ids):
        raise Conflict("an upload was submitted or removed meanwhile; try again", code="upload_submitted")


def _publish(queue: Queue, task: Task, sealed_password: str | None) -> None:
    try:
        queue.publish(TaskMessage(task_id=task.id, format=task.new_format, sealed_password=sealed_password))
    except QueueError as error:
        log.warning("publish of task %s failed, the sweep will retry: %s", task.id, error)
