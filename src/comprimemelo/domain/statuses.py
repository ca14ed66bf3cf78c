"""Task lifecycle: ``uploaded`` -> ``processing`` -> ``processed`` | ``failed``,
and any finished task -> ``expired`` when its retention ends (files deleted)."""

import enum


class TaskStatus(str, enum.Enum):
    UPLOADED = "uploaded"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    EXPIRED = "expired"

    @property
    def finished(self) -> bool:
        return self in (TaskStatus.PROCESSED, TaskStatus.FAILED, TaskStatus.EXPIRED)
