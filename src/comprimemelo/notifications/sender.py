"""The sender: a thread in each worker process that delivers due outbox events.

Webhooks are retried with exponential backoff (honouring ``Retry-After``) on
network errors, timeouts, 5xx, 429 and 410, up to ``webhook_max_attempts``;
any other 4xx or a 3xx (redirects are not followed) fails at once. After
``webhook_disable_after_gone`` consecutive 410 answers the webhook is disabled.
E-mail is retried the same way on connection errors and 4xx SMTP replies.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from comprimemelo.domain.models import OutboxEvent, utcnow
from comprimemelo.notifications import outbox, signing
from comprimemelo.notifications.events import email_message
from comprimemelo.notifications.mail import MailError, Mailer, open_mailer
from comprimemelo.notifications.outbox import State
from comprimemelo.notifications.targets import UnsafeTarget, resolve
from comprimemelo.notifications.webhooks import MAX_ADDRESSES_TRIED, HttpWebhooks, WebhookNetworkError, Webhooks
from comprimemelo.settings import Settings

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
# Events delivered at once by one sender (threads), and so claimed per batch:
# one slow receiver must not hold the others back past their claim.
SEND_CONCURRENCY = 8
BATCH_SIZE = SEND_CONCURRENCY
RETRY_BASE_SECONDS = 10.0
RETRY_MAX_SECONDS = 3600.0
RETRY_JITTER = 0.1
MAIL_MAX_ATTEMPTS = 8
# A claimed event stays hidden for its delivery (at most two addresses, each
# within the webhook timeout) plus this margin.
CLAIM_MARGIN_SECONDS = 60.0
# The recovery sweep: finished tasks without events, from this far back, once
# they have been finished for the grace period (the worker records at once).
SWEEP_INTERVAL_SECONDS = 60.0
RECOVERY_WINDOW = dt.timedelta(days=1)
RECOVERY_GRACE = dt.timedelta(minutes=2)
KEEP_SETTLED = dt.timedelta(days=30)
MAX_ERROR_LENGTH = 500


def backoff(attempts: int, base: float, retry_after: float | None = None) -> float:
    """Seconds before attempt ``attempts + 1``: ``base * 2**(attempts-1)``, jittered,
    at least ``Retry-After``, at most ``RETRY_MAX_SECONDS``."""
    delay = base * 2 ** max(attempts - 1, 0)
    delay *= 1 + random.uniform(0, RETRY_JITTER)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, RETRY_MAX_SECONDS)


def task_finished_hook(settings: Settings, sessions: sessionmaker[Session]) -> Callable[[int, str], None]:
    """The worker's ``on_finished``: record the task's events in the outbox.

    A failure is logged, never raised into the worker; the sender's recovery
    sweep records what was missed.
    """

    def on_finished(task_id: int, status: str) -> None:
        try:
            with sessions() as session:
                count = outbox.record_task_finished(session, task_id, status, settings)
            if count:
                log.info("task %s %s: %d notification(s) queued", task_id, status, count)
        except SQLAlchemyError as error:
            log.warning("task %s: cannot record notifications now (the sweep will): %s", task_id, error)

    return on_finished


class Sender:
    """Delivers due events until stopped; any number may run against one database."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        mailer: Mailer | None = None,
        webhooks: Webhooks | None = None,
        retry_base_seconds: float = RETRY_BASE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.mailer = mailer or open_mailer(settings)
        self.webhooks = webhooks or HttpWebhooks(settings.webhook_timeout_seconds)
        self.retry_base_seconds = retry_base_seconds
        self.poll_seconds = poll_seconds
        self.allow_private = settings.webhook_allow_private == "on"
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(SEND_CONCURRENCY, thread_name_prefix="notify")

    def start(self, stop: threading.Event) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, args=(stop,), name="notifications", daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def run(self, stop: threading.Event) -> None:
        log.info("notification sender started")
        next_sweep = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_sweep:
                    self.sweep()
                    next_sweep = time.monotonic() + SWEEP_INTERVAL_SECONDS
                handled = self.deliver_due()
            except SQLAlchemyError as error:
                log.warning("notification sender: database unavailable: %s", error)
                handled = 0
            except Exception:  # pragma: no cover - keep the thread alive
                log.exception("notification sender: unexpected error")
                handled = 0
            if handled < BATCH_SIZE:
                stop.wait(self.poll_seconds)
        log.info("notification sender stopped")

    def sweep(self) -> None:
        """Record events the worker missed, and delete old settled ones."""
        now = utcnow()
        with self.sessions() as session:
            missed = outbox.unrecorded_finished_tasks(
                session, since=now - RECOVERY_WINDOW, until=now - RECOVERY_GRACE, limit=BATCH_SIZE * 5
            )
            for task_id, status in missed:
                if outbox.record_task_finished(session, task_id, status, self.settings):
                    log.info("task %s: recovered missed notifications", task_id)
            outbox.prune(session, before=now - KEEP_SETTLED)

    def deliver_due(self) -> int:
        """Deliver every event due now (one batch); returns how many were tried."""
        claim_seconds = self.settings.webhook_timeout_seconds * MAX_ADDRESSES_TRIED + CLAIM_MARGIN_SECONDS
        with self.sessions() as session:
            due = outbox.claim_due(session, limit=BATCH_SIZE, claim_seconds=claim_seconds)
        list(self._pool.map(self._deliver_logged, due))
        return len(due)

    def _deliver_logged(self, event: OutboxEvent) -> None:
        try:
            self.deliver(event)
        except SQLAlchemyError as error:
            # Unsettled, the event comes back when its claim expires.
            log.warning("event %s: cannot record the outcome: %s", event.event_id, error)
        except Exception as error:
            # A bug of ours or a payload no attempt can send: retrying it every
            # claim forever helps nobody. Settled as failed, with the reason.
            log.exception("event %s (task %s): cannot be delivered", event.event_id, event.task_id)
            try:
                self._settle(event, State.FAILED, f"internal error: {type(error).__name__}: {error}")
            except SQLAlchemyError as settle_error:
                log.warning("event %s: cannot record the outcome: %s", event.event_id, settle_error)

    def deliver(self, event: OutboxEvent) -> None:
        if event.channel == outbox.Channel.EMAIL.value:
            self._deliver_email(event)
        else:
            self._deliver_webhook(event)

    def _deliver_email(self, event: OutboxEvent) -> None:
        if event.task_id is not None and self._over_task_mail_limit(event.user_id):
            self._settle(event, State.DISCARDED,
                         f"not sent: {self.settings.task_mail_per_hour} task e-mails an hour at most")
            return
        try:
            self.mailer.send(email_message(event.payload, event.target, self.settings))
        except MailError as error:
            self._retry_or_fail(event, str(error), MAIL_MAX_ATTEMPTS, permanent=error.permanent)
            return
        self._settle(event, State.DELIVERED)
        log.info("event %s (task %s): e-mail delivered", event.event_id, event.task_id)

    def _over_task_mail_limit(self, user_id: int) -> bool:
        with self.sessions() as session:
            sent = outbox.task_mail_sent_recently(session, user_id, since=utcnow() - outbox.MAIL_WINDOW)
        return sent >= self.settings.task_mail_per_hour

    def _deliver_webhook(self, event: OutboxEvent) -> None:
        max_attempts = self.settings.webhook_max_attempts
        with self.sessions() as session:
            secret, why_not = outbox.webhook_still_wanted(session, event)
        if secret is None:
            self._settle(event, State.DISCARDED, why_not)
            return
        try:
            target = resolve(event.target, allow_private=self.allow_private)
        except UnsafeTarget as error:
            # DNS failures may be passing; a refused address is final.
            self._retry_or_fail(event, error.message, max_attempts, permanent="refused" in error.message)
            return
        body = event.payload.encode()
        headers = signing.webhook_headers(secret, event.event_id, event.event_type, body)
        try:
            answer = self.webhooks.post(target, body, headers)
        except WebhookNetworkError as error:
            self._retry_or_fail(event, f"network error: {error}", max_attempts)
            return
        status = answer.status
        gone = status == 410
        with self.sessions() as session:
            disabled = outbox.webhook_answered(
                session, event, gone=gone, disable_after=self.settings.webhook_disable_after_gone
            )
        if 200 <= status < 300:
            self._settle(event, State.DELIVERED)
            log.info("event %s (task %s): webhook answered %d", event.event_id, event.task_id, status)
        elif disabled:
            self._settle(event, State.FAILED, "HTTP 410 Gone: webhook disabled")
        elif gone or status == 429 or status >= 500:
            self._retry_or_fail(event, f"HTTP {status}: {answer.excerpt}", max_attempts, retry_after=answer.retry_after)
        else:
            reason = "redirects are not followed" if 300 <= status < 400 else answer.excerpt
            self._retry_or_fail(event, f"HTTP {status}: {reason}", max_attempts, permanent=True)

    def _retry_or_fail(
        self, event: OutboxEvent, error: str, max_attempts: int, *, permanent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        attempts = event.attempts + 1
        if permanent or attempts >= max_attempts:
            self._settle(event, State.FAILED, error)
            log.warning("event %s (task %s, %s) failed after %d attempt(s): %s",
                        event.event_id, event.task_id, event.scope, attempts, error)
            return
        delay = backoff(attempts, self.retry_base_seconds, retry_after)
        self._settle(event, State.PENDING, error, retry_in=delay)
        log.info("event %s (task %s, %s) attempt %d failed, retry in %.1fs: %s",
                 event.event_id, event.task_id, event.scope, attempts, delay, error)

    def _settle(self, event: OutboxEvent, state: State, error: str | None = None, retry_in: float | None = None) -> None:
        with self.sessions() as session:
            outbox.settle(
                session, event.id, state, error=error[:MAX_ERROR_LENGTH] if error else None, retry_in=retry_in
            )
