"""All configuration, in one frozen object built from ``COMPRIMEMELO_*`` variables.

Nothing else in the package reads ``os.environ``: the CLI builds a ``Settings``
once (flags override the environment) and hands it to the composition root.
Defaults give the embedded mode: SQLite, a local files folder and the
database-backed queue, all under one data directory.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import limits

from comprimemelo.private_files import private_dir

PREFIX = "COMPRIMEMELO_"
EMBEDDED = "embedded"
PRODUCTION = "production"
WEB_WORKER_CLASSES = ("gthread", "gevent")
MIN_SECRET_KEY_LENGTH = 32
# "aaaa...a" or "changemechangeme..." are long but not random; a hex key has 16.
MIN_SECRET_KEY_DISTINCT_CHARACTERS = 12
SECRET_KEY_FILE = "secret_key"
GIB = 1024**3


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every knob of the service. Field ``foo_bar`` is ``COMPRIMEMELO_FOO_BAR``."""

    mode: str = EMBEDDED
    data_dir: Path = Path("comprimemelo-data")
    # Database: a SQLAlchemy URL, or Cloud SQL through the connector when
    # ``cloudsql_instance`` is set (IAM authentication, no password).
    database_url: str = ""
    cloudsql_instance: str = ""
    cloudsql_ip_type: str = "private"
    database_name: str = "comprimemelo"
    database_user: str = ""
    db_pool_size: int = 0  # 0: the larger of web_threads and worker concurrency + 2
    db_max_overflow: int = 10
    db_pool_recycle_seconds: int = 1800
    # Storage: file:///path or gs://bucket/prefix.
    storage_url: str = ""
    signed_url_seconds: int = 300
    # How long one Cloud Storage call retries transient errors before it fails
    # (the library's own default is 120 s: an upload would hang that long in
    # an outage before its 503, and each worker attempt before its backoff).
    storage_retry_seconds: float = 30.0
    # Queue: "local" (database-backed) or pubsub://PROJECT/TOPIC/SUBSCRIPTION.
    queue_url: str = "local"
    dead_letter_subscription: str = ""
    publish_timeout_seconds: float = 10.0
    secret_key: str = ""
    token_ttl_seconds: int = 3600
    # argon2id cost (RFC 9106 "low memory" profile by default).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    min_password_length: int = 8
    # Abuse limits in the ``limits`` notation ("5/minute;30/hour"), on top of
    # the load balancer's. Per client address, except the per-account one,
    # which counts failed log-ins. "off" disables them (capacity runs from one
    # address); the storage is per process unless it names a shared store
    # (``redis://...``, see the ``limits`` library).
    rate_limits: str = "on"
    signup_rate_limit: str = "10/minute;60/hour"
    login_rate_limit: str = "30/minute;300/hour"
    login_failure_rate_limit: str = "10/minute;50/hour"
    rate_limit_storage: str = "memory://"
    # Origins (comma-separated, exact) whose pages may call /api/ from a browser.
    cors_origins: str = ""
    # Proxies in front that append X-Forwarded-For/-Proto: 2 behind Google's
    # HTTPS load balancer (client, then the balancer's address), 0 when exposed.
    proxy_hops: int = 0
    max_upload_bytes: int = 2 * GIB
    # Many files, one archive: limits per task (multipart or finished uploads).
    max_files_per_task: int = 100
    max_task_bytes: int = 20 * GIB
    # Resumable uploads (POST /api/uploads): the largest file, the chunk size
    # the embedded endpoint suggests, and how long an idle session lives.
    max_resumable_upload_bytes: int = 20 * GIB
    upload_chunk_bytes: int = 8 * 1024 * 1024
    upload_session_seconds: int = 24 * 3600
    # Per-user quotas (comprimemelo.services.quotas); 0 lifts one. Bytes kept (originals,
    # archives, unfinished uploads), tasks queued or processing, upload
    # sessions open, tasks created per hour (a fixed window from the first).
    quota_storage_bytes: int = 50 * GIB
    quota_live_tasks: int = 200
    quota_open_uploads: int = 20
    quota_tasks_per_hour: int = 1000
    # Retention: files are deleted and the task shows ``expired`` this long
    # after it finishes; a task may ask for less, or more up to the maximum.
    retention_seconds: int = 7 * 24 * 3600
    max_retention_seconds: int = 30 * 24 * 3600
    # Notifications. E-mail: SMTP when ``smtp_host`` is set, else (embedded)
    # a maildir under the data dir. Webhooks: signed JSON events, retried.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: str = "on"
    mail_from: str = "comprimemelo <noreply@localhost>"
    # E-mail verification links live this long; mail to one address about its
    # account (links, sign-up notices) and task mail to one user, per hour.
    email_verification_seconds: int = 2 * 24 * 3600
    account_mail_per_hour: int = 5
    task_mail_per_hour: int = 30
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 8
    # "on" lets webhooks target loopback and private addresses (SSRF guard off).
    webhook_allow_private: str = "off"
    webhook_disable_after_gone: int = 3
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    web_workers: int = 0  # 0: one per core
    web_threads: int = 8
    # gunicorn's worker class. "gevent" (greenlets): measured 1.4x the task-list
    # throughput of "gthread" on SQLite and PostgreSQL, whose threads spent it
    # handing the GIL over at every database call (capacity/reports/api).
    # web_threads applies to "gthread" only.
    web_worker_class: str = "gevent"
    worker_concurrency: int = 0  # 0: one per core
    worker_metrics_port: int = 9100
    lease_seconds: int = 60
    # On SIGTERM a worker lets running tasks finish this long, then gives them back.
    shutdown_grace_seconds: float = 20.0
    max_attempts: int = 3
    republish_after_seconds: int = 120
    temp_dir: str = ""
    # "off" runs the plain path of every library ``comprimemelo.tuning`` reaches into.
    tuning: str = "on"
    log_level: str = "INFO"
    log_format: str = ""  # "json" or "text"; default by mode

    @property
    def rate_limits_enabled(self) -> bool:
        return self.rate_limits == "on"

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip().rstrip("/") for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def production(self) -> bool:
        return self.mode == PRODUCTION

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        if self.cloudsql_instance:
            return "postgresql+pg8000://"
        return f"sqlite:///{(self.data_dir / 'comprimemelo.sqlite3').resolve()}"

    @property
    def effective_storage_url(self) -> str:
        return self.storage_url or (self.data_dir / "files").resolve().as_uri()

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("json" if self.production else "text")

    @property
    def effective_web_workers(self) -> int:
        return self.web_workers or os.cpu_count() or 1

    @property
    def effective_worker_concurrency(self) -> int:
        return self.worker_concurrency or os.cpu_count() or 1

    @property
    def effective_db_pool_size(self) -> int:
        """Connections each process keeps: one per thread that may use one at
        once (a web thread; a worker slot plus the sweeps and the notification
        sender), so no request opens and closes an overflow connection."""
        return self.db_pool_size or max(self.web_threads, self.effective_worker_concurrency + 2)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _convert(field: dataclasses.Field, name: str, raw: str) -> Any:
    kind = field.type
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw).expanduser()
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind}") from None
    return raw


def load_settings(
    environ: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Build and validate settings: environment first, then non-None ``overrides``.

    In embedded mode with no ``COMPRIMEMELO_SECRET_KEY`` a random key is created
    once in the data directory (mode 0600) and reused on every start, so tokens
    survive restarts. In production mode a missing or short key is an error.

    :raise SettingsError: on a malformed value, an unknown mode or a weak key.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        name = PREFIX + field.name.upper()
        if name in environ and environ[name] != "":
            values[field.name] = _convert(field, name, environ[name])
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings(**values)
    _validate(settings)
    if not settings.secret_key:
        settings = settings.replace(secret_key=_embedded_secret_key(settings.data_dir))
    return settings


def _validate(settings: Settings) -> None:
    if settings.mode not in (EMBEDDED, PRODUCTION):
        raise SettingsError(f"{PREFIX}MODE must be {EMBEDDED!r} or {PRODUCTION!r}")
    key = settings.secret_key
    if settings.production and (
        len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < MIN_SECRET_KEY_DISTINCT_CHARACTERS
    ):
        raise SettingsError(
            f"{PREFIX}SECRET_KEY must be set to at least {MIN_SECRET_KEY_LENGTH} "
            "random characters in production mode"
        )
    if settings.max_upload_bytes <= 0:
        raise SettingsError(f"{PREFIX}MAX_UPLOAD_BYTES must be positive")
    if settings.lease_seconds < 5:
        raise SettingsError(f"{PREFIX}LEASE_SECONDS must be at least 5")
    if settings.max_attempts < 1:
        raise SettingsError(f"{PREFIX}MAX_ATTEMPTS must be at least 1")
    if settings.web_worker_class not in WEB_WORKER_CLASSES:
        raise SettingsError(f"{PREFIX}WEB_WORKER_CLASS must be one of {', '.join(WEB_WORKER_CLASSES)}")
    if settings.log_format not in ("", "json", "text"):
        raise SettingsError(f"{PREFIX}LOG_FORMAT must be 'json' or 'text'")
    if settings.tuning not in ("on", "off"):
        raise SettingsError(f"{PREFIX}TUNING must be 'on' or 'off'")
    if settings.rate_limits not in ("on", "off"):
        raise SettingsError(f"{PREFIX}RATE_LIMITS must be 'on' or 'off'")
    for name in ("signup_rate_limit", "login_rate_limit", "login_failure_rate_limit"):
        try:
            limits.parse_many(getattr(settings, name))
        except ValueError:
            raise SettingsError(
                f"{PREFIX}{name.upper()}={getattr(settings, name)!r} is not a rate limit like '5/minute;30/hour'"
            ) from None
    for name in ("max_files_per_task", "max_task_bytes", "max_resumable_upload_bytes", "upload_chunk_bytes",
                 "upload_session_seconds", "retention_seconds", "webhook_max_attempts",
                 "webhook_disable_after_gone", "email_verification_seconds", "account_mail_per_hour",
                 "task_mail_per_hour"):
        if getattr(settings, name) < 1:
            raise SettingsError(f"{PREFIX}{name.upper()} must be positive")
    for name in ("quota_storage_bytes", "quota_live_tasks", "quota_open_uploads", "quota_tasks_per_hour"):
        if getattr(settings, name) < 0:
            raise SettingsError(f"{PREFIX}{name.upper()} must be 0 (unlimited) or more")
    if settings.max_retention_seconds < settings.retention_seconds:
        raise SettingsError(f"{PREFIX}MAX_RETENTION_SECONDS must be at least {PREFIX}RETENTION_SECONDS")
    for name in ("smtp_starttls", "webhook_allow_private"):
        if getattr(settings, name) not in ("on", "off"):
            raise SettingsError(f"{PREFIX}{name.upper()} must be 'on' or 'off'")
    if settings.storage_retry_seconds <= 0:
        raise SettingsError(f"{PREFIX}STORAGE_RETRY_SECONDS must be positive")
    if settings.proxy_hops < 0:
        raise SettingsError(f"{PREFIX}PROXY_HOPS must be 0 or more")
    for origin in settings.cors_origin_list:
        if not origin.startswith(("https://", "http://")) or origin.count("/") != 2:
            raise SettingsError(f"{PREFIX}CORS_ORIGINS: {origin!r} is not an origin like https://example.com")


def _embedded_secret_key(data_dir: Path) -> str:
    """Create the key file atomically (link of a complete temp file), so two
    processes starting at once agree on one key and never read a half-written one."""
    private_dir(data_dir)
    path = data_dir / SECRET_KEY_FILE
    if not path.exists():
        temp = data_dir / f".{SECRET_KEY_FILE}.{secrets.token_hex(8)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    return path.read_text().strip()
