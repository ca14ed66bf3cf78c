"""What users do with tasks: list, read, delete; and the sweeps that republish
and expire them. Creating one is ``comprimemelo.services.intake``'s."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from comprimemelo.compression import ArchiveFormat
from comprimemelo.domain.errors import Conflict, NotFound
from comprimemelo.domain.models import Task, TaskFile, UTCDateTime, utcnow
from comprimemelo.domain.statuses import TaskStatus
from comprimemelo.domain.timestamps import iso_utc_sql
from comprimemelo.queue import Queue, QueueError, TaskMessage
from comprimemelo.services import garbage
from comprimemelo.storage import Storage, StorageError

log = logging.getLogger(__name__)

MAX_LIST_LIMIT = 1000
ORIGINAL_MEDIA_TYPE = "application/octet-stream"
REPUBLISH_BATCH = 500


def original_key(prefix: str, position: int) -> str:
    return f"tasks/{prefix}/original/{position}"


def archive_key(prefix: str, fmt: ArchiveFormat) -> str:
    """A fresh key per attempt: a worker that loses its lease deletes only its own object."""
    return f"tasks/{prefix}/archive/{uuid.uuid4().hex}{fmt.extension}"


def archive_filename(task: Task) -> str:
    fmt = ArchiveFormat(task.new_format)
    base = task.files[0].filename if len(task.files) == 1 else f"archive-{task.id}"
    return base + fmt.extension


def publish(session: Session, queue: Queue, task: Task) -> bool:
    """Queue a message for ``task`` (a worker claims the fairest waiting task
    with it, see ``leases.claim_next``), with a copy of its sealed password
    (see ``TaskMessage``); on failure log it and leave it to ``republish_stale``."""
    try:
        queue.publish(TaskMessage(task_id=task.id, format=task.new_format, sealed_password=task.sealed_password))
    except QueueError as error:
        log.warning("publish of task %s failed, the sweep will retry: %s", task.id, error)
        return False
    session.execute(sa.update(Task).where(Task.id == task.id).values(published_at=utcnow()))
    session.commit()
    return True


def republish_stale(session: Session, queue: Queue, older_than: dt.timedelta) -> int:
    """Publish again every task still ``uploaded`` whose last publish is older
    than ``older_than`` (or never happened): recovers lost publishes. Also every
    task still ``processing`` whose lease ran out longer than ``older_than`` ago:
    its worker died and its message is gone too (dropped as a duplicate while
    the lease still looked live), so nothing else would ever claim it again."""
    cutoff = utcnow() - older_than
    stale = session.scalars(
        sa.select(Task)
        .where(
            sa.or_(
                sa.and_(
                    Task.status == TaskStatus.UPLOADED.value,
                    sa.or_(
                        Task.published_at < cutoff,
                        sa.and_(Task.published_at.is_(None), Task.created_at < cutoff),
                    ),
                ),
                sa.and_(
                    Task.status == TaskStatus.PROCESSING.value,
                    Task.lease_expires_at < cutoff,
                ),
            )
        )
        .order_by(Task.id)
        .limit(REPUBLISH_BATCH)
    ).all()
    return sum(publish(session, queue, task) for task in stale)


EXPIRE_BATCH = 200
# Only tasks nobody is working on expire; a running one expires after it ends.
_EXPIRABLE = (TaskStatus.UPLOADED.value, TaskStatus.PROCESSED.value, TaskStatus.FAILED.value)


def expire_due(session: Session, storage: Storage, now: dt.datetime | None = None) -> int:
    """End the retention of every task whose ``expires_at`` has passed: its
    files are deleted and it shows ``expired``. A task whose files cannot be
    deleted goes back to its status, to be tried again by the next sweep."""
    now = now or utcnow()
    due = session.scalars(
        sa.select(Task)
        .where(Task.expires_at <= now, Task.status.in_(_EXPIRABLE))
        .order_by(Task.expires_at)
        .limit(EXPIRE_BATCH)
    ).all()
    expired = 0
    for task in due:
        previous, keys = task.status, [f.storage_key for f in task.files]
        if task.compressed_key:
            keys.append(task.compressed_key)
        taken = session.execute(
            sa.update(Task)
            .where(Task.id == task.id, Task.status == previous)
            .values(status=TaskStatus.EXPIRED.value, compressed_key=None, progress=None, sealed_password=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if not taken:  # a worker claimed it meanwhile
            continue
        try:
            for key in keys:
                storage.delete(key)  # idempotent: a retry skips what is gone
        except StorageError as error:
            log.warning("task %s: cannot delete its files at expiry, will retry: %s", task.id, error)
            session.execute(
                sa.update(Task)
                .where(Task.id == task.id, Task.status == TaskStatus.EXPIRED.value)
                .values(status=previous, compressed_key=task.compressed_key, sealed_password=task.sealed_password)
            )
            session.commit()
            continue
        expired += 1
    return expired


@dataclass(slots=True)
class FileView:
    filename: str
    size: int


@dataclass(slots=True)
class TaskView:
    """A task as listed: the columns ``task_json`` reads, without ORM bookkeeping.
    Its timestamps come formatted by the database (``timestamps.iso_utc_sql``)."""

    id: int
    new_format: str
    level: int | None
    status: str
    size_original: int
    size_compressed: int | None
    created_at: str
    processed_at: str | None
    attempts: int
    error: str | None
    progress: int | None
    encrypted: bool
    expires_at: str | None
    files: list[FileView]

    @property
    def filename(self) -> str:
        return self.files[0].filename if self.files else ""


def _view_column(name: str) -> sa.ColumnElement:
    column = getattr(Task, name)
    return iso_utc_sql(column).label(name) if isinstance(column.type, UTCDateTime) else column


# In TaskView's field order (id first), so that a row's leading columns construct one.
_VIEW_COLUMNS = [_view_column(name) for name in TaskView.__dataclass_fields__ if name != "files"]


# The characters LIKE reads as wildcards, and the one that escapes them.
_LIKE_ESCAPE = "/"
_LIKE_SPECIAL = re.compile(r"[/%_]")


def like_pattern(substring: str) -> str:
    """A LIKE pattern matching names that contain ``substring`` as typed:
    its ``%`` and ``_`` are letters, not wildcards."""
    return "%" + _LIKE_SPECIAL.sub(lambda m: _LIKE_ESCAPE + m.group(0), substring) + "%"


@dataclass(frozen=True, slots=True)
class ListFilter:
    """Which of the owner's tasks a list shows: those after the task ``after``
    (a page's last, in the list's order), of a status, of a format, with a file
    whose name contains ``search`` (case-insensitive). None: any."""

    after: int | None = None
    status: str | None = None
    new_format: str | None = None
    search: str | None = None

    def shape(self) -> tuple[bool, ...]:
        return (self.after is not None, self.status is not None, self.new_format is not None,
                self.search is not None)

    def params(self) -> dict:
        values = {"after": self.after, "status": self.status, "new_format": self.new_format}
        values = {name: value for name, value in values.items() if value is not None}
        if self.search is not None:
            values["pattern"] = like_pattern(self.search)
        return values


NO_FILTER = ListFilter()


@functools.cache
def _list_statement(descending: bool, after: bool, status: bool, new_format: bool, search: bool) -> sa.Select:
    """Built once per shape of query: constructing it cost more than running it.
    A page continues after an id (keyset): the owner's id index
    (``ix_tasks_owner_id_id``, or the status or format one) reads just the page,
    and tasks added or deleted meanwhile move no other task across pages."""
    conditions = [Task.owner_id == sa.bindparam("owner_id")]
    if after:
        after_id = sa.bindparam("after", type_=sa.Integer)
        conditions.append(Task.id < after_id if descending else Task.id > after_id)
    if status:
        conditions.append(Task.status == sa.bindparam("status"))
    if new_format:
        conditions.append(Task.new_format == sa.bindparam("new_format"))
    if search:
        named = sa.func.lower(TaskFile.filename).like(sa.func.lower(sa.bindparam("pattern")), escape=_LIKE_ESCAPE)
        conditions.append(sa.exists().where(TaskFile.task_id == Task.id, named))
    page = (
        sa.select(*_VIEW_COLUMNS)
        .where(*conditions)
        .order_by(Task.id.desc() if descending else Task.id.asc())
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .subquery()
    )
    return (
        sa.select(page, TaskFile.filename.label("file_name"), TaskFile.size.label("file_size"))
        .outerjoin(TaskFile, TaskFile.task_id == page.c.id)
        .order_by(page.c.id.desc() if descending else page.c.id.asc(), TaskFile.position)
    )


def list_tasks(
    connection: Connection,
    owner_id: int,
    *,
    limit: int | None,
    descending: bool,
    only: ListFilter = NO_FILTER,
    peek: bool = False,
) -> list[TaskView]:
    """The owner's tasks by id, with their files, in one Core query: the
    dashboard's poll is the API's busiest call, and ORM objects (then ORM
    execution itself) were most of its cost. ``peek``: one task more than
    ``limit`` (capped), to tell whether another page follows."""
    rows = connection.execute(
        _list_statement(descending, *only.shape()),
        {"owner_id": owner_id, "limit": min(limit or MAX_LIST_LIMIT, MAX_LIST_LIMIT) + peek, **only.params()},
    ).all()  # one fetchall, not a fetchone per row
    views: list[TaskView] = []
    last_id = None
    for *columns, file_name, file_size in rows:
        if columns[0] != last_id:  # the first row of a task (rows come ordered by task)
            last_id = columns[0]
            views.append(TaskView(*columns, files=[]))
        if file_name is not None:
            views[-1].files.append(FileView(file_name, file_size))
    return views


def get_task(session: Session, owner_id: int, task_id: int) -> Task:
    """:raise NotFound: if there is no such task or it belongs to someone else."""
    task = session.get(Task, task_id)
    if task is None or task.owner_id != owner_id:
        raise NotFound(f"task {task_id} not found")
    return task


def delete_task(session: Session, owner_id: int, task_id: int) -> list[int]:
    """Delete the task; its objects are recorded for deletion in the same
    transaction (``garbage``): returns those records, for ``garbage.collect``.

    :raise NotFound: as ``get_task``.
    :raise Conflict: while a live worker is processing it.
    """
    task = get_task(session, owner_id, task_id)
    keys = [f.storage_key for f in task.files] + [task.compressed_key or ""]
    garbage_ids = garbage.record(session, keys)
    deleted = session.execute(
        sa.delete(Task).where(
            Task.id == task_id,
            sa.or_(
                Task.status != TaskStatus.PROCESSING.value,
                Task.lease_expires_at < utcnow(),
            ),
        )
    ).rowcount
    if not deleted:
        session.rollback()
        raise Conflict("task is being processed; try again when it has finished", code="task_busy")
    session.commit()
    return garbage_ids


@dataclass(frozen=True, slots=True)
class NamedFile:
    """A file found by its name: which task, whether it is the archive (only a
    made one: an archive name matches once the task is processed), where it is."""

    task_id: int
    status: str
    kind: str  # "original" or "compressed"
    storage_key: str
    filename: str
    media_type: str


_ARCHIVE_OF_MANY = re.compile(r"archive-([1-9][0-9]{0,9})")


def _find_by_name_statement(owner_id: int, filename: str) -> sa.Select:
    """Candidates come from the file-name index (the name, or the name without
    an archive extension) or, for ``archive-<id>.<ext>``, that one id; then
    whether the name is a candidate's original or its archive is decided in
    the same statement (an archive is named after a task's only file, or
    ``archive-<id>`` when it has several)."""
    matched, first, second = (aliased(TaskFile) for _ in range(3))
    names = [filename]
    candidates = []
    archive = sa.false()
    for fmt in ArchiveFormat:
        if filename.endswith(fmt.extension) and len(filename) > len(fmt.extension):
            base = filename[: -len(fmt.extension)]
            names.append(base)
            single = sa.and_(second.id.is_(None), first.filename == base)
            many = _ARCHIVE_OF_MANY.fullmatch(base)
            if many:
                candidates.append(Task.id == int(many.group(1)))
                single = sa.or_(single, sa.and_(second.id.is_not(None), Task.id == int(many.group(1))))
            archive = sa.and_(Task.compressed_key.is_not(None), Task.new_format == fmt.value, single)
    candidates.append(Task.id.in_(sa.select(TaskFile.task_id).where(TaskFile.filename.in_(names))))
    return (
        sa.select(Task.id, Task.status, Task.new_format, Task.compressed_key, matched.storage_key,
                  archive.label("is_archive"))
        .outerjoin(matched, sa.and_(matched.task_id == Task.id, matched.filename == filename))
        .outerjoin(first, sa.and_(first.task_id == Task.id, first.position == 0))
        .outerjoin(second, sa.and_(second.task_id == Task.id, second.position == 1))
        .where(
            Task.owner_id == owner_id,
            sa.or_(*candidates),
            sa.or_(matched.id.is_not(None), archive),
        )
        .order_by(Task.id.desc())
        .limit(1)
    )


def find_file_by_name(connection: Connection, owner_id: int, filename: str) -> NamedFile:
    """The caller's newest original or archive called ``filename`` (the archive
    if a task has both), in one indexed query (``ix_task_files_filename``)
    whatever the number of tasks.

    :raise NotFound: if none matches.
    """
    row = connection.execute(_find_by_name_statement(owner_id, filename)).first()
    if row is None:
        raise NotFound(f"no file called {filename!r}")
    task_id, status, new_format, compressed_key, original_key, is_archive = row
    if is_archive:
        fmt = ArchiveFormat(new_format)
        return NamedFile(task_id, status, "compressed", compressed_key, filename, fmt.media_type)
    return NamedFile(task_id, status, "original", original_key, filename, ORIGINAL_MEDIA_TYPE)


def delete_objects(storage: Storage, keys: Sequence[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except StorageError as error:  # pragma: no cover - logged, swept by retention
            log.error("could not delete object %s: %s", key, error)
