"""Deleting an account: every task, file, upload, webhook, setting and key of it.

One transaction records every object the account's rows point to (its
tasks' originals and archives, its unfinished uploads and their backend
sessions) for deletion (``garbage``) and deletes the user's row, which takes
every other row with it (foreign keys cascade). Its tokens stop working with
it (a token of an account that is gone is refused). The objects go right
after, or at the worker's next sweep if storage is down meanwhile. A worker
still compressing one of the tasks finds it gone when it records the result
and deletes its archive; a queued message of one is dropped when received.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ContextManager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from comprimemelo.domain.models import Task, TaskFile, UploadSession, User
from comprimemelo.services import garbage
from comprimemelo.services.uploads import UploadState


def delete_account(turns: Callable[[], ContextManager[Session]], user_id: int) -> list[int]:
    """Delete user ``user_id`` and everything of theirs; the garbage records
    of their objects, for ``garbage.collect``."""
    with turns() as session:
        keys = list(session.scalars(
            sa.select(TaskFile.storage_key).join(Task, Task.id == TaskFile.task_id).where(Task.owner_id == user_id)
        ))
        keys += session.scalars(
            sa.select(Task.compressed_key).where(Task.owner_id == user_id, Task.compressed_key.is_not(None))
        )
        unfinished = session.execute(
            sa.select(UploadSession.storage_key, UploadSession.upload_url).where(
                UploadSession.owner_id == user_id, UploadSession.state != UploadState.SUBMITTED.value
            )
        ).all()
        ids = garbage.record(session, keys, [tuple(row) for row in unfinished])
        session.execute(sa.delete(User).where(User.id == user_id))
        session.commit()
    return ids
