"""Webhook signatures are what the Standard Webhooks library computes and checks,
for the secrets we make now and for those made before."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from comprimemelo.notifications import signing

BODY = b'{"id":"evt_1","type":"task.processed","data":{"task":{"id":7}}}'
EVENT_ID = "evt_0123456789abcdef"


def legacy_secret() -> str:
    """A secret as we made them before the standard signatures."""
    return signing.SECRET_PREFIX + secrets.token_urlsafe(32)


def test_a_new_secret_is_whsec_and_base64_of_32_random_bytes():
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    assert len(key) == signing.SECRET_BYTES
    assert signing.signing_key(secret) == key
    assert secret != signing.new_secret()


def test_the_library_derives_the_key_we_sign_with_from_the_secret_we_show():
    secret = signing.new_secret()
    now = int(time.time())
    headers = signing.webhook_headers(secret, EVENT_ID, "task.processed", BODY, now)
    expected = Webhook(secret).sign(EVENT_ID, dt.datetime.fromtimestamp(now, dt.timezone.utc), BODY)
    assert headers["webhook-signature"] == expected
    assert headers["webhook-id"] == EVENT_ID and headers["webhook-timestamp"] == str(now)
    assert Webhook(secret).verify(BODY, headers) == {"id": "evt_1", "type": "task.processed",
                                                    "data": {"task": {"id": 7}}}


def test_a_tampered_body_another_secret_or_a_stale_timestamp_fails_the_library():
    secret = signing.new_secret()
    headers = signing.webhook_headers(secret, EVENT_ID, "task.processed", BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "evt_other"})
    stale = signing.webhook_headers(secret, EVENT_ID, "task.processed", BODY, int(time.time()) - 301)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, stale)


def test_a_secret_made_before_keeps_its_whole_string_as_key():
    secret = legacy_secret()
    assert signing.signing_key(secret) == secret.encode()
    headers = signing.webhook_headers(secret, EVENT_ID, "task.failed", BODY)
    Webhook(secret.encode()).verify(BODY, headers)  # the library's raw-key form
    assert signing.verify(secret, BODY, headers["Comprimemelo-Signature"])


def test_the_deprecated_header_is_signed_with_the_whole_string_for_every_secret():
    for secret in (signing.new_secret(), legacy_secret()):
        headers = signing.webhook_headers(secret, EVENT_ID, "task.processed", BODY)
        assert signing.verify(secret, BODY, headers["Comprimemelo-Signature"])
        assert headers["Comprimemelo-Event-Id"] == EVENT_ID
        assert headers["Comprimemelo-Event-Type"] == "task.processed"
        assert headers["Comprimemelo-Signature"].startswith(f"t={headers['webhook-timestamp']},")

