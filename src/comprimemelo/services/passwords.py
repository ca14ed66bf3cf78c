"""Password hashing with argon2id, and the rules a new password must meet.

The rules are NIST SP 800-63B's (5.1.1.2): at least ``min_password_length``
characters (every Unicode character counts as one; at most
``MAX_PASSWORD_LENGTH``), no composition rules, and a refusal of passwords
that are known or easy to guess: the most common leaked ones (and such a
one with a few digits or symbols added), repetitive or sequential
characters, and words of the context: the service's name, the username, the
e-mail address. Rules are checked on the NFKC form, so look-alike characters
(full-width letters) do not dodge them; the password itself is hashed as sent.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import unicodedata
from collections.abc import Iterable
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from comprimemelo.server.event_loop import off_the_event_loop
from comprimemelo.settings import Settings

MAX_PASSWORD_LENGTH = 1024
COMMON_PASSWORDS_FILE = "common-passwords.txt"
PRODUCT_WORDS = ("comprimemelo",)
# A password that repeats a unit this long or shorter ("abcabcab") is a repetition.
MAX_REPEATED_UNIT = 4
MIN_DISTINCT_CHARACTERS = 3
# What must be left, beyond a context word or a common password, for the rest to count.
MIN_REMAINDER_CHARACTERS = 6
MIN_REMAINDER_DISTINCT = 4
MIN_CONTEXT_WORD_LENGTH = 3
_NOT_ALNUM = re.compile(r"[\W_]+")
_TRAILING_DIGITS_AND_SYMBOLS = re.compile(r"[\d\W_]+$")


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

    def problem(self, password: str, context: Iterable[str] = ()) -> str | None:
        """Why ``password`` is unacceptable, or ``None``; ``context`` holds the
        account's own words (username, e-mail address)."""
        if len(password) < self.min_length:
            return f"password must be at least {self.min_length} characters"
        if len(password) > MAX_PASSWORD_LENGTH:
            return f"password must be at most {MAX_PASSWORD_LENGTH} characters"
        folded = unicodedata.normalize("NFKC", password).casefold()
        if not folded.strip():
            return "password must not be only spaces"
        common = common_passwords()
        base = _TRAILING_DIGITS_AND_SYMBOLS.sub("", folded.strip())
        if folded in common or (base in common and not _enough_besides(folded, base)):
            return "this password is one of the most common ones; choose another"
        if _is_repetitive(folded) or _is_sequential(folded):
            return "password must not be repeated or sequential characters; choose another"
        core = _alnum(folded)
        for word in _context_words(context):
            if (word in core and not _enough_besides(core, word)) or (len(core) >= 4 and core in word):
                return "password must not be your username, your e-mail address or the service's name"
        return None


def _alnum(text: str) -> str:
    return _NOT_ALNUM.sub("", text)


def _context_words(context: Iterable[str]) -> set[str]:
    words = set(PRODUCT_WORDS)
    for item in context:
        folded = unicodedata.normalize("NFKC", item).casefold()
        words.add(_alnum(folded))
        if "@" in folded:
            words.add(_alnum(folded.split("@", 1)[0]))
    return {word for word in words if len(word) >= MIN_CONTEXT_WORD_LENGTH}


def _enough_besides(text: str, part: str) -> bool:
    """Whether ``text`` without ``part`` still has enough characters of its own."""
    rest = text.replace(part, "")
    return len(rest) >= MIN_REMAINDER_CHARACTERS and len(set(rest)) >= MIN_REMAINDER_DISTINCT


def _is_repetitive(text: str) -> bool:
    if len(set(text)) < MIN_DISTINCT_CHARACTERS:
        return True
    for unit in range(1, MAX_REPEATED_UNIT + 1):
        if all(text[i] == text[i % unit] for i in range(len(text))):
            return True
    return False


def _is_sequential(text: str) -> bool:
    """Characters that go up or down by one all along: "abcdefgh", "98765432"."""
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:])}
    return steps in ({1}, {-1})
