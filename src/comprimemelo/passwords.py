"""Password hashing with argon2id, and the rules a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from comprimemelo.settings import Settings


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        self.min_length = settings.min_password_length
        # Verified against when the user does not exist, so that a wrong
        # username costs the same time as a wrong password.
        self._dummy_hash = self._hasher.hash("not a real password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def problem(self, password: str) -> str | None:
        """Why ``password`` is unacceptable, or ``None``."""
        if len(password) < self.min_length:
            return f"password must be at least {self.min_length} characters"
        if len(password) > 1024:
            return "password must be at most 1024 characters"
        return None
