"""Google Cloud Pub/Sub: ``pubsub://PROJECT/TOPIC/SUBSCRIPTION``.

Publishing waits at most ``publish_timeout_seconds`` for Pub/Sub to confirm;
past that ``publish`` raises ``QueueError`` and the worker's sweep republishes
the task later, so a web request never hangs on a slow publish.

Workers receive through a streaming pull. The client's callback threads only
put messages into a small bounded in-process queue, from which ``receive``
takes them; the compression itself runs on the worker's own threads, so the
client keeps extending the leases of the messages it holds (up to
``MAX_LEASE_SECONDS``) however long a task takes. Flow control keeps at most
``worker_concurrency`` messages leased by a worker, so the others stay
available to other workers. Lease extensions last ``lease_seconds`` (at least
10 s): a killed worker's message is delivered again that soon after it dies.

The subscription is meant to have exactly-once delivery (acks are confirmed),
a retry policy, and a dead-letter policy: a message delivered
``MAX_DELIVERY_ATTEMPTS`` times without an ack goes to the dead-letter topic,
whose subscription (``COMPRIMEMELO_DEAD_LETTER_SUBSCRIPTION``) the worker reads
with ``dead_letters`` to publish unfinished tasks again. ``ensure_topology`` creates
all of it (emulator, tests and the local stack; production uses Terraform).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import logging
import math
import queue as stdlib_queue
import threading
from typing import Any
from urllib.parse import urlparse

from google.api_core import exceptions as api_exceptions
from google.api_core.retry import Retry

from comprimemelo.queue import MalformedMessage, QueueError, TaskMessage
from comprimemelo.settings import Settings

log = logging.getLogger(__name__)

# Pub/Sub's limits on an ack deadline.
MIN_ACK_DEADLINE_SECONDS = 10
MAX_ACK_DEADLINE_SECONDS = 600
# The client stops extending a message's lease after this long (a task that
# takes longer is redelivered; its claim in the database still protects it).
MAX_LEASE_SECONDS = 2 * 60 * 60
FLOW_CONTROL_MAX_BYTES = 1024 * 1024
ACK_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
CHECK_TIMEOUT_SECONDS = 5.0
DEAD_LETTER_PULL_TIMEOUT_SECONDS = 5.0
DEAD_LETTER_BATCH = 50
# Subscription settings made by ``ensure_topology`` (mirrored in Terraform).
MAX_DELIVERY_ATTEMPTS = 5
ACK_DEADLINE_SECONDS = 60
RETRY_MIN_BACKOFF_SECONDS = 2
RETRY_MAX_BACKOFF_SECONDS = 60
# Set by Pub/Sub on a dead-lettered message.
DEAD_LETTER_COUNT_ATTRIBUTE = "CloudPubSubDeadLetterSourceDeliveryCount"


@dataclasses.dataclass(frozen=True)
class PubSubAddress:
    project: str
    topic: str
    subscription: str

    @classmethod
    def parse(cls, url: str) -> PubSubAddress:
        parsed = urlparse(url)
        parts = [parsed.netloc, *parsed.path.strip("/").split("/")]
        if parsed.scheme != "pubsub" or len(parts) != 3 or not all(parts):
            raise ValueError(f"not a Pub/Sub queue URL: {url!r} (use pubsub://PROJECT/TOPIC/SUBSCRIPTION)")
        return cls(*parts)

    @property
    def topic_path(self) -> str:
        return f"projects/{self.project}/topics/{self.topic}"

    @property
    def subscription_path(self) -> str:
        return f"projects/{self.project}/subscriptions/{self.subscription}"

    def subscription_path_of(self, name: str) -> str:
        return name if name.startswith("projects/") else f"projects/{self.project}/subscriptions/{name}"


def _deadline(seconds: float) -> int:
    return max(0, min(MAX_ACK_DEADLINE_SECONDS, math.ceil(seconds)))


def _wait(future: Any, what: str, timeout: float = ACK_TIMEOUT_SECONDS) -> None:
    try:
        future.result(timeout=timeout)
    except concurrent.futures.TimeoutError as error:
        raise QueueError(f"{what}: no answer within {timeout:g}s") from error
    except Exception as error:  # AcknowledgeError, GoogleAPIError, ...
        raise QueueError(f"{what}: {error}") from error


class PubSubDelivery:
    """A message received through the streaming pull."""

    def __init__(self, message: Any, task: TaskMessage) -> None:
        self._message = message
        self.message = task
        self.delivery_attempt = message.delivery_attempt or 1

    def ack(self) -> None:
        """Confirmed (exactly-once). A failed ack is only logged: the message
        comes back, and the task's claim then finds it finished."""
        try:
            _wait(self._message.ack_with_response(), f"ack of task {self.message.task_id}")
        except QueueError as error:
            log.warning("%s; it will be delivered again", error)

    def nack(self, delay_seconds: float = 0) -> None:
        """With a delay: shorten the lease to ``delay_seconds`` and stop extending
        it, so Pub/Sub delivers the message again then. Without: at once."""
        try:
            if delay_seconds > 0:
                _wait(
                    self._message.modify_ack_deadline_with_response(_deadline(delay_seconds)),
                    f"delay of task {self.message.task_id}",
                )
                self._message.drop()
            else:
                _wait(self._message.nack_with_response(), f"nack of task {self.message.task_id}")
        except QueueError as error:
            log.warning("%s; it will be delivered again when its lease ends", error)
            self._message.drop()

    def extend(self, seconds: float) -> None:
        """Keep the message for ``seconds`` more, never less than Pub/Sub's
        ``MIN_ACK_DEADLINE_SECONDS`` (a shorter one would undercut the client's
        own lease management and invite redeliveries, each counting toward the
        dead-letter limit).

        :raise QueueError: if Pub/Sub did not confirm the new deadline."""
        _wait(
            self._message.modify_ack_deadline_with_response(
                _deadline(max(seconds, MIN_ACK_DEADLINE_SECONDS))
            ),
            f"lease extension of task {self.message.task_id}",
        )


class DeadLetter:
    """A message Pub/Sub gave up on; ``ack`` removes it from the dead-letter subscription."""

    def __init__(self, queue: PubSubQueue, ack_id: str, task: TaskMessage, attempts: int | None):
        self._queue = queue
        self._ack_id = ack_id
        self.message = task
        self.delivery_attempt = attempts

    def ack(self) -> None:
        self._queue._ack_dead_letters([self._ack_id])


class PubSubQueue:
    def __init__(
        self,
        address: PubSubAddress,
        *,
        publish_timeout: float,
        subscribe: bool = False,
        max_messages: int = 1,
        lease_seconds: float = ACK_DEADLINE_SECONDS,
        dead_letter_subscription: str = "",
        publisher: Any = None,
        subscriber: Any = None,
    ) -> None:
        from google.cloud import pubsub_v1

        self.address = address
        self._publish_timeout = publish_timeout
        self._publisher = publisher or pubsub_v1.PublisherClient()
        self._subscriber = None
        self._pull: Any = None
        self._closed = False
        self._lock = threading.Lock()
        self._dead_letter_path = (
            address.subscription_path_of(dead_letter_subscription) if dead_letter_subscription else ""
        )
        self._max_messages = max(1, max_messages)
        self._buffer: stdlib_queue.Queue = stdlib_queue.Queue()
        if subscribe or self._dead_letter_path:
            self._subscriber = subscriber or pubsub_v1.SubscriberClient()
        if subscribe:
            extension = max(MIN_ACK_DEADLINE_SECONDS, min(MAX_ACK_DEADLINE_SECONDS, int(lease_seconds)))
            self._flow_control = pubsub_v1.types.FlowControl(
                max_messages=self._max_messages,
                max_bytes=FLOW_CONTROL_MAX_BYTES,
                max_lease_duration=MAX_LEASE_SECONDS,
                min_duration_per_lease_extension=extension,
                max_duration_per_lease_extension=extension,
            )
            self._start_pull()

    @classmethod
    def from_url(cls, url: str, *, settings: Settings, subscribe: bool = False, **clients: Any) -> PubSubQueue:
        """The queue ``pubsub://PROJECT/TOPIC/SUBSCRIPTION``; ``subscribe`` (workers)
        starts the streaming pull, a web process only publishes."""
        return cls(
            PubSubAddress.parse(url),
            publish_timeout=settings.publish_timeout_seconds,
            subscribe=subscribe,
            max_messages=settings.effective_worker_concurrency,
            lease_seconds=settings.lease_seconds,
            dead_letter_subscription=settings.dead_letter_subscription if subscribe else "",
            **clients,
        )

    # -- publishing ----------------------------------------------------------

    def publish(self, message: TaskMessage) -> None:
        try:
            # Retries end with the timeout too, so nothing lingers after a failed
            # publish (a late success only duplicates the message: harmless).
            future = self._publisher.publish(
                self.address.topic_path,
                message.to_json(),
                retry=Retry(timeout=self._publish_timeout),
                timeout=self._publish_timeout,
            )
        except Exception as error:  # the client refuses (stopped, bad topic name)
            raise QueueError(f"cannot publish task {message.task_id}: {error}") from error
        _wait(future, f"publish of task {message.task_id}", self._publish_timeout)

    # -- receiving -----------------------------------------------------------

    def _start_pull(self) -> None:
        self._pull = self._subscriber.subscribe(
            self.address.subscription_path, self._on_message, flow_control=self._flow_control
        )

    def _on_message(self, message: Any) -> None:
        """Runs on the client's callback threads: hand over, never work here."""
        self._buffer.put(message)
        if self._closed:
            self._give_back_buffered()

    def receive(self, max_messages: int, timeout: float) -> list[PubSubDelivery]:
        if self._pull is None:
            raise QueueError("this queue was opened for publishing only")
        if self._closed:
            return []
        if self._pull.done():  # the stream died (e.g. subscription missing): restart it
            error = self._pull.exception() if not self._pull.cancelled() else None
            with self._lock:
                if not self._closed:
                    self._start_pull()
            raise QueueError(f"streaming pull stopped: {error}")
        deliveries: list[PubSubDelivery] = []
        try:
            message = self._buffer.get(timeout=timeout)
        except stdlib_queue.Empty:
            return deliveries
        while True:
            delivery = self._delivery(message)
            if delivery is not None:
                deliveries.append(delivery)
            if len(deliveries) >= max_messages:
                return deliveries
            try:
                message = self._buffer.get_nowait()
            except stdlib_queue.Empty:
                return deliveries

    def _delivery(self, message: Any) -> PubSubDelivery | None:
        try:
            return PubSubDelivery(message, TaskMessage.from_json(message.data))
        except MalformedMessage as error:
            log.error("dropping malformed message %s: %s", message.message_id, error)
            message.ack()
            return None

    def dead_letters(self, max_messages: int = DEAD_LETTER_BATCH) -> list[DeadLetter]:
        """Messages waiting on the dead-letter subscription (none if it is not
        configured); the caller records each task's failure, then acks it.

        :raise QueueError: if the subscription cannot be read.
        """
        if not self._dead_letter_path or self._subscriber is None:
            return []
        try:
            response = self._subscriber.pull(
                subscription=self._dead_letter_path,
                max_messages=max_messages,
                timeout=DEAD_LETTER_PULL_TIMEOUT_SECONDS,
            )
        except api_exceptions.DeadlineExceeded:
            return []
        except api_exceptions.GoogleAPIError as error:
            raise QueueError(f"cannot read dead letters: {error}") from error
        letters: list[DeadLetter] = []
        malformed: list[str] = []
        for received in response.received_messages:
            try:
                task = TaskMessage.from_json(received.message.data)
            except MalformedMessage:
                malformed.append(received.ack_id)
                continue
            count = received.message.attributes.get(DEAD_LETTER_COUNT_ATTRIBUTE)
            attempts = int(count) if count and count.isdigit() else None
            letters.append(DeadLetter(self, received.ack_id, task, attempts))
        if malformed:
            self._ack_dead_letters(malformed)
        return letters

    def _ack_dead_letters(self, ack_ids: list[str]) -> None:
        try:
            self._subscriber.acknowledge(subscription=self._dead_letter_path, ack_ids=ack_ids)
        except api_exceptions.GoogleAPIError as error:
            raise QueueError(f"cannot ack dead letters: {error}") from error

    # -- health and shutdown -------------------------------------------------

    def check(self) -> None:
        """The topic exists and Pub/Sub answers. A permission error still proves
        that (the runtime accounts may publish without the right to read the topic)."""
        try:
            self._publisher.get_topic(
                topic=self.address.topic_path, timeout=CHECK_TIMEOUT_SECONDS, retry=None
            )
        except api_exceptions.PermissionDenied:
            return
        except api_exceptions.GoogleAPIError as error:
            raise QueueError(f"Pub/Sub topic {self.address.topic_path} unavailable: {error}") from error

    def close(self) -> None:
        """Stop pulling: give back (nack) what was received but not started, then
        close the stream. Deliveries still held must be acked/nacked first
        (``Worker.shutdown`` does). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._pull is not None:
            self._give_back_buffered()
            self._pull.cancel()
            with contextlib.suppress(Exception):
                self._pull.result(timeout=STOP_TIMEOUT_SECONDS)
            self._give_back_buffered()
        if self._subscriber is not None:
            with contextlib.suppress(Exception):
                self._subscriber.close()
        with contextlib.suppress(Exception):
            self._publisher.stop()

    def _give_back_buffered(self) -> None:
        """Deadline 0 for what is buffered, with a direct call: nacks through the
        stream are dropped once it closes (and the emulator ignores a deadline
        change that arrives after its stream closed)."""
        ack_ids = []
        while True:
            try:
                ack_ids.append(self._buffer.get_nowait().ack_id)
            except stdlib_queue.Empty:
                break
        if not ack_ids:
            return
        try:
            self._subscriber.modify_ack_deadline(
                subscription=self.address.subscription_path,
                ack_ids=ack_ids,
                ack_deadline_seconds=0,
                timeout=STOP_TIMEOUT_SECONDS,
            )
        except api_exceptions.GoogleAPIError as error:
            log.warning("could not give back %d messages; they return when their lease ends: %s", len(ack_ids), error)


def ensure_topology(
    project: str,
    topic: str,
    subscription: str,
    dead_letter_topic: str,
    dead_letter_subscription: str,
    *,
    max_delivery_attempts: int = MAX_DELIVERY_ATTEMPTS,
    ack_deadline_seconds: int = ACK_DEADLINE_SECONDS,
) -> None:
    """Create the topics and subscriptions if missing: the work subscription
    with exactly-once delivery, a retry policy and a dead-letter policy, and a
    plain subscription on the dead-letter topic. For emulators and the local
    stack; on Google Cloud, Terraform makes the same (and grants the Pub/Sub
    service agent the rights the dead-letter policy needs)."""
    from google.cloud import pubsub_v1
    from google.protobuf import duration_pb2

    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topic_path = publisher.topic_path(project, topic)
    dead_topic_path = publisher.topic_path(project, dead_letter_topic)
    try:
        for path in (topic_path, dead_topic_path):
            with contextlib.suppress(api_exceptions.AlreadyExists):
                publisher.create_topic(name=path)
        with contextlib.suppress(api_exceptions.AlreadyExists):
            subscriber.create_subscription(
                name=subscriber.subscription_path(project, dead_letter_subscription),
                topic=dead_topic_path,
                ack_deadline_seconds=ack_deadline_seconds,
            )
        with contextlib.suppress(api_exceptions.AlreadyExists):
            subscriber.create_subscription(
                request={
                    "name": subscriber.subscription_path(project, subscription),
                    "topic": topic_path,
                    "ack_deadline_seconds": ack_deadline_seconds,
                    "enable_exactly_once_delivery": True,
                    "dead_letter_policy": {
                        "dead_letter_topic": dead_topic_path,
                        "max_delivery_attempts": max_delivery_attempts,
                    },
                    "retry_policy": {
                        "minimum_backoff": duration_pb2.Duration(seconds=RETRY_MIN_BACKOFF_SECONDS),
                        "maximum_backoff": duration_pb2.Duration(seconds=RETRY_MAX_BACKOFF_SECONDS),
                    },
                }
            )
    finally:
        subscriber.close()
        publisher.stop()
