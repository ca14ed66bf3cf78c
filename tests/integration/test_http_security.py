"""Headers every response carries, and CORS only when configured."""

from __future__ import annotations

import pytest

from tests.conftest import app_with


@pytest.mark.parametrize("path", ["/api/tasks", "/api/nope", "/healthz", "/login", "/nope", "/api/openapi.json"])
def test_security_headers_are_on_every_response(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here
    for name in ("Content-Security-Policy", "Referrer-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert len(response.headers.getlist(name)) == 1, name  # a page's own value is kept, not doubled


def test_hsts_is_sent_over_https(client):
    response = client.get("/healthz", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_cors_headers_unless_configured(client, make_user):
    user = make_user()
    headers = {**user.headers, "Origin": "https://evil.example"}
    response = client.get("/api/tasks", headers=headers)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options(
        "/api/tasks", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_configured_origins_and_only_those_get_cors(settings):
    client = app_with(settings, cors_origins="https://app.example, https://other.example/").test_client()
    preflight = client.options(
        "/api/tasks",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Idempotency-Key",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers  # bearer tokens, never cookies
    other = client.get("/api/tasks", headers={"Origin": "https://other.example"})
    assert other.headers["Access-Control-Allow-Origin"] == "https://other.example"
    stranger = client.get("/api/tasks", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    page = client.get("/login", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in page.headers  # the API only


def test_metrics_answer_only_to_this_machine(settings):
    client = app_with(settings).test_client()
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "35.191.0.10"}).status_code == 404


def test_metrics_through_the_load_balancer_are_refused_even_with_a_forged_chain(settings):
    client = app_with(settings, proxy_hops=2).test_client()
    response = client.get(
        "/metrics",
        headers={"X-Forwarded-For": "127.0.0.1, 127.0.0.1, 34.120.0.1"},
        environ_base={"REMOTE_ADDR": "35.191.0.10"},
    )
    assert response.status_code == 404
