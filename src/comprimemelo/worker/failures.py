"""How a failed attempt is told apart and put into words: the outcomes that
stop an attempt, when it is retried, the reason a user reads, the label the
metrics count."""

from __future__ import annotations

import errno

from sqlalchemy.exc import SQLAlchemyError

from comprimemelo.compression import CompressionError
from comprimemelo.queue import QueueError
from comprimemelo.storage import ObjectNotFound, StorageError

RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 60.0


class LeaseLost(Exception):
    """Another worker took the task over; this attempt must stop."""


class ShuttingDown(Exception):
    """The worker is stopping and the grace period is over: give the task back."""


class Unrecoverable(Exception):
    """No retry can succeed: the task fails at once, with this message as the reason."""


PASSWORD_LOST = (
    "the archive password did not reach the worker (the task was accepted before the "
    "password was kept on the task, and the message that alone carried it was lost); "
    "upload the files again"
)


def retry_delay(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: doubling from ``RETRY_BASE_SECONDS``, at most ``RETRY_MAX_SECONDS``."""
    return min(RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0), RETRY_MAX_SECONDS)


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


def failure_reason(error: BaseException) -> str:
    """A short, bounded label for the metrics of a failed attempt."""
    if _disk_full(error) is not None:
        return "disk_full"
    for kind, reason in (
        (ObjectNotFound, "original_missing"),
        (CompressionError, "compression"),
        (StorageError, "storage"),
        (SQLAlchemyError, "database"),
        (QueueError, "queue"),
    ):
        if isinstance(error, kind):
            return reason
    return "internal"


def _disk_full(error: BaseException) -> OSError | None:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno in DISK_FULL_ERRNOS:
            return cause
        cause = cause.__cause__
    return None


def describe(error: BaseException) -> str:
    """The reason a user reads on a failed task: plain words, no internal paths."""
    if isinstance(error, ObjectNotFound):
        return "the original file is missing from storage"
    full = _disk_full(error)
    if full is not None:
        return f"not enough disk space to make the archive ({full.strerror or 'disk full'})"
    if isinstance(error, Unrecoverable):
        return str(error)
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"
