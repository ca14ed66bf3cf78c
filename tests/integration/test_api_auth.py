"""``/api/auth``: signup, login, logout and token handling."""

import datetime as dt

import jwt
import pytest

from tests.conftest import PASSWORD, TEST_SECRET_KEY


def signup(client, username="alice", email=None, password1=PASSWORD, password2=None):
    return client.post(
        "/api/auth/signup",
        json={
            "username": username,
            "email": email or f"{username}@example.com",
            "password1": password1,
            "password2": password2 if password2 is not None else password1,
        },
    )


def error_code(response):
    assert response.is_json, response.data
    return response.json["error"]["code"]


def test_signup_returns_the_new_user(client):
    response = signup(client)
    assert response.status_code == 201
    assert response.json == {"id": response.json["id"], "username": "alice", "email": "alice@example.com"}


def test_signup_refuses_a_taken_username(client):
    signup(client)
    response = signup(client, email="other@example.com")
    assert response.status_code == 409
    assert error_code(response) == "username_taken"


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"password2": "something else entirely"}, "password_mismatch"),
        ({"password1": "short", "password2": "short"}, "weak_password"),
        ({"username": "a"}, "invalid_username"),
        ({"username": "../etc"}, "invalid_username"),
        ({"email": "not-an-email"}, "invalid_email"),
    ],
)
def test_signup_rejects_invalid_fields(client, fields, code):
    response = signup(client, **fields)
    assert response.status_code == 400
    assert error_code(response) == code


def test_signup_requires_every_field(client):
    response = client.post("/api/auth/signup", json={"username": "alice"})
    assert response.status_code == 400
    assert error_code(response) == "missing_field"


def test_signup_requires_json(client):
    response = client.post("/api/auth/signup", data="username=alice")
    assert response.status_code == 415
    response = client.post("/api/auth/signup", data="[1, 2", content_type="application/json")
    assert response.status_code == 400
    response = client.post("/api/auth/signup", json=[1, 2])
    assert response.status_code == 400
    response = client.post("/api/auth/signup", json={"username": 5, "email": [], "password1": {}, "password2": None})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/auth/login", {"username": "ali\x00ce", "password": PASSWORD}),
        ("/api/auth/signup", {"username": "bob", "email": "b\x00b@example.com",
                              "password1": PASSWORD, "password2": PASSWORD}),
    ],
)
def test_a_nul_character_is_invalid_input_not_a_database_outage(client, path, body):
    response = client.post(path, json=body)
    assert response.status_code == 400
    assert error_code(response) == "invalid_character"


def test_login_returns_a_bearer_token(client):
    signup(client)
    response = client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer"
    assert response.json["expires_in"] > 0
    claims = jwt.decode(response.json["access_token"], TEST_SECRET_KEY, algorithms=["HS256"], issuer="comprimemelo")
    assert claims["jti"] and claims["exp"] > claims["iat"]


def test_login_accepts_the_email_in_any_case(client):
    signup(client)
    response = client.post("/api/auth/login", json={"username": "ALICE@example.com", "password": PASSWORD})
    assert response.status_code == 200


def test_login_answers_alike_for_unknown_user_and_wrong_password(client):
    signup(client)
    wrong = client.post("/api/auth/login", json={"username": "alice", "password": "nope nope nope"})
    unknown = client.post("/api/auth/login", json={"username": "mallory", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json


def test_logout_revokes_the_token(client, make_user):
    user = make_user()
    assert client.get("/api/tasks", headers=user.headers).status_code == 200
    assert client.post("/api/auth/logout", headers=user.headers).status_code == 204
    response = client.get("/api/tasks", headers=user.headers)
    assert response.status_code == 401
    assert error_code(response) == "token_revoked"


def test_logout_needs_a_token(client):
    assert client.post("/api/auth/logout").status_code == 401


def _forged(key, **overrides):
    now = dt.datetime.now(dt.timezone.utc)
    payload = {"sub": "1", "jti": "x", "iat": now, "exp": now + dt.timedelta(hours=1), "iss": "comprimemelo"}
    payload.update(overrides)
    return jwt.encode(payload, key, algorithm="HS256")


@pytest.mark.parametrize(
    "token, code",
    [
        ("garbage", "invalid_token"),
        (_forged("another-key-another-key-another-key"), "invalid_token"),
        (_forged(TEST_SECRET_KEY, exp=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)), "token_expired"),
        (jwt.encode({"sub": "1", "jti": "x", "iss": "comprimemelo"}, None, algorithm="none"), "invalid_token"),
    ],
)
def test_bad_tokens_are_refused(client, token, code):
    response = client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert error_code(response) == code


def test_a_token_of_an_account_that_no_longer_exists_is_refused(client, make_user, services):
    import sqlalchemy as sa

    from comprimemelo.domain.models import User

    user = make_user("gone")
    with services.engine.begin() as connection:
        connection.execute(sa.delete(User).where(User.id == user.id))
    for response in (
        client.get("/api/tasks", headers=user.headers),
        user.upload("a.txt", b"hello", "zip"),
        client.put("/api/notifications", json={"email": True}, headers=user.headers),
    ):
        assert response.status_code == 401
        assert response.json["error"]["code"] == "account_deleted"
