"""The worker: receives task messages, claims tasks, compresses, stores results.

A message says that a task is waiting; it is not a ticket for that task. Each
delivery runs in its own thread (compression releases the GIL), at most
``concurrency`` at a time, and claims the fairest claimable task in the
database (``leases.claim_next``), so users share the worker slots whatever the
order their tasks were published in. The message is held for as long as its
task runs, then acked; one that finds nothing to claim is acked at once (every
other waiting task has a message of its own, or is running under one).

While a task runs, a heartbeat renews both the task's lease in the database
and the message's lease in the queue; if the task lease is lost, the work is
abandoned and its output deleted. Failed attempts are retried with exponential
backoff (the task is not claimable before it ends, and its message comes back
then) up to ``max_attempts``, then the task is marked ``failed`` with the reason.
"""

from comprimemelo.worker.failures import PASSWORD_LOST, describe, failure_reason, retry_delay
from comprimemelo.worker.heartbeat import ProgressReporter
from comprimemelo.worker.loop import Worker

__all__ = ["PASSWORD_LOST", "ProgressReporter", "Worker", "describe", "failure_reason", "retry_delay"]
