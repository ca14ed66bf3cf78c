"""Task lifecycle: ``uploaded`` -> ``processing`` -> ``processed`` | ``failed``."""

import enum


class TaskStatus(str, enum.Enum):
    UPLOADED = "uploaded"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (TaskStatus.PROCESSED, TaskStatus.FAILED)
