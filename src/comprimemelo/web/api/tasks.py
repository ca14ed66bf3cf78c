"""``/api/tasks`` and ``/api/files``: upload, list, read, download, delete."""

from __future__ import annotations

import datetime as dt
import os

from flask import Blueprint, Response, current_app, redirect, request, send_file, url_for

from comprimemelo.compression import ArchiveFormat, CompressionError, Preset, UnsupportedFormat
from comprimemelo.compression.encryption import check_password
from comprimemelo.domain.errors import Conflict, Gone, InvalidInput, NotFound, UnsupportedMediaType
from comprimemelo.domain.models import Task, utcnow
from comprimemelo.domain.statuses import TaskStatus
from comprimemelo.domain.timestamps import iso_utc
from comprimemelo.services import garbage, intake, sealed
from comprimemelo.services import tasks as task_service
from comprimemelo.services.intake import CreateTask, Upload
from comprimemelo.services.tasks import ORIGINAL_MEDIA_TYPE
from comprimemelo.web import tasklists
from comprimemelo.web.api.idempotency import Recorder, idempotent
from comprimemelo.web.auth import current_tasks_version, current_user_id, login_required
from comprimemelo.web.context import (
    backends,
    current_settings,
    database_turn,
    db_connection,
    db_session,
    release_database,
    upload_target,
)
from comprimemelo.web.middleware.bodies import accepts_body
from comprimemelo.web.params import int_arg

bp = Blueprint("api_tasks", __name__, url_prefix="/api")

FILE_FIELD = "fileName"
FORMAT_FIELD = "newFormat"
LEVEL_FIELD = "level"
PASSWORD_FIELD = "password"
RETENTION_FIELD = "retentionHours"
WEBHOOK_FIELD = "webhookUrl"
# Task ids live in a 32-bit INTEGER column; a larger id names no task, and the
# database drivers reject it (SQLite: OverflowError) rather than finding nothing.
MAX_TASK_ID = 2**31 - 1
# Read once: a list compares 20 statuses, and an Enum's ``.value`` is a lookup each time.
_PROCESSED = TaskStatus.PROCESSED.value
_EXPIRED = TaskStatus.EXPIRED.value


def _timestamp(value: dt.datetime | str | None) -> str | None:
    # A listed task's timestamps come formatted by the database (TaskView).
    return value if value is None or value.__class__ is str else iso_utc(value)


def task_json(task: Task | task_service.TaskView, *, script_root: str | None = None) -> dict:
    """The API's task object; a list passes the request's ``script_root`` once."""
    processed = task.status == _PROCESSED
    expired = task.status == _EXPIRED
    # Formatted, not ``url_for``: a list builds 40 of these, and routing's
    # URL builder was a sixth of its cost. A test pins them to url_for's.
    root = request.script_root if script_root is None else script_root
    base = f"{root}{bp.url_prefix}/tasks/{task.id}"
    return {
        "id": task.id,
        "filename": task.filename,
        "new_format": task.new_format,
        "level": task.level,
        "status": task.status,
        "size_original": task.size_original,
        "size_compressed": task.size_compressed,
        "created_at": _timestamp(task.created_at),
        "processed_at": _timestamp(task.processed_at),
        "attempts": task.attempts,
        "error": task.error,
        "progress": 100 if processed else task.progress,
        "encrypted": task.encrypted,
        "expires_at": _timestamp(task.expires_at),
        "files": [{"filename": f.filename, "size": f.size} for f in task.files],
        "original_url": None if expired else f"{base}/original",
        "compressed_url": f"{base}/compressed" if processed else None,
    }


def parse_format(raw: str | None) -> ArchiveFormat:
    if not raw:
        raise InvalidInput(f"missing form field {FORMAT_FIELD!r}", code="missing_field")
    try:
        return ArchiveFormat.parse(raw)
    except UnsupportedFormat:
        choices = ", ".join(f.value for f in ArchiveFormat)
        raise InvalidInput(
            f"unsupported format {raw[:40]!r}: choose one of {choices}", code="invalid_format"
        ) from None


def parse_level(raw: str | None, fmt: ArchiveFormat) -> int | None:
    """A number in the format's range, or a preset name (``fastest``, ``balanced``, ``smallest``)."""
    if raw in (None, ""):
        return None
    with_preset = raw.strip().lower()
    if with_preset in {preset.value for preset in Preset}:
        return fmt.preset_level(Preset(with_preset))
    low, high = fmt.level_range
    try:
        level = int(raw)
    except ValueError:
        level = None
    if level is None or not low <= level <= high:
        presets = ", ".join(preset.value for preset in Preset)
        raise InvalidInput(
            f"level for {fmt.value} must be an integer from {low} to {high} or one of {presets}",
            code="invalid_level",
        )
    return level


def parse_password(raw: str | None, fmt: ArchiveFormat) -> str | None:
    """The archive password, if one was sent; never logged or stored.

    :raise InvalidInput: if the core's ``check_password`` refuses it (one rule for both).
    """
    if raw in (None, ""):
        return None
    if not fmt.encryptable:
        raise InvalidInput(
            f"{fmt.value} archives cannot have a password: use zip or 7z", code="encryption_unsupported"
        )
    try:
        check_password(fmt, raw)
    except CompressionError as error:
        raise InvalidInput(str(error), code="invalid_password") from None
    return raw


def parse_retention(raw: str | None) -> dt.timedelta:
    """Hours to keep the task's files: the deployment's default, or 1 up to its maximum."""
    settings = current_settings()
    if raw in (None, ""):
        return dt.timedelta(seconds=settings.retention_seconds)
    most = settings.max_retention_seconds // 3600
    try:
        hours = int(raw)
    except ValueError:
        hours = 0
    if not 1 <= hours <= most:
        raise InvalidInput(f"{RETENTION_FIELD} must be an integer from 1 to {most}", code="invalid_retention")
    return dt.timedelta(hours=hours)


def task_location(body: dict) -> dict:
    """The ``Location`` of a created task, from its JSON (first answer or replay)."""
    return {"Location": url_for("api_tasks.get_task", task_id=body["id"])}


def _stream_size(stream) -> int:
    """The size of an uploaded part: Werkzeug spools each to memory or a temp file."""
    position = stream.tell()
    size = stream.seek(0, os.SEEK_END)
    stream.seek(position)
    return size


@bp.post("/tasks")
@accepts_body(lambda settings: settings.max_upload_bytes)
@login_required
def create_task():
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(
            f"send multipart/form-data with the file in {FILE_FIELD!r} "
            f"and the format in {FORMAT_FIELD!r}"
        )
    release_database()  # the caller is known; the body may take minutes to arrive
    uploads = [
        Upload(filename=part.filename or "file", stream=part.stream, size=_stream_size(part.stream))
        for part in request.files.getlist(FILE_FIELD)
    ]
    if not uploads:
        raise InvalidInput(f"missing file field {FILE_FIELD!r}", code="missing_file")
    fmt = parse_format(request.form.get(FORMAT_FIELD))
    level = parse_level(request.form.get(LEVEL_FIELD), fmt)
    password = parse_password(request.form.get(PASSWORD_FIELD), fmt)
    retention = parse_retention(request.form.get(RETENTION_FIELD))
    webhook_url = request.form.get(WEBHOOK_FIELD) or None
    identity = [fmt.value, str(level), str(retention.total_seconds()), "encrypted" if password else "plain"]
    identity += [f"{upload.filename}\x00{upload.size}" for upload in uploads]
    if webhook_url:
        identity.append(f"webhook\x00{webhook_url}")
    command = CreateTask(
        owner_id=current_user_id(), fmt=fmt, level=level, expires_at=utcnow() + retention,
        sealed_password=seal_password(password), webhook_url=webhook_url, uploads=uploads,
    )
    return idempotent("POST /api/tasks", identity, lambda record: submit(command, record), headers_for=task_location)


def seal_password(password: str | None) -> str | None:
    """An archive password sealed for its trip to the worker (``comprimemelo.services.sealed``)."""
    return sealed.seal(password, current_settings().secret_key) if password else None


def submit(command: CreateTask, record: Recorder) -> tuple[dict, int]:
    """Run ``command`` (``comprimemelo.services.intake``) in short turns at the database."""
    app = backends()
    task = intake.create_task(
        database_turn, app.storage, app.queue, app.settings, command,
        target=upload_target, before_commit=lambda session, task: record(session, task_json(task), 201),
    )
    return task_json(task), 201


@bp.get("/formats")
def list_formats():
    """What each format accepts: its level range, default, presets and encryption."""
    return [
        {
            "format": fmt.value,
            "extension": fmt.extension,
            "media_type": fmt.media_type,
            "levels": {"min": fmt.level_range[0], "max": fmt.level_range[1], "default": fmt.default_level},
            "presets": {preset.value: fmt.preset_level(preset) for preset in Preset},
            "encryption": "aes-256" if fmt.encryptable else None,
        }
        for fmt in ArchiveFormat
    ]


@bp.get("/tasks")
@login_required
def list_tasks():
    """The caller's tasks, a page at a time (a ``Link: <...>; rel="next"``
    while more follow); ``If-None-Match`` with the last ``ETag`` gets 304
    while nothing changed (the dashboard's poll)."""
    query = tasklists.parse_query(request.args.get)
    owner, root, version = current_user_id(), request.script_root, current_tasks_version()
    lists: tasklists.TaskLists = current_app.extensions[tasklists.EXTENSION]
    listed = lists.lookup(owner, query, root, version)
    if listed is None:
        page = tasklists.read_page(db_connection(), owner, query)
        rendered = current_app.json.response([task_json(task, script_root=root) for task in page.tasks])
        link = None if page.next is None else tasklists.link_to(page.next, root)
        listed = lists.store(owner, query, root, version, rendered.get_data(), link)
    status, headers = tasklists.answer(listed, request.headers.get("If-None-Match"))
    if status == 304:
        return current_app.response_class(status=304, headers=headers)
    return current_app.response_class(listed.body, mimetype=current_app.json.mimetype, headers=headers)


def _int_arg(name: str, *, minimum: int, maximum: int | None = None) -> int | None:
    return int_arg(request.args.get(name), name, minimum=minimum, maximum=maximum)


def owned_task(task_id: int) -> Task:
    """The caller's task ``task_id``.

    :raise NotFound: if there is no such task, it belongs to someone else, or the
        id is beyond any the database can hold.
    """
    if task_id > MAX_TASK_ID:
        raise NotFound(f"task {task_id} not found")
    return task_service.get_task(db_session(), current_user_id(), task_id)


@bp.get("/tasks/<int:task_id>")
@login_required
def get_task(task_id: int):
    return task_json(owned_task(task_id))


@bp.delete("/tasks/<int:task_id>")
@login_required
def delete_task(task_id: int):
    owned_task(task_id)
    leftovers = task_service.delete_task(db_session(), current_user_id(), task_id)
    release_database()
    garbage.collect(database_turn, backends().storage, ids=leftovers)
    return "", 204


@bp.get("/tasks/<int:task_id>/original")
@login_required
def download_original(task_id: int):
    task = owned_task(task_id)
    _refuse_expired(task)
    index = _int_arg("file", minimum=0) or 0
    if index >= len(task.files):
        raise NotFound(f"task {task_id} has no file {index}")
    item = task.files[index]
    return send_object(item.storage_key, item.filename, ORIGINAL_MEDIA_TYPE)


@bp.get("/tasks/<int:task_id>/compressed")
@login_required
def download_compressed(task_id: int):
    task = owned_task(task_id)
    return _send_archive(task)


def _send_archive(task: Task) -> Response:
    _refuse_expired(task)
    if task.status != TaskStatus.PROCESSED.value or not task.compressed_key:
        raise Conflict(f"task {task.id} is {task.status}, not processed", code="not_processed")
    fmt = ArchiveFormat(task.new_format)
    return send_object(task.compressed_key, task_service.archive_filename(task), fmt.media_type)


def _refuse_expired(task: Task) -> None:
    """:raise Gone: if the task's retention ended (its files are deleted)."""
    if task.status == _EXPIRED:
        raise Gone(f"task {task.id} expired: its files were deleted at the end of its retention")


@bp.get("/files/<path:filename>")
@login_required
def download_by_name(filename: str):
    found = task_service.find_file_by_name(db_connection(), current_user_id(), filename)
    if found.status == _EXPIRED:
        raise Gone(f"task {found.task_id} expired: its files were deleted at the end of its retention")
    return send_object(found.storage_key, found.filename, found.media_type)


def send_object(key: str, filename: str, media_type: str) -> Response:
    """Redirect to a signed URL when storage offers one, else stream the bytes.

    The file's own media type, or ``application/octet-stream`` to a client that
    asks only for that (generated clients read bytes under that name).
    """
    media_type = request.accept_mimetypes.best_match((media_type, ORIGINAL_MEDIA_TYPE), default=media_type)
    storage = backends().storage
    url = storage.download_url(key, filename, media_type)
    if url:
        response = redirect(url, code=302)
    else:
        local_path = getattr(storage, "local_path", None)
        source = local_path(key) if local_path else storage.open(key)
        if local_path and not source.is_file():
            raise NotFound("the file is no longer in storage")
        response = send_file(source, mimetype=media_type, as_attachment=True, download_name=filename)
    response.vary.add("Accept")
    return response
