"""The queue port: tells workers that a task is waiting.

A message names the task it was published for, but the worker that receives
it claims the fairest claimable task in the database (``leases.claim_next``),
not necessarily that one. Delivery is at-least-once everywhere; a duplicate is
harmless because a worker claims a task in the database before doing anything.
Adapters: ``LocalQueue`` (a table in the service's own database, for the
embedded mode) and ``PubSubQueue`` (Google Cloud Pub/Sub).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Protocol


class QueueError(Exception):
    """Publishing or receiving failed; the caller may retry later."""


class MalformedMessage(QueueError):
    """A message body that is not a task message; it is dropped, never executed."""


@dataclasses.dataclass(frozen=True)
class TaskMessage:
    """The whole message: small, JSON, and never trusted beyond its fields.

    ``sealed_password`` is a copy of an encrypted task's sealed password
    (``comprimemelo.services.sealed``), left out of the JSON when there is none. Workers
    read the task's own (``Task.sealed_password``, set at creation): the copy is
    for workers from before migration 0007, which read it here only, so web and
    workers of both versions work together during an update. A message from
    before 0007 hands its copy to its task (``leases.adopt_sealed_password``).
    """

    task_id: int
    format: str
    sealed_password: str | None = dataclasses.field(default=None, repr=False)

    def to_json(self) -> bytes:
        data = {"task_id": self.task_id, "format": self.format}
        if self.sealed_password is not None:
            data["sealed_password"] = self.sealed_password
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, body: bytes | str) -> TaskMessage:
        try:
            data = json.loads(body)
            task_id, fmt = data["task_id"], data["format"]
            sealed = data.get("sealed_password")
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise MalformedMessage(f"not a task message: {error}") from None
        if not isinstance(task_id, int) or isinstance(task_id, bool) or not isinstance(fmt, str):
            raise MalformedMessage("task message fields have the wrong types")
        if sealed is not None and not isinstance(sealed, str):
            raise MalformedMessage("task message fields have the wrong types")
        return cls(task_id=task_id, format=fmt, sealed_password=sealed)


class Delivery(Protocol):
    """One received message, leased to this worker until acked, nacked or expired."""

    message: TaskMessage
    delivery_attempt: int

    def ack(self) -> None:
        """Done with it: never deliver it again."""

    def nack(self, delay_seconds: float = 0) -> None:
        """Give it back, to be delivered again after ``delay_seconds``."""

    def extend(self, seconds: float) -> None:
        """Keep the lease for ``seconds`` more (long tasks call this periodically)."""


class Queue(Protocol):
    def publish(self, message: TaskMessage) -> None:
        """Durably enqueue ``message``; raise ``QueueError`` if that cannot be
        confirmed within the configured publish timeout."""

    def receive(self, max_messages: int, timeout: float) -> list[Delivery]:
        """Up to ``max_messages`` deliveries, waiting at most ``timeout`` seconds."""

    def dead_letters(self) -> list[Delivery]:
        """Messages the queue gave up delivering: the worker's sweep publishes
        each unfinished task's again (a dead letter counts deliveries, not attempts)."""

    def check(self) -> None:
        """Raise ``QueueError`` unless the queue is reachable (``/readyz``)."""

    def close(self) -> None:
        """Stop receiving and release resources; unacked deliveries are redelivered."""
