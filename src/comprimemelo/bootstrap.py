"""The composition root: the one place that turns settings into a running web
app or worker.

``open_backends`` opens what the settings select: the database, storage,
the queue and resumable uploads' backend. ``build_web`` and ``build_worker``
build everything a role needs from them and install the performance tuning
that role uses (``tuning``). Tests pass backends of their own. Nothing runs
at import time.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from comprimemelo import db, tuning
from comprimemelo.queue import Queue
from comprimemelo.settings import Settings
from comprimemelo.storage import Storage, open_storage

if TYPE_CHECKING:
    from flask import Flask

    from comprimemelo.notifications import Sender
    from comprimemelo.storage.resumable import UploadTarget
    from comprimemelo.worker import Worker


@dataclasses.dataclass
class Backends:
    """The adapters the settings select, shared by everything of one process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    queue: Queue

    @functools.cached_property
    def uploads(self) -> UploadTarget:
        """Resumable uploads' backend for this storage, made once (a Cloud Storage client is not free).

        :raise ValueError: for a storage without resumable uploads (a test's fake).
        """
        from comprimemelo.storage.resumable import open_target

        return open_target(self.storage)

    def close(self) -> None:
        self.queue.close()
        self.engine.dispose()


def open_queue(settings: Settings, engine: Engine, *, subscribe: bool = False) -> Queue:
    """The adapter for ``settings.queue_url``: ``local`` or ``pubsub://P/TOPIC/SUB``.

    ``subscribe`` is for workers: a web process only publishes.
    """
    url = settings.queue_url
    if url == "local":
        from comprimemelo.queue.local import LocalQueue

        return LocalQueue(engine, lease_seconds=settings.lease_seconds, wakeup_dir=settings.data_dir.resolve() / "wakeup")
    if urlparse(url).scheme == "pubsub":
        from comprimemelo.queue.pubsub import PubSubQueue

        return PubSubQueue.from_url(url, settings=settings, subscribe=subscribe)
    raise ValueError(f"unsupported queue URL {url!r}: use 'local' or pubsub://PROJECT/TOPIC/SUBSCRIPTION")


def open_backends(
    settings: Settings,
    *,
    engine: Engine | None = None,
    storage: Storage | None = None,
    queue: Queue | None = None,
    subscribe: bool = False,
) -> Backends:
    """The backends ``settings`` select; any passed in replaces its adapter."""
    if engine is None:
        engine = db.create_engine(settings)
        if engine.dialect.driver == "pg8000" and tuning.enabled(settings, tuning.PG8000_ROUND_TRIPS):
            tuning.install_pg8000(engine)
    return Backends(
        settings=settings,
        engine=engine,
        sessions=db.session_factory(engine),
        storage=storage
        or open_storage(
            settings.effective_storage_url,
            signed_url_seconds=settings.signed_url_seconds,
            retry_seconds=settings.storage_retry_seconds,
        ),
        queue=queue or open_queue(settings, engine, subscribe=subscribe),
    )


def build_web(settings: Settings, *, backends: Backends | None = None) -> Flask:
    """The web role's app: its backends, the services that need only settings,
    and the web tuning that applies."""
    from comprimemelo.services.passwords import Passwords
    from comprimemelo.services.tokens import Tokens
    from comprimemelo.web import WebTuning, create_app

    return create_app(
        backends or open_backends(settings),
        passwords=Passwords(settings),
        tokens=Tokens(settings.secret_key, settings.token_ttl_seconds),
        tune=WebTuning(
            list_fast_path=tuning.enabled(settings, tuning.FLASK_LIST_FAST_PATH),
            orjson_responses=tuning.enabled(settings, tuning.FLASK_ORJSON_RESPONSES),
            large_multipart_reads=tuning.enabled(settings, tuning.WERKZEUG_LARGE_MULTIPART_READS),
        ),
    )


@dataclasses.dataclass
class WorkerRole:
    """A worker process's parts: the task worker, the notification sender, their backends."""

    worker: Worker
    sender: Sender
    backends: Backends

    def run(self, stop: threading.Event) -> None:
        """Work and deliver notifications until ``stop``, then close the backends."""
        self.sender.start(stop)
        try:
            self.worker.run(stop)
        finally:
            self.sender.join(self.backends.settings.webhook_timeout_seconds + 1)
            self.backends.close()


def build_worker(settings: Settings, *, backends: Backends | None = None) -> WorkerRole:
    """The worker role: a worker whose finished tasks record their notifications,
    and the sender that delivers them."""
    from comprimemelo.notifications import Sender, task_finished_hook
    from comprimemelo.worker import Worker

    backends = backends or open_backends(settings, subscribe=True)
    worker = Worker(
        settings, backends.sessions, backends.storage, backends.queue,
        on_finished=task_finished_hook(settings, backends.sessions),
    )
    return WorkerRole(worker, Sender(settings, backends.sessions), backends)


def gunicorn_worker_class(settings: Settings) -> str:
    """gunicorn's ``worker_class``: ours for gevent when its tuning applies
    (``server.gunicorn_gevent``: keep-alive connections take turns, chosen by
    capacity/reports/api-tail), gunicorn's own otherwise."""
    if settings.web_worker_class == "gevent" and tuning.enabled(settings, tuning.GUNICORN_GEVENT_ACCEPT):
        return "comprimemelo.server.gunicorn_gevent.FairGeventWorker"
    return settings.web_worker_class
