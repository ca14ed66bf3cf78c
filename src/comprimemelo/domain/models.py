"""The data model: users, their tasks and each task's input files.

A task owns one or more ``TaskFile`` rows: one archive is made from all of
them. Leases
(``lease_owner``/``lease_expires_at``) make claiming a task an atomic
conditional update that works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from comprimemelo.domain.statuses import TaskStatus


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            value = value.astimezone(dt.timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    # Lower-cased copy, unique: the account that holds the address (log-in by
    # e-mail finds it). An account that does not (``comprimemelo.services.verification``)
    # has a placeholder without "@" here; ``email`` keeps what it signed up with.
    email_lower: Mapped[str] = mapped_column(String(254), unique=True)
    # When the address was proven by a signed link; no mail goes to it before.
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # One more whenever the user's task list changes: kept by database triggers
    # (migration 0006), read by ``web.tasklists``. Never written by the app.
    tasks_version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # Usage for quotas (``comprimemelo.services.quotas``), kept by database triggers
    # (migration 0009): bytes kept (originals, archives, unfinished uploads'
    # declared sizes), tasks queued or processing, upload sessions open.
    stored_bytes: Mapped[int] = mapped_column(BigInteger, server_default="0")
    live_tasks: Mapped[int] = mapped_column(Integer, server_default="0")
    open_uploads: Mapped[int] = mapped_column(Integer, server_default="0")
    # Tasks created since the window started (one hour): the app counts these.
    quota_window_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tasks_in_window: Mapped[int] = mapped_column(Integer, server_default="0")


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_owner_id_id", "owner_id", "id"),
        Index("ix_tasks_status_published_at", "status", "published_at"),
        Index("ix_tasks_expires_at", "expires_at"),
        # The fair claim (``leases.claim_next``): owners with waiting tasks, each
        # owner's oldest claimable task and running count, and its last claim.
        Index("ix_tasks_status_owner_id_id", "status", "owner_id", "id"),
        Index("ix_tasks_owner_id_started_at", "owner_id", "started_at"),
        # A list of one format, a page at a time (``GET /api/tasks?format=``);
        # one status pages through ``ix_tasks_status_owner_id_id``.
        Index("ix_tasks_owner_id_new_format_id", "owner_id", "new_format", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Random, never derived from user input: the prefix of every storage key.
    storage_prefix: Mapped[str] = mapped_column(String(64), unique=True)
    new_format: Mapped[str] = mapped_column(String(16))
    level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.UPLOADED.value)
    size_original: Mapped[int] = mapped_column(BigInteger, default=0)
    size_compressed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    compressed_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # 0-100 while processing (the worker's view of input bytes read); None before.
    progress: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # When the files are deleted and the task becomes ``expired``; None: kept.
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The archive is password-protected (the password itself is never stored in clear).
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The archive password sealed (``comprimemelo.services.sealed``) for whichever worker
    # claims the task; kept only until the task finishes, fails or expires.
    sealed_password: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A failed attempt's backoff: the task is not claimed again before this.
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    files: Mapped[list[TaskFile]] = relationship(
        back_populates="task",
        order_by="TaskFile.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def filename(self) -> str:
        return self.files[0].filename if self.files else ""


class TaskFile(Base):
    __tablename__ = "task_files"
    # ``GET /api/files/<name>`` finds a file by its name in one indexed lookup.
    __table_args__ = (Index("ix_task_files_filename", "filename"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(512))

    task: Mapped[Task] = relationship(back_populates="files")


class RevokedToken(Base):
    """Logged-out JWT ids, kept until the token would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class QueueMessage(Base):
    """The embedded queue: a durable message table with visibility leases."""

    __tablename__ = "queue_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    available_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    """A client's ``Idempotency-Key`` and the response its first request got.

    ``status_code`` is None while that first request is still running.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("owner_id", "endpoint", "key", name="uq_idempotency_keys_owner_endpoint_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    endpoint: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of what identifies the request: the same key with another body is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class NotificationSettings(Base):
    """How a user wants to hear that a task finished: e-mail, a webhook, both.

    ``webhook_secret`` signs every webhook event (shown to the user once); the
    webhook is switched off (``webhook_disabled_at``) after repeated ``410 Gone``.
    """

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Consecutive 410 answers; reset by any other answer.
    webhook_gone_count: Mapped[int] = mapped_column(Integer, default=0)
    webhook_disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    webhook_disabled_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskWebhook(Base):
    """A webhook for one task (``webhookUrl`` on upload), signed with its owner's secret."""

    __tablename__ = "task_webhooks"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    gone_count: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEvent(Base):
    """A notification to deliver, written when the task finishes, so none is lost
    if a process dies; senders claim due rows by moving ``next_attempt_at``.

    One row per task, event and channel target (``scope``: the user's or the
    task's webhook, or ``email``): the unique constraint makes recording idempotent.
    """

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("task_id", "event_type", "scope", name="uq_notification_outbox_task_event_scope"),
        Index("ix_notification_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(32))
    # None for account mail (a verification link, a sign-up notice).
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UploadSession(Base):
    """A resumable upload (``POST /api/uploads``): bytes arrive in chunks, possibly
    over days and reconnections, straight into storage under ``storage_key``.

    ``id`` is random and unguessable: the embedded chunk endpoint's URL carries
    it as the capability to upload, as a Cloud Storage session URI does.
    """

    __tablename__ = "upload_sessions"
    __table_args__ = (Index("ix_upload_sessions_owner_id_created_at", "owner_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Random, never derived from user input.
    storage_key: Mapped[str] = mapped_column(String(512), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(16))
    # Where the client sends bytes when that is not this app (a Cloud Storage
    # resumable session URI, itself the capability to write the object).
    upload_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Pushed forward by every chunk: an idle session past it is abandoned.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class StorageGarbage(Base):
    """An object whose row is gone and that is still to be deleted from storage.

    Written in the transaction that deletes the rows (a task, an account), so
    no object is ever left that nothing points to: the request deletes them at
    once, and the worker's sweep retries whatever a storage outage left.
    ``upload_url``: an unfinished resumable upload's backend session, cancelled too.
    """

    __tablename__ = "storage_garbage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(512))
    upload_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
