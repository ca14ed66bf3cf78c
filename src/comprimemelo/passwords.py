"""Password hashing with argon2id, and the rules a new password must meet."""

from __future__ import annotations

import functools
import os
import threading
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from comprimemelo.cooperative import off_the_event_loop
from comprimemelo.settings import Settings

MAX_PASSWORD_LENGTH = 1024
COMMON_PASSWORDS_FILE = "common-passwords.txt"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of leaked, most common passwords, case-folded.

    A file of ours rather than a dependency: the library it comes from (zxcvbn)
    would cost every web process 16 MB to hold lists we do not use. It was
    written once with ``FREQUENCY_LISTS["passwords"][:20000]`` of zxcvbn 4.5.
    """
    text = resources.files("comprimemelo.data").joinpath(COMMON_PASSWORDS_FILE).read_text("utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        self.min_length = settings.min_password_length
        # Each hash holds ``argon2_memory_kib`` and keeps the cores busy: more
        # at once than there are cores only adds memory (64 MiB each by
        # default), not throughput. Waiting threads hold nothing.
        self._slots = threading.BoundedSemaphore(os.cpu_count() or 1)
        # Verified against when the user does not exist, so that a wrong
        # username costs the same time as a wrong password.
        self._dummy_hash = self._hasher.hash("not a real password")

    def hash(self, password: str) -> str:
        with self._slots:
            return off_the_event_loop(self._hasher.hash, password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            with self._slots:
                return off_the_event_loop(self._hasher.verify, password_hash or self._dummy_hash, password) and (
                    password_hash is not None
                )
        except (VerificationError, InvalidHashError):
            return False

    def problem(self, password: str) -> str | None:
        """Why ``password`` is unacceptable, or ``None``."""
        if len(password) < self.min_length:
            return f"password must be at least {self.min_length} characters"
        if len(password) > MAX_PASSWORD_LENGTH:
            return f"password must be at most {MAX_PASSWORD_LENGTH} characters"
        if password.casefold() in common_passwords():
            return "this password is one of the most common ones; choose another"
        return None
