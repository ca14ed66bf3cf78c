"""The API's objects as typed, read-only values; unknown fields are kept in ``data``."""

from __future__ import annotations

import dataclasses
from typing import Any

# Statuses after which a task changes no more (``expired`` follows ``processed`` later).
FINISHED_STATUSES = frozenset({"processed", "failed", "expired"})


@dataclasses.dataclass(frozen=True)
class TaskFile:
    filename: str
    size: int


@dataclasses.dataclass(frozen=True)
class Task:
    """A task as ``GET /api/tasks/<id>`` shows it; ``data`` is the JSON as received."""

    id: int
    filename: str
    new_format: str
    status: str
    progress: int
    level: int | None
    size_original: int | None
    size_compressed: int | None
    created_at: str | None
    processed_at: str | None
    expires_at: str | None
    error: str | None
    encrypted: bool
    files: tuple[TaskFile, ...]
    original_url: str | None
    compressed_url: str | None
    data: dict[str, Any] = dataclasses.field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        return cls(
            id=data["id"],
            filename=data["filename"],
            new_format=data["new_format"],
            status=data["status"],
            progress=data.get("progress") or 0,
            level=data.get("level"),
            size_original=data.get("size_original"),
            size_compressed=data.get("size_compressed"),
            created_at=data.get("created_at"),
            processed_at=data.get("processed_at"),
            expires_at=data.get("expires_at"),
            error=data.get("error"),
            encrypted=bool(data.get("encrypted")),
            files=tuple(TaskFile(item["filename"], item["size"]) for item in data.get("files", [])),
            original_url=data.get("original_url"),
            compressed_url=data.get("compressed_url"),
            data=data,
        )

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


@dataclasses.dataclass(frozen=True)
class UploadSession:
    """A resumable upload (``POST /api/uploads``): where to send the bytes, how far it got."""

    id: str
    file_name: str
    size: int
    offset: int
    state: str
    upload_url: str
    chunk_bytes: int
    task_id: int | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadSession:
        return cls(
            id=data["id"],
            file_name=data["file_name"],
            size=data["size"],
            offset=data["offset"],
            state=data["state"],
            upload_url=data["upload_url"],
            chunk_bytes=data["chunk_bytes"],
            task_id=data["task_id"],
        )
