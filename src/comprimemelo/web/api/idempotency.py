"""The ``Idempotency-Key`` header on creating endpoints (see ``comprimemelo.services.idempotency``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import request
from sqlalchemy.orm import Session

from comprimemelo.services import idempotency
from comprimemelo.web.auth import current_user_id
from comprimemelo.web.context import database_turn

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

# Called by the producer inside the transaction that creates what it returns.
Recorder = Callable[[Session, dict, int], None]
Produce = Callable[[Recorder], tuple[dict, int]]


def _no_record(_session: Session, _body: dict, _status: int) -> None:
    return None


def idempotent(
    endpoint: str, parts: Sequence[str], produce: Produce, headers_for: Callable[[dict], dict] = lambda body: {}
):
    """Run ``produce(record)`` once per key: a retry replays its body and status.

    ``produce`` must call ``record(session, body, status)`` before committing
    what it creates. ``parts`` identify the request (never a password);
    ``headers_for`` rebuilds headers such as ``Location`` from a body. The key
    is claimed, and released on failure, in turns of the request's own (a
    request never holds two connections).
    """
    key = request.headers.get(HEADER)
    if key is None:
        body, status = produce(_no_record)
        return body, status, headers_for(body)
    owner = current_user_id()
    with database_turn() as session:
        claim = idempotency.claim(session, owner, endpoint, key, idempotency.fingerprint([endpoint, *parts]))
    if claim.outcome is idempotency.Outcome.REPLAY:
        return claim.body, claim.status_code, {**headers_for(claim.body), REPLAYED_HEADER: "true"}

    def record(producer_session: Session, body: dict, status: int) -> None:
        idempotency.record(producer_session, claim.row_id, status, body)

    try:
        body, status = produce(record)
    except BaseException:
        with database_turn() as session:
            idempotency.release(session, claim.row_id)
        raise
    return body, status, headers_for(body)
