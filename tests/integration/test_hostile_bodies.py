"""Bodies an attacker sends: nested past any parser's depth, surrogates, too large."""

from __future__ import annotations

import pytest

NESTED = "[" * 100_000 + "]" * 100_000
DEEP_BUT_SMALL = "[" * 5_000 + "]" * 5_000


def test_deeply_nested_json_is_a_400_on_the_unauthenticated_routes(client):
    for path in ("/api/auth/signup", "/api/auth/login"):
        response = client.post(path, data=DEEP_BUT_SMALL, content_type="application/json")
        assert response.status_code == 400, path
        assert response.json["error"]["code"] == "invalid_json"


@pytest.mark.parametrize(
    "method, path",
    [("put", "/api/notifications"), ("post", "/api/uploads"), ("post", "/api/uploads/{id}/complete")],
)
def test_deeply_nested_json_is_a_400_on_every_json_route(client, make_user, method, path):
    user = make_user()
    response = getattr(client, method)(
        path.format(id="0" * 32), data=DEEP_BUT_SMALL, content_type="application/json", headers=user.headers
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"


def test_a_huge_nested_body_is_refused_for_its_size(client):
    response = client.post("/api/auth/login", data=NESTED, content_type="application/json")
    assert response.status_code == 413


def test_a_lone_surrogate_in_json_is_invalid_input_not_a_database_error(client):
    body = '{"username": "\\ud800abc", "email": "a@example.com", "password1": "x", "password2": "x"}'
    response = client.post("/api/auth/signup", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"
