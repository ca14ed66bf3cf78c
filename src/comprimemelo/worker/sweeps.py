"""What a worker does besides tasks, every ``SWEEP_INTERVAL_SECONDS``: publish
again what was lost (stale tasks, dead letters), drop abandoned uploads and
spool files, delete the objects of deleted rows, end retentions."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from comprimemelo.domain.models import Task
from comprimemelo.domain.statuses import TaskStatus
from comprimemelo.queue import Queue, QueueError
from comprimemelo.services import garbage, idempotency, leases, uploads
from comprimemelo.services.tasks import expire_due, publish, republish_stale
from comprimemelo.settings import Settings
from comprimemelo.storage import Storage, StorageError

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 30.0
# A spool file untouched this long belongs to no live upload (a write touches it).
SPOOL_MAX_AGE_SECONDS = 24 * 3600


class Sweeps:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], storage: Storage, queue: Queue) -> None:
        self.settings = settings
        self.sessions = sessions
        self.storage = storage
        self.queue = queue

    def run(self) -> None:
        """One pass of every sweep; each logs and survives its backend's failure."""
        try:
            with self.sessions() as session:
                count = republish_stale(
                    session, self.queue, dt.timedelta(seconds=self.settings.republish_after_seconds)
                )
            if count:
                log.info("republished %d stale tasks", count)
        except SQLAlchemyError as error:
            log.warning("sweep failed: %s", error)
        self.requeue_dead_letters()
        uploads.sweep_abandoned(self.sessions, self.storage)
        if removed := garbage.collect(self.sessions, self.storage):
            log.info("deleted %d objects left from deleted tasks and accounts", removed)
        self.sweep_spool()
        self.expire_due()

    def sweep_spool(self) -> int:
        """Remove what processes killed mid-upload left in the storage's spool."""
        try:
            removed = self.storage.sweep_spool(SPOOL_MAX_AGE_SECONDS)
        except OSError as error:
            log.warning("spool sweep failed: %s", error)
            return 0
        if removed:
            log.info("removed %d abandoned spool files", removed)
        return removed

    def expire_due(self) -> int:
        """Retention: delete the files of tasks past ``expires_at``; forget old idempotency keys."""
        try:
            with self.sessions() as session:
                expired = expire_due(session, self.storage)
                idempotency.purge(session)
        except (SQLAlchemyError, StorageError) as error:
            log.warning("retention sweep failed: %s", error)
            return 0
        if expired:
            log.info("expired %d tasks", expired)
        return expired

    def requeue_dead_letters(self) -> int:
        """Publish again the message of every unfinished task Pub/Sub gave up
        on (its dead-letter subscription), then drop the dead letter. A sealed
        password in a dead letter (published before migration 0007) is kept on
        its task first.

        A dead letter counts deliveries, not attempts: the emulator dead-lettered
        messages it kept delivering to a killed worker, and during a database
        outage workers give messages back unclaimed. Neither says anything of
        the task, so none is failed here: attempts are counted, and bounded by
        ``max_attempts``, where a worker claims the task."""
        requeued = 0
        try:
            for letter in self.queue.dead_letters():
                message = letter.message
                with self.sessions() as session:
                    if message.sealed_password is not None:
                        leases.adopt_sealed_password(session, message.task_id, message.sealed_password)
                    task = session.get(Task, message.task_id)
                    if task is not None and not TaskStatus(task.status).finished:
                        if not publish(session, self.queue, task):
                            continue  # kept for the next sweep
                        requeued += 1
                        log.warning("task %s published again: its message was dead-lettered", task.id)
                letter.ack()
        except (QueueError, SQLAlchemyError) as error:
            log.warning("dead-letter sweep failed: %s", error)
        return requeued
