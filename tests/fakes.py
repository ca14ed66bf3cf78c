"""Small in-memory fakes of our ports, for unit tests of the services: a
storage, a queue, and a unit of work over an in-memory SQLite database
(migrated, so triggers and constraints are the real ones; no file, no server).
They implement the ports' contracts, not more; integration tests use the real
adapters."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from comprimemelo import db
from comprimemelo.queue import QueueError, TaskMessage
from comprimemelo.settings import Settings
from comprimemelo.storage import ObjectNotFound, StorageError


class FakeStorage:
    """Objects in a dict; ``down`` makes every call fail as an outage would."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.down = False
        self.on_put = None  # called with the key before each store (tests' probe)

    def _up(self) -> None:
        if self.down:
            raise StorageError("storage is down")

    def put_stream(self, key: str, stream: BinaryIO) -> int:
        self._up()
        if self.on_put:
            self.on_put(key)
        data = stream.read()
        self.objects[key] = data
        return len(data)

    def spool(self) -> BinaryIO:
        return tempfile.TemporaryFile()

    def sweep_spool(self, older_than_seconds: float) -> int:
        return 0

    def put_file(self, key: str, path: Path) -> int:
        with open(path, "rb") as source:
            return self.put_stream(key, source)

    def get_file(self, key: str, path: Path) -> None:
        Path(path).write_bytes(self.open(key).read())

    def open(self, key: str) -> BinaryIO:
        self._up()
        if key not in self.objects:
            raise ObjectNotFound(key)
        return io.BytesIO(self.objects[key])

    def download_url(self, key: str, filename: str, media_type: str) -> str | None:
        return None

    def delete(self, key: str) -> None:
        self._up()
        self.objects.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.objects

    def check(self) -> None:
        self._up()


class FakeQueue:
    """Messages in a list; ``down`` makes publishing fail (a timeout, say)."""

    def __init__(self) -> None:
        self.published: list[TaskMessage] = []
        self.down = False
        self.on_publish = None  # called with the message before it is taken (tests' probe)

    def publish(self, message: TaskMessage) -> None:
        if self.on_publish:
            self.on_publish(message)
        if self.down:
            raise QueueError("publish timed out")
        self.published.append(message)

    def receive(self, max_messages: int, timeout: float) -> list:
        return []

    def dead_letters(self) -> list:
        return []

    def check(self) -> None:
        if self.down:
            raise QueueError("queue is down")

    def close(self) -> None:
        pass


class InMemoryUnitOfWork:
    """Short turns at an in-memory SQLite database: ``uow()`` is a session, as
    a turn of the web or a worker's ``sessions()`` is; ``open_turns`` counts
    the turns being held right now (tests assert none is held during I/O)."""

    def __init__(self, settings: Settings) -> None:
        self.engine = sa.create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        sa.event.listen(self.engine, "connect", lambda conn, _record: conn.execute("PRAGMA foreign_keys=ON"))
        db.upgrade(self.engine, settings)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.open_turns = 0

    @contextlib.contextmanager
    def __call__(self) -> Iterator[Session]:
        self.open_turns += 1
        try:
            with self.sessions() as session:
                yield session
        finally:
            self.open_turns -= 1
