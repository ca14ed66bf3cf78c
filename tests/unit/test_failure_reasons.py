"""The bounded reason labels of failed attempts (for the failures metric)."""

from __future__ import annotations

import errno

import pytest
from sqlalchemy.exc import OperationalError

from comprimemelo.compression import CompressionError
from comprimemelo.queue import QueueError
from comprimemelo.storage import ObjectNotFound, StorageError
from comprimemelo.worker import failure_reason


def wrapped(outer: Exception, cause: BaseException) -> Exception:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    "error, reason",
    [
        (ObjectNotFound("gone"), "original_missing"),
        (CompressionError("bad input"), "compression"),
        (wrapped(CompressionError("cannot write"), OSError(errno.ENOSPC, "No space left on device")), "disk_full"),
        (OSError(errno.EFBIG, "File too large"), "disk_full"),
        (wrapped(StorageError("upload failed"), OSError(errno.EDQUOT, "Quota")), "disk_full"),
        (StorageError("503 from GCS"), "storage"),
        (OperationalError("select 1", {}, Exception("connection refused")), "database"),
        (QueueError("pubsub down"), "queue"),
        (ValueError("surprise"), "internal"),
    ],
)
def test_each_failure_gets_a_stable_reason(error, reason):
    assert failure_reason(error) == reason
