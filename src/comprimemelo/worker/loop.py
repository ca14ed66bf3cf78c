"""The worker's loop: deliveries in, one thread per task slot, and the
attempt each runs (claim, compress, prove, store, record), with the periodic
sweeps beside it (``sweeps``)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from comprimemelo import logs, metrics
from comprimemelo.compression import ArchiveFormat, CompressionError, InputFile, compress
from comprimemelo.compression.verify import prove_encrypted
from comprimemelo.domain.models import Task
from comprimemelo.queue import Delivery, Queue, QueueError
from comprimemelo.services import leases, sealed
from comprimemelo.services.leases import ClaimOutcome
from comprimemelo.services.tasks import archive_key
from comprimemelo.settings import Settings
from comprimemelo.storage import Storage, StorageError
from comprimemelo.worker.failures import (
    PASSWORD_LOST,
    LeaseLost,
    ShuttingDown,
    Unrecoverable,
    describe,
    failure_reason,
    retry_delay,
)
from comprimemelo.worker.heartbeat import Heartbeat, ProgressReporter
from comprimemelo.worker.sweeps import SWEEP_INTERVAL_SECONDS, Sweeps

log = logging.getLogger(__name__)

RECEIVE_TIMEOUT_SECONDS = 1.0
# ``drain`` returns once the queue has had nothing for this long.
DRAIN_IDLE_SECONDS = 1.0
# How long a stopping worker lets running tasks finish before releasing them,
# and how long it then waits for the release to be recorded.
SHUTDOWN_GRACE_SECONDS = 20.0
RELEASE_WAIT_SECONDS = 5.0
BACKEND_ERROR_PAUSE_SECONDS = 2.0
# A message whose claim lost every race to other workers comes back this soon.
CONTENDED_RETRY_SECONDS = 0.5


@dataclasses.dataclass(frozen=True)
class _Archive:
    key: str
    size: int
    fmt: str
    input_bytes: int


class Worker:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        storage: Storage,
        queue: Queue,
        *,
        on_finished: Callable[[int, str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.storage = storage
        self.queue = queue
        self.id = f"{uuid.uuid4().hex[:12]}"
        self.concurrency = settings.effective_worker_concurrency
        self._running: dict[int, threading.Thread] = {}
        # Guards ``_running``; notified whenever a task thread ends.
        self._slot_freed = threading.Condition()
        self._abandon = threading.Event()
        self._on_finished = on_finished
        self._temp_root = Path(settings.temp_dir) if settings.temp_dir else None
        self.sweeps = Sweeps(settings, sessions, storage, queue)

    # -- main loop ---------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, then finish or release running tasks."""
        log.info("worker %s started, concurrency %d", self.id, self.concurrency)
        next_sweep = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_sweep:
                self.sweeps.run()
                next_sweep = time.monotonic() + SWEEP_INTERVAL_SECONDS
            free = self._wait_for_free_slots(RECEIVE_TIMEOUT_SECONDS)
            # A slot freed by a task that ended after SIGTERM is not for a new one.
            if not free or stop.is_set():
                continue
            try:
                deliveries = self.queue.receive(free, timeout=RECEIVE_TIMEOUT_SECONDS)
            except QueueError as error:
                log.warning("cannot receive: %s", error)
                stop.wait(BACKEND_ERROR_PAUSE_SECONDS)
                continue
            for delivery in deliveries:
                if stop.is_set():  # received while stopping: give it back at once
                    delivery.nack()
                else:
                    self._start(delivery)
        self.shutdown(self.settings.shutdown_grace_seconds)

    def drain(self, idle_seconds: float = DRAIN_IDLE_SECONDS) -> int:
        """Burst mode: handle deliveries one at a time in this thread until the
        queue has none for ``idle_seconds``, then return how many were handled.
        A retry due later than that ends the drain too. For tests and one-off
        runs: no sweeps, no slots, no signals."""
        handled = 0
        while deliveries := self.queue.receive(1, timeout=idle_seconds):
            for delivery in deliveries:
                self.handle(delivery)
                handled += 1
        return handled

    def _wait_for_free_slots(self, timeout: float) -> int:
        with self._slot_freed:
            self._slot_freed.wait_for(lambda: len(self._running) < self.concurrency, timeout)
            return self.concurrency - len(self._running)

    def _start(self, delivery: Delivery) -> None:
        thread = threading.Thread(
            target=self._run_one, args=(delivery,), name=f"message-{delivery.message.task_id}", daemon=True
        )
        with self._slot_freed:
            self._running[id(thread)] = thread
        thread.start()

    def _run_one(self, delivery: Delivery) -> None:
        try:
            self.handle(delivery)
        except Exception:  # pragma: no cover - handle() logs what it can
            log.exception("unexpected error on the message of task %s", delivery.message.task_id)
            with contextlib.suppress(Exception):
                delivery.nack(retry_delay(delivery.delivery_attempt))
        finally:
            with self._slot_freed:
                self._running.pop(id(threading.current_thread()), None)
                self._slot_freed.notify_all()

    def shutdown(self, grace_seconds: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Let running tasks finish for ``grace_seconds``, then release the rest
        to the queue (their next progress check raises ``ShuttingDown``)."""
        self._join_running(grace_seconds)
        self._abandon.set()
        self._join_running(RELEASE_WAIT_SECONDS)
        self.queue.close()
        log.info("worker %s stopped", self.id)

    def _join_running(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._slot_freed:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- one task ----------------------------------------------------------

    def handle(self, delivery: Delivery) -> None:
        """Claim the fairest claimable task under ``delivery`` and process it;
        the lines logged meanwhile carry the task's id, and only those."""
        logged_as = logs.current_task_id.set(delivery.message.task_id)
        try:
            self._handle(delivery)
        finally:
            logs.current_task_id.reset(logged_as)

    def _handle(self, delivery: Delivery) -> None:
        message = delivery.message
        settings = self.settings
        try:
            with self.sessions() as session:
                if message.sealed_password is not None:
                    leases.adopt_sealed_password(session, message.task_id, message.sealed_password)
                claim = leases.claim_next(
                    session,
                    self.id,
                    lease_seconds=settings.lease_seconds,
                    max_attempts=settings.max_attempts,
                    fallback_task_id=message.task_id,
                )
        except SQLAlchemyError as error:
            log.warning("cannot claim a task (message of task %s): %s", message.task_id, error)
            delivery.nack(BACKEND_ERROR_PAUSE_SECONDS)
            return
        for task_id in claim.exhausted:
            log.info("task %s not claimed: %s", task_id, ClaimOutcome.EXHAUSTED.value)
            self._notify(task_id, "failed")
        if claim.outcome is ClaimOutcome.BUSY:
            log.info("every claimable task was taken by other workers first; message of task %s given back",
                     message.task_id)
            delivery.nack(CONTENDED_RETRY_SECONDS)
            return
        if claim.outcome is not ClaimOutcome.CLAIMED:
            log.info("nothing to claim (message of task %s)", message.task_id)
            delivery.ack()
            return

        task_id = claim.task_id
        logs.current_task_id.set(task_id)
        if task_id != message.task_id:
            log.info("task %s claimed (the fairest) with the message of task %s", task_id, message.task_id)
        metrics.TASKS_IN_PROGRESS.inc()
        try:
            self._process(task_id, delivery)
        finally:
            metrics.TASKS_IN_PROGRESS.dec()

    def _process(self, task_id: int, delivery: Delivery) -> None:
        started = time.monotonic()
        # The message must stay hidden for as long as the task lease: redelivered
        # earlier, it would find the task busy and be dropped (see ``Heartbeat``).
        with contextlib.suppress(QueueError):
            delivery.extend(self.settings.lease_seconds)
        heartbeat = Heartbeat(self, task_id, delivery)
        heartbeat.start()
        try:
            archive = self._compress(task_id, heartbeat)
        except Exception as error:
            heartbeat.stop()
            self._attempt_failed(task_id, delivery, error)
            return
        heartbeat.stop()
        key, size = archive.key, archive.size
        try:
            with self.sessions() as session:
                done = leases.complete(session, task_id, self.id, key=key, size=size)
        except SQLAlchemyError as error:
            # Unrecorded, the archive would be an orphan: the next attempt makes its own.
            log.warning("task %s: cannot record the result, will retry: %s", task_id, error)
            self._discard(key)
            delivery.nack(BACKEND_ERROR_PAUSE_SECONDS)
            return
        if not done:
            log.warning("task %s: taken over before completion; discarding result", task_id)
            self._discard(key)
            delivery.ack()
            return
        delivery.ack()
        log.info("task %s processed (%d bytes)", task_id, size)
        metrics.TASKS_FINISHED.labels(archive.fmt, "processed").inc()
        metrics.TASK_SECONDS.labels(archive.fmt).observe(time.monotonic() - started)
        metrics.TASK_INPUT_BYTES.labels(archive.fmt).inc(archive.input_bytes)
        metrics.TASK_OUTPUT_BYTES.labels(archive.fmt).inc(size)
        self._notify(task_id, "processed")

    def _discard(self, key: str) -> None:
        """Delete an archive that will not be recorded; a failure is only logged."""
        try:
            self.storage.delete(key)
        except StorageError as error:
            log.error("could not delete the unrecorded archive %s: %s", key, error)

    def _compress(self, task_id: int, heartbeat: Heartbeat) -> _Archive:
        with self.sessions() as session:
            task = session.get(Task, task_id)
            if task is None:
                raise LeaseLost("task deleted")
            fmt = ArchiveFormat(task.new_format)
            level, prefix, encrypted = task.level, task.storage_prefix, task.encrypted
            sealed_password = task.sealed_password
            files = [(f.storage_key, f.filename) for f in task.files]
        password = self._password(sealed_password) if encrypted else None
        with tempfile.TemporaryDirectory(prefix="comprimemelo-", dir=self._temp_root) as temp:
            folder = Path(temp)
            inputs = []
            for index, (file_key, name) in enumerate(files):
                path = folder / f"in-{index}"
                self.storage.get_file(file_key, path)
                heartbeat.check()
                inputs.append(InputFile(path=path, arcname=name))
            output = folder / f"out{fmt.extension}"

            reporter = ProgressReporter(self, task_id)

            def progress(done: int, total: int) -> None:
                heartbeat.check()
                reporter.update(done, total)

            result = compress(inputs, output, fmt, level, progress=progress, password=password)
            if password is not None:
                try:
                    prove_encrypted(output, fmt, password, members=len(inputs))
                except CompressionError as error:  # never publish it: no retry writes a different archive
                    raise Unrecoverable(f"the archive was not encrypted as asked, so it was not kept: {error}") from None
            heartbeat.check()
            key = archive_key(prefix, fmt)
            size = self.storage.put_file(key, output)
            return _Archive(key, size, fmt.value, result.input_bytes)

    def _password(self, sealed_password: str | None) -> str:
        if sealed_password is None:
            raise Unrecoverable(PASSWORD_LOST)
        try:
            return sealed.unseal(sealed_password, self.settings.secret_key)
        except sealed.Unsealable:
            raise Unrecoverable(
                "the archive password cannot be opened (the service's secret key changed?); "
                "upload the files again"
            ) from None

    def _attempt_failed(self, task_id: int, delivery: Delivery, error: Exception) -> None:
        if isinstance(error, LeaseLost):
            log.warning("task %s abandoned: %s", task_id, error)
            delivery.ack()
            return
        if isinstance(error, ShuttingDown):
            with contextlib.suppress(SQLAlchemyError), self.sessions() as session:
                leases.release(
                    session, task_id, self.id, error="worker stopped", refund_attempt=True
                )
            delivery.nack()
            log.info("task %s released on shutdown", task_id)
            return
        reason = describe(error)
        metrics.TASK_FAILURES.labels(failure_reason(error)).inc()
        fmt = "unknown"
        try:
            with self.sessions() as session:
                task = session.get(Task, task_id)
                fmt = task.new_format if task else fmt
                attempts = task.attempts if task else self.settings.max_attempts
                if attempts >= self.settings.max_attempts or isinstance(error, Unrecoverable):
                    leases.fail(session, task_id, self.id, error=reason)
                    final = True
                else:
                    leases.release(session, task_id, self.id, error=reason, retry_after=retry_delay(attempts))
                    final = False
        except SQLAlchemyError as db_error:
            log.warning("task %s: cannot record failure: %s", task_id, db_error)
            delivery.nack(BACKEND_ERROR_PAUSE_SECONDS)
            return
        if final:
            metrics.TASKS_FINISHED.labels(fmt, "failed").inc()
            log.error("task %s failed after %d attempts: %s", task_id, attempts, reason)
            delivery.ack()
            self._notify(task_id, "failed")
        else:
            log.warning("task %s attempt %d failed, will retry: %s", task_id, attempts, reason)
            delivery.nack(retry_delay(attempts))

    def _notify(self, task_id: int, status: str) -> None:
        if self._on_finished:
            self._on_finished(task_id, status)


