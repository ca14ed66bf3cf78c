"""Verified tokens are cached per process; expiry is still checked on every use."""

import time

import pytest

from comprimemelo import db
from comprimemelo.bootstrap import open_backends
from comprimemelo.domain.errors import Unauthorized
from comprimemelo.domain.models import User
from comprimemelo.services.tokens import Tokens
from comprimemelo.settings import load_settings
from tests.conftest import TEST_SECRET_KEY


@pytest.fixture
def session(tmp_path):
    settings = load_settings({}, data_dir=tmp_path, secret_key=TEST_SECRET_KEY)
    services = open_backends(settings)
    db.upgrade(services.engine, settings)
    with services.sessions() as session:
        # Tokens are only good for accounts that exist.
        session.add(User(id=7, username="seven", email="7@example.com", email_lower="7@example.com",
                         password_hash="-"))
        session.commit()
        yield session
    services.close()


def test_a_cached_token_still_expires(session):
    tokens = Tokens(TEST_SECRET_KEY, ttl_seconds=1)
    token = tokens.issue(7)
    assert tokens.decode(token, session.connection()).user_id == 7  # verified and cached
    time.sleep(1.1)
    with pytest.raises(Unauthorized) as raised:
        tokens.decode(token, session.connection())
    assert raised.value.code == "token_expired"


def test_a_cached_token_is_refused_once_revoked(session):
    tokens = Tokens(TEST_SECRET_KEY, ttl_seconds=60)
    token = tokens.issue(7)
    claims = tokens.decode(token, session.connection())
    Tokens.revoke(claims, session)
    with pytest.raises(Unauthorized) as raised:
        tokens.decode(token, session.connection())
    assert raised.value.code == "token_revoked"


def test_a_bad_token_is_refused_every_time(session):
    tokens = Tokens(TEST_SECRET_KEY, ttl_seconds=60)
    forged = Tokens("another-secret-key-0123456789abcdefghijklmnop", ttl_seconds=60).issue(7)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            tokens.decode(forged, session.connection())
