"""The embedded queue: a message table in the service's database.

Durable (a published message is a committed row), shared by every process that
opens the same database, with visibility leases: a received message is hidden
until its lease expires, so a worker killed mid-task has its message delivered
again. ``publish`` wakes a waiting ``receive`` at once: within one process
through a condition, across processes on one machine through ``wakeup``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from comprimemelo.domain.models import QueueMessage, utcnow
from comprimemelo.queue import QueueError, TaskMessage
from comprimemelo.queue.wakeup import Wakeup

log = logging.getLogger(__name__)

# How often a waiting receive looks at the table when nothing woke it: the upper
# bound on latency for a message published by another machine (or whose wake-up
# was lost), and when a delayed retry becomes visible.
POLL_INTERVAL_SECONDS = 0.2
WOKEN_POLL_INTERVAL_SECONDS = 1.0


class LocalDelivery:
    def __init__(
        self, queue: LocalQueue, row_id: int, lease: str, message: TaskMessage, attempt: int
    ):
        self._queue = queue
        self._row_id = row_id
        self._lease = lease
        self.message = message
        self.delivery_attempt = attempt

    def ack(self) -> None:
        """A failed ack is only logged: the message comes back when its lease
        ends, and the task's claim then finds it finished."""
        try:
            self._queue._delete(self._row_id, self._lease)
        except SQLAlchemyError as error:
            log.warning("ack of task %s failed; it will be delivered again: %s", self.message.task_id, error)

    def nack(self, delay_seconds: float = 0) -> None:
        """A failed nack is only logged: the message comes back when its lease ends."""
        try:
            self._queue._make_visible(self._row_id, self._lease, delay_seconds)
        except SQLAlchemyError as error:
            log.warning("nack of task %s failed; it comes back when its lease ends: %s", self.message.task_id, error)

    def extend(self, seconds: float) -> None:
        """:raise QueueError: if the new lease could not be recorded."""
        try:
            self._queue._make_visible(self._row_id, self._lease, seconds, keep_owner=True)
        except SQLAlchemyError as error:
            raise QueueError(f"lease extension of task {self.message.task_id}: {error}") from error


class LocalQueue:
    def __init__(self, engine: Engine, *, lease_seconds: float, wakeup_dir: Path | None = None) -> None:
        """``wakeup_dir``: a folder shared by the processes of this machine that
        use the queue (``serve``'s web and worker), for instant cross-process wake-ups."""
        self._engine = engine
        self._lease = dt.timedelta(seconds=lease_seconds)
        self._wakeup = threading.Condition()
        self._table = QueueMessage.__table__
        self._others = Wakeup(wakeup_dir) if wakeup_dir else None

    def publish(self, message: TaskMessage) -> None:
        body = message.to_json().decode()
        try:
            with self._engine.begin() as connection:
                pending = connection.scalar(
                    sa.select(sa.func.count()).where(
                        self._table.c.body == body, self._table.c.lease_owner.is_(None)
                    )
                )
                if not pending:  # an undelivered copy is already waiting
                    now = utcnow()
                    connection.execute(
                        self._table.insert().values(
                            body=body, available_at=now, delivery_attempts=0, created_at=now
                        )
                    )
        except SQLAlchemyError as error:
            raise QueueError(f"cannot publish: {error}") from error
        with self._wakeup:
            self._wakeup.notify_all()
        if self._others:
            self._others.notify()

    def receive(self, max_messages: int, timeout: float) -> list[LocalDelivery]:
        deadline = time.monotonic() + timeout
        while True:
            deliveries = self._lease_available(max_messages)
            remaining = deadline - time.monotonic()
            if deliveries or remaining <= 0:
                return deliveries
            if self._others and self._others.wait(min(WOKEN_POLL_INTERVAL_SECONDS, remaining)):
                continue
            with self._wakeup:
                self._wakeup.wait(min(POLL_INTERVAL_SECONDS, remaining))

    def _lease_available(self, max_messages: int) -> list[LocalDelivery]:
        """Lease up to ``max_messages`` visible rows with one conditional update each:
        a row another process leased first simply fails the ``WHERE`` and is skipped."""
        table = self._table
        now = utcnow()
        deliveries: list[LocalDelivery] = []
        try:
            with self._engine.begin() as connection:
                candidates = connection.execute(
                    sa.select(table.c.id, table.c.body, table.c.available_at)
                    .where(table.c.available_at <= now)
                    .order_by(table.c.available_at, table.c.id)
                    .limit(max_messages)
                ).all()
                for row in candidates:
                    lease = uuid.uuid4().hex
                    leased = connection.execute(
                        table.update()
                        .where(table.c.id == row.id, table.c.available_at == row.available_at)
                        .values(
                            available_at=now + self._lease,
                            lease_owner=lease,
                            delivery_attempts=table.c.delivery_attempts + 1,
                        )
                        .returning(table.c.delivery_attempts)
                    ).first()
                    if leased is None:
                        continue
                    try:
                        message = TaskMessage.from_json(row.body)
                    except QueueError:
                        connection.execute(table.delete().where(table.c.id == row.id))
                        continue
                    deliveries.append(LocalDelivery(self, row.id, lease, message, leased[0]))
        except SQLAlchemyError as error:
            raise QueueError(f"cannot receive: {error}") from error
        return deliveries

    def _delete(self, row_id: int, lease: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                self._table.delete().where(
                    self._table.c.id == row_id, self._table.c.lease_owner == lease
                )
            )

    def _make_visible(
        self, row_id: int, lease: str, delay_seconds: float, keep_owner: bool = False
    ) -> None:
        values = {"available_at": utcnow() + dt.timedelta(seconds=delay_seconds)}
        if not keep_owner:
            values["lease_owner"] = None
        with self._engine.begin() as connection:
            connection.execute(
                self._table.update()
                .where(self._table.c.id == row_id, self._table.c.lease_owner == lease)
                .values(**values)
            )

    def dead_letters(self) -> list[LocalDelivery]:
        """None: the worker itself fails a task after ``max_attempts``."""
        return []

    def backlog(self) -> int:
        with self._engine.connect() as connection:
            return connection.scalar(sa.select(sa.func.count()).select_from(self._table))

    def check(self) -> None:
        try:
            self.backlog()
        except SQLAlchemyError as error:
            raise QueueError(f"queue table unreachable: {error}") from error

    def close(self) -> None:
        with self._wakeup:
            self._wakeup.notify_all()
        if self._others:
            self._others.close()
