"""Deleting stored objects whose rows are gone, without ever losing track of one.

The rows and the record of their objects (``StorageGarbage``) leave and
arrive in one transaction; the objects are deleted after it, and each record
goes once its object is gone. A storage outage in between leaves records,
which the worker's sweep (``collect``) works through later. Deleting is
idempotent, so a record handled twice costs nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import ContextManager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from comprimemelo.domain.models import StorageGarbage
from comprimemelo.services import uploads
from comprimemelo.storage import Storage, StorageError
from comprimemelo.storage.resumable import target_for

log = logging.getLogger(__name__)

COLLECT_BATCH = 500
UPLOAD_KEY_PREFIX = uploads.KEY_PREFIX + "/"


def record(session: Session, keys: Iterable[str], uploads: Iterable[tuple[str, str | None]] = ()) -> list[int]:
    """Note objects to delete (and unfinished uploads' ``(key, session URL)``), in
    ``session``'s transaction; their record ids, for ``collect``."""
    rows = [StorageGarbage(storage_key=key) for key in dict.fromkeys(keys) if key]
    rows += [StorageGarbage(storage_key=key, upload_url=url) for key, url in uploads]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def collect(
    sessions: Callable[[], ContextManager[Session]], storage: Storage, *, ids: Sequence[int] | None = None
) -> int:
    """Delete the recorded objects (those of ``ids``, else the oldest batch) and
    their records; returns how many went. Backend errors stop the pass: what
    is left waits for the next one."""
    removed = 0
    with sessions() as session:
        query = sa.select(StorageGarbage).order_by(StorageGarbage.id)
        query = query.where(StorageGarbage.id.in_(ids)) if ids is not None else query.limit(COLLECT_BATCH)
        pending = [(row.id, row.storage_key, row.upload_url) for row in session.scalars(query)]
    try:
        for row_id, key, upload_url in pending:
            if key.startswith(UPLOAD_KEY_PREFIX):
                _abandon_upload(storage, key, upload_url)
            else:
                storage.delete(key)
            with sessions() as session:
                session.execute(sa.delete(StorageGarbage).where(StorageGarbage.id == row_id))
                session.commit()
            removed += 1
    except (StorageError, OSError, sa.exc.SQLAlchemyError) as error:
        log.warning("storage clean-up stopped after %d objects, will retry: %s", removed, error)
    return removed


def _abandon_upload(storage: Storage, key: str, upload_url: str | None) -> None:
    """An upload's object, and if unfinished its backend session and partial bytes."""
    try:
        target = target_for(storage)
    except ValueError:  # a storage without resumable uploads
        storage.delete(key)
        return
    target.abandon(key, upload_url)
