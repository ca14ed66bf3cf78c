"""Webhook signatures, the Standard Webhooks way, plus our earlier header for one release.

`Standard Webhooks <https://www.standardwebhooks.com>`_: ``webhook-id`` (the
event id, the same on every retry), ``webhook-timestamp`` (unix seconds) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``,
so receivers verify with the ``standardwebhooks`` (or Svix) library of their
language. The secret is ``whsec_`` + base64 of random bytes, and the HMAC key
is what those libraries derive from it: the base64-decoded bytes.

Secrets made before this scheme are ``whsec_`` + 43 URL-safe characters, which
are not base64 (the libraries refuse them or, Python's, decode them to other
bytes): their key stays the whole string's bytes, as it always was, and
receivers pass it raw (``Webhook(secret.encode())``; docs/notifications.md).
Rotating gives a standard one.

Deprecated, sent for one more release: ``Comprimemelo-Signature:
t=<unix time>,v1=<hex>``, HMAC-SHA256 keyed with the whole secret string of
``f"{t}.{raw body}"`` (Stripe's scheme), and ``Comprimemelo-Event-Id``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
STANDARD_SIGNATURE_VERSION = "v1"
# Deprecated: replaced by the standard headers, sent for one more release.
SIGNATURE_HEADER = "Comprimemelo-Signature"
EVENT_ID_HEADER = "Comprimemelo-Event-Id"
EVENT_TYPE_HEADER = "Comprimemelo-Event-Type"
SECRET_PREFIX = "whsec_"
# The spec asks for 24 to 64 bytes of key.
SECRET_BYTES = 32
REPLAY_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """``whsec_`` + standard base64 of ``SECRET_BYTES`` random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signing_key(secret: str) -> bytes:
    """The HMAC key of the standard signature: what the Standard Webhooks
    libraries derive from ``secret`` (its base64 part, decoded), or, for a
    secret made before (not base64), the whole string's bytes."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # Made before: 43 URL-safe characters, never whole base64 quads.
        return secret.encode()


def standard_signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    message = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), message, hashlib.sha256).digest()
    return f"{STANDARD_SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def webhook_headers(secret: str, event_id: str, event_type: str, body: bytes, timestamp: int | None = None) -> dict:
    """Every signing header of one delivery: the standard ones and the deprecated ones,
    all of the same moment."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        STANDARD_ID_HEADER: event_id,
        STANDARD_TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: standard_signature(secret, event_id, timestamp, body),
        SIGNATURE_HEADER: signature_header(secret, body, timestamp),
        EVENT_ID_HEADER: event_id,
        EVENT_TYPE_HEADER: event_type,
    }


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The deprecated ``Comprimemelo-Signature``'s ``v1``."""
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
    """True if the deprecated ``header`` signs ``body`` with ``secret`` and is at most
    ``tolerance`` s old: the receiver's side, as ``docs/notifications.md`` shows it."""
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
