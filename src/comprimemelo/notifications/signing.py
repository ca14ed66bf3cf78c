"""Webhook signatures: ``Comprimemelo-Signature: t=<unix time>,v1=<hex>``.

``v1`` is HMAC-SHA256, keyed with the user's webhook secret, of
``f"{t}.{raw body}"``: the timestamp is signed too, so a receiver that refuses
old timestamps (``REPLAY_TOLERANCE_SECONDS``) cannot be fed a replayed event.
Stripe's scheme, which receivers already know how to check.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Comprimemelo-Signature"
EVENT_ID_HEADER = "Comprimemelo-Event-Id"
EVENT_TYPE_HEADER = "Comprimemelo-Event-Type"
SECRET_PREFIX = "whsec_"
REPLAY_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance: int = REPLAY_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` and is at most ``tolerance`` s old.

    The receiver's side, exactly as ``docs/notifications.md`` shows it.
    """
    fields: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))
