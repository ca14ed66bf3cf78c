"""The composition root: the one place that turns settings into real adapters.

Tests pass their own ``storage``/``queue``/``engine``; everything else gets the
adapter its settings name. Nothing here runs at import time.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlparse

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from comprimemelo import db
from comprimemelo.passwords import Passwords
from comprimemelo.queue import Queue
from comprimemelo.settings import Settings
from comprimemelo.storage import Storage, open_storage
from comprimemelo.tokens import Tokens


@dataclasses.dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    queue: Queue
    passwords: Passwords
    tokens: Tokens

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


def build_services(
    settings: Settings,
    *,
    engine: Engine | None = None,
    storage: Storage | None = None,
    queue: Queue | None = None,
    subscribe: bool = False,
) -> Services:
    engine = engine or db.create_engine(settings)
    return Services(
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
        passwords=Passwords(settings),
        tokens=Tokens(settings.secret_key, settings.token_ttl_seconds),
    )
