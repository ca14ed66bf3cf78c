"""Short secrets sealed for the trip from the web tier to a worker.

An archive password must reach whichever worker claims the task, but is never
stored in clear or logged: the web seals it (Fernet: AES-128-CBC +
HMAC-SHA256) with a key derived from the service's secret key and keeps the
sealed text on the task (``Task.sealed_password``) until the task finishes,
fails or expires, when it is erased. Without the secret key it cannot be opened.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PURPOSE = b"comprimemelo archive password v1"


class Unsealable(Exception):
    """The sealed text was tampered with or sealed under another secret key."""


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(text.encode()).decode("ascii")


def unseal(token: str, secret_key: str) -> str:
    """:raise Unsealable: if ``token`` was not sealed with ``secret_key`` or was changed."""
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError) as error:
        raise Unsealable("the sealed secret cannot be opened") from error
