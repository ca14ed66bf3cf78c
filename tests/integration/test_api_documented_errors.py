"""The answers the fuzz test cannot provoke are as documented too: 429 from the
rate limits (off while fuzzing) and 503 when the database is down."""

from __future__ import annotations

import io

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

from comprimemelo import db
from comprimemelo.bootstrap import build_web, open_backends
from comprimemelo.services.tokens import Tokens
from comprimemelo.settings import load_settings
from comprimemelo.web.api.openapi import openapi_document
from tests.conftest import CHEAP_ARGON2, PASSWORD, TEST_SECRET_KEY
from tests.integration.test_api_fuzz import CHECKS

SCHEMA = schemathesis.openapi.from_dict(openapi_document())
SIGNUP = {"username": "alice", "email": "alice@example.com", "password1": PASSWORD, "password2": PASSWORD}
LOGIN = {"username": "alice", "password": PASSWORD}
# The 503s here are provoked on purpose; what matters is that they are documented.
DOCUMENTATION_CHECKS = [check for check in CHECKS if check is not not_a_server_error]


def assert_documented(method: str, path: str, response, **path_parameters) -> None:
    """Status code, content type, headers and body are as the document says."""
    case = SCHEMA[path][method].Case(path_parameters=path_parameters or None)
    case.validate_response(response, checks=DOCUMENTATION_CHECKS)


@pytest.fixture
def limited_client(settings):
    settings = settings.replace(signup_rate_limit="1/minute", login_rate_limit="1/minute")
    services = open_backends(settings)
    db.upgrade(services.engine, settings)
    yield build_web(services.settings, backends=services).test_client()
    services.close()


def test_rate_limited_signup_and_login_answer_as_documented(limited_client):
    for path, body in (("/api/auth/signup", SIGNUP), ("/api/auth/login", LOGIN)):
        assert limited_client.post(path, json=body).status_code in (200, 201)
        response = limited_client.post(path, json=body)
        assert response.status_code == 429
        assert_documented("POST", path, response)


@pytest.fixture
def client_without_database(tmp_path):
    """A client of an app whose database cannot be opened, and a well-signed token."""
    settings = load_settings(
        {},
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'missing' / 'folder' / 'db.sqlite3'}",
        secret_key=TEST_SECRET_KEY,
        rate_limits="off",
        **CHEAP_ARGON2,
    )
    services = open_backends(settings)
    token = Tokens(settings.secret_key, settings.token_ttl_seconds).issue(1)
    yield build_web(services.settings, backends=services).test_client(), {"Authorization": f"Bearer {token}"}
    services.close()


def verification_token() -> str:
    """A well-signed link token for user 1 (the database is what fails)."""
    from comprimemelo.domain.models import User
    from comprimemelo.services.verification import make_token
    from comprimemelo.settings import Settings

    return make_token(User(id=1, email="someone@example.com"), Settings(secret_key=TEST_SECRET_KEY))


def test_every_database_backed_operation_answers_a_documented_503(client_without_database):
    client, auth = client_without_database
    calls = [
        ("POST", "/api/auth/signup", {}, dict(json=SIGNUP)),
        ("POST", "/api/auth/login", {}, dict(json=LOGIN)),
        ("POST", "/api/auth/logout", {}, {}),
        ("GET", "/api/tasks", {}, {}),
        ("POST", "/api/tasks", {}, dict(data={"fileName": (io.BytesIO(b"x"), "a.txt"), "newFormat": "zip"})),
        ("GET", "/api/tasks/{task_id}", {"task_id": 1}, {}),
        ("DELETE", "/api/tasks/{task_id}", {"task_id": 1}, {}),
        ("GET", "/api/tasks/{task_id}/original", {"task_id": 1}, {}),
        ("GET", "/api/tasks/{task_id}/compressed", {"task_id": 1}, {}),
        ("GET", "/api/files/{filename}", {"filename": "a.txt"}, {}),
        ("POST", "/api/uploads", {}, dict(json={"fileName": "a.txt", "size": 1})),
        ("GET", "/api/uploads/{upload_id}", {"upload_id": "ab12"}, {}),
        ("DELETE", "/api/uploads/{upload_id}", {"upload_id": "ab12"}, {}),
        ("PUT", "/api/uploads/{upload_id}", {"upload_id": "ab12"}, dict(headers={"Content-Range": "bytes */1"})),
        ("POST", "/api/uploads/{upload_id}/complete", {"upload_id": "ab12"}, dict(json={"newFormat": "zip"})),
        ("GET", "/api/notifications", {}, {}),
        ("PUT", "/api/notifications", {}, dict(json={"email": True})),
        ("POST", "/api/notifications/webhook-secret", {}, {}),
        ("GET", "/api/tasks/{task_id}/notifications", {"task_id": 1}, {}),
        ("GET", "/api/account", {}, {}),
        ("DELETE", "/api/account", {}, dict(json={"password": "the password"})),
        ("POST", "/api/account/email-verification", {}, {}),
        ("POST", "/api/auth/verify-email", {}, dict(json={"token": verification_token()})),
    ]
    documented = {
        (method.upper(), path)
        for path, operations in openapi_document()["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "503" in operation.get("responses", {}) and path != "/readyz"
    }
    assert documented == {(method, path) for method, path, _, _ in calls}
    for method, path, parameters, request in calls:
        headers = {**auth, **request.pop("headers", {})}
        response = client.open(path.format(**parameters), method=method, headers=headers, **request)
        assert response.status_code == 503, (method, path, response.data)
        assert_documented(method, path, response, **parameters)
