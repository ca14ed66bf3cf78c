"""Idempotency keys: a retried request gets the first one's result, never a second task.

The first request with a key claims it by inserting a row (the unique
constraint settles races between concurrent retries), does its work, then
records its response there. A retry with the same key and the same request
replays that response; with another request it is refused; while the first
is still running it is told to wait. The response is recorded in the same
transaction that creates the task, so a claim without a result means no task
was made: once older than any request can run, it is taken over.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from comprimemelo.domain.errors import Conflict, InvalidInput
from comprimemelo.domain.models import IdempotencyKey, utcnow

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
# Longer than any request may run (gunicorn's timeout is 5 minutes).
STALE_CLAIM = dt.timedelta(minutes=15)
RETAIN = dt.timedelta(hours=24)


class Outcome(enum.Enum):
    CLAIMED = "claimed"
    REPLAY = "replay"


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    row_id: int
    status_code: int | None = None
    body: object = None


class KeyReused(InvalidInput):
    status, code = 422, "idempotency_key_reused"


class StillRunning(Conflict):
    code = "idempotency_key_in_use"
    retry_after = 2


def check_key(key: str) -> None:
    if not KEY_PATTERN.match(key):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces",
            code="invalid_idempotency_key",
        )


def fingerprint(parts: Iterable[str]) -> str:
    """SHA-256 of what makes two requests "the same" (fields, file names and sizes)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()


def claim(session: Session, owner_id: int, endpoint: str, key: str, request_fingerprint: str) -> Claim:
    """Claim ``key`` for this request, or learn what the first request got.

    :raise KeyReused: if the key was used for a different request.
    :raise StillRunning: if the first request with this key has not finished.
    """
    check_key(key)
    for _ in range(2):  # once more after taking over a stale claim
        row = IdempotencyKey(owner_id=owner_id, endpoint=endpoint, key=key, fingerprint=request_fingerprint)
        session.add(row)
        try:
            session.commit()
            return Claim(Outcome.CLAIMED, row.id)
        except IntegrityError:
            session.rollback()
        existing = session.scalar(
            sa.select(IdempotencyKey).where(
                IdempotencyKey.owner_id == owner_id, IdempotencyKey.endpoint == endpoint, IdempotencyKey.key == key
            )
        )
        if existing is None:  # released between our insert and this read: try again
            continue
        if existing.fingerprint != request_fingerprint:
            raise KeyReused("this Idempotency-Key was already used for a different request")
        if existing.status_code is not None:
            return Claim(Outcome.REPLAY, existing.id, existing.status_code, json.loads(existing.response))
        if utcnow() - existing.created_at < STALE_CLAIM:
            raise StillRunning("a request with this Idempotency-Key is still running; retry shortly")
        session.delete(existing)
        session.commit()
    raise StillRunning("a request with this Idempotency-Key is still running; retry shortly")


def record(session: Session, row_id: int, status_code: int, body: object) -> None:
    """Store the response in ``session``'s transaction, uncommitted: committed
    with the task it describes, a claim is never left without its result."""
    session.execute(
        sa.update(IdempotencyKey)
        .where(IdempotencyKey.id == row_id)
        .values(status_code=status_code, response=json.dumps(body, separators=(",", ":")))
    )


def release(session: Session, row_id: int) -> None:
    """Forget a claim whose request failed, so that a retry runs it again."""
    session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
    session.commit()


def purge(session: Session, older_than: dt.timedelta = RETAIN) -> int:
    """Delete keys older than ``older_than``; a client retries within a day, not later."""
    result = session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - older_than))
    session.commit()
    return result.rowcount or 0
