"""The web UI's pages through the Flask test client: forms, the session cookie,
CSRF refusals, security headers and error pages."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from comprimemelo.web.ui import pages
from comprimemelo.web.auth import SESSION_COOKIE
from tests.conftest import PASSWORD

WEB = Path(pages.__file__).parent
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def form_token(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return CSRF_INPUT.search(response.text).group(1)


def set_cookies(response) -> dict[str, str]:
    """Each Set-Cookie header of ``response``, by cookie name."""
    headers = response.headers.getlist("Set-Cookie")
    return {header.split("=", 1)[0]: header for header in headers}


def signup(client, username="alice", **overrides):
    fields = {
        "username": username,
        "email": f"{username}@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "csrf_token": form_token(client, "/signup"),
        **overrides,
    }
    return client.post("/signup", data=fields)


def login(client, login="alice", password=PASSWORD):
    token = form_token(client, "/login")
    return client.post("/login", data={"username": login, "password": password, "csrf_token": token})


def field_error(response, field: str) -> str | None:
    match = re.search(rf'data-error-for="{field}">([^<]*)<', response.text)
    return match.group(1) if match else None


def test_dashboard_sends_visitors_without_a_session_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_signup_creates_the_account_and_starts_a_session(client):
    response = signup(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    cookie = set_cookies(response)[SESSION_COOKIE]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert "Max-Age=3600" in cookie  # the token's lifetime
    assert "Secure" not in cookie  # plain HTTP here
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "alice" in dashboard.text


def test_session_cookie_is_secure_when_the_request_came_over_https(client):
    # Behind the load balancer gunicorn turns X-Forwarded-Proto into the scheme.
    https = {"base_url": "https://localhost"}
    form = client.get("/signup", **https)
    token = CSRF_INPUT.search(form.text).group(1)
    assert "Secure" in set_cookies(form)[pages.FORM_CSRF_COOKIE]
    response = client.post(
        "/signup",
        data={"username": "alice", "email": "a@example.com", "password1": PASSWORD,
              "password2": PASSWORD, "csrf_token": token},
        **https,
    )
    assert response.status_code == 303
    assert "Secure" in set_cookies(response)[SESSION_COOKIE]


@pytest.mark.parametrize(
    "overrides, field, status, message",
    [
        ({"username": "a b"}, "username", 400, "Username must be 3 to 64"),
        ({"email": "not-an-email"}, "email", 400, "Email is not a valid address."),
        ({"password2": PASSWORD + "!"}, "password2", 400, "Passwords do not match."),
        ({"password1": "short", "password2": "short"}, "password1", 400, "Password must be at least 8"),
    ],
)
def test_signup_errors_are_shown_next_to_their_field(client, overrides, field, status, message):
    response = signup(client, **overrides)
    assert response.status_code == status
    assert field_error(response, field).startswith(message)
    assert SESSION_COOKIE not in set_cookies(response)
    assert 'aria-invalid="true"' in response.text


def test_signup_with_a_taken_name_says_so(client):
    signup(client)
    client.delete_cookie(SESSION_COOKIE)
    response = signup(client, email="other@example.com")
    assert response.status_code == 409
    assert field_error(response, "username") == "Username already taken."


def test_signup_never_says_an_email_address_is_in_use(client):
    """The address's owner is mailed instead (see test_email_verification.py)."""
    signup(client)
    client.delete_cookie(SESSION_COOKIE)
    response = signup(client, username="bob", email="ALICE@example.com")
    assert response.status_code == 303  # signed in, like any new account


def test_signup_form_keeps_what_was_typed_except_passwords(client):
    response = signup(client, username="carol", password2="different password")
    assert 'value="carol"' in response.text
    assert 'value="carol@example.com"' in response.text
    assert PASSWORD not in response.text


@pytest.mark.parametrize("login_name", ["alice", "alice@example.com", "ALICE@EXAMPLE.COM"])
def test_login_with_username_or_email_starts_a_session(make_user, client, login_name):
    make_user("alice")
    response = login(client, login_name)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    cookie = set_cookies(response)[SESSION_COOKIE]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200


def test_wrong_password_is_shown_next_to_the_password(make_user, client):
    make_user("alice")
    response = login(client, "alice", "wrong password")
    assert response.status_code == 401
    assert field_error(response, "password") == "Wrong username or password."
    assert SESSION_COOKIE not in set_cookies(response)


def test_empty_login_fields_are_each_reported(client):
    response = login(client, "", "")
    assert response.status_code == 400
    assert field_error(response, "username")
    assert field_error(response, "password")


@pytest.mark.parametrize("path", ["/login", "/signup"])
def test_session_less_forms_without_a_csrf_token_are_refused(make_user, client, path):
    make_user("alice")
    client.get(path)  # the browser has the nonce cookie, but the form lacks the token
    data = {"username": "alice", "password": PASSWORD, "email": "x@example.com",
            "password1": PASSWORD, "password2": PASSWORD}
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert pages.FORM_EXPIRED.split(".")[0] in response.text
    assert SESSION_COOKIE not in set_cookies(response)


def test_login_csrf_token_from_another_browser_is_refused(make_user, app):
    """A forged cross-site login form carries the attacker's token, not the victim's nonce."""
    make_user("alice")
    attacker, victim = app.test_client(), app.test_client()
    token = form_token(attacker, "/login")
    victim.get("/login")
    response = victim.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400
    assert SESSION_COOKIE not in set_cookies(response)


def test_tampered_form_token_is_refused(make_user, client):
    """A changed signature character is refused; the one changed is never the last, whose low bits base64 ignores."""
    make_user("alice")
    token = form_token(client, "/login")
    position = len(token) - 3
    tampered = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
    response = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": tampered})
    assert response.status_code == 400


def test_logout_without_the_csrf_token_is_refused(client):
    signup(client)
    response = client.post("/logout")
    assert response.status_code == 403
    assert "text/html" in response.content_type
    assert client.get("/").status_code == 200  # still logged in


def test_logout_revokes_the_token_and_drops_the_cookie(client):
    signup(client)
    token = client.get_cookie(SESSION_COOKIE).value
    csrf = CSRF_META.search(client.get("/").text).group(1)
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?notice=logged_out"
    assert client.get_cookie(SESSION_COOKIE) is None
    api = client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401
    assert api.json["error"]["code"] == "token_revoked"
    assert "You have been logged out." in client.get("/login?notice=logged_out").text


def test_revoked_cookie_sends_the_browser_back_to_log_in(client):
    signup(client)
    token = client.get_cookie(SESSION_COOKIE).value
    csrf = CSRF_META.search(client.get("/").text).group(1)
    client.post("/logout", data={"csrf_token": csrf})
    client.set_cookie(SESSION_COOKIE, token)
    response = client.get("/")
    assert response.status_code == 302
    assert client.get_cookie(SESSION_COOKIE) is None


def test_the_api_accepts_the_cookie_with_the_csrf_header(client):
    signup(client)
    csrf = CSRF_META.search(client.get("/").text).group(1)
    upload = {"fileName": (io.BytesIO(b"hello " * 100), "hello.txt"), "newFormat": "zip"}
    refused = client.post("/api/tasks", data=dict(upload), content_type="multipart/form-data")
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "csrf_failed"
    upload = {"fileName": (io.BytesIO(b"hello " * 100), "hello.txt"), "newFormat": "zip"}
    created = client.post("/api/tasks", data=upload, content_type="multipart/form-data",
                          headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    task_id = created.json["id"]
    assert client.get("/api/tasks?order=1").json[0]["id"] == task_id  # GET needs no token
    assert client.delete(f"/api/tasks/{task_id}").json["error"]["code"] == "csrf_failed"
    assert client.delete(f"/api/tasks/{task_id}", headers={"X-CSRF-Token": csrf}).status_code == 204


def test_the_api_keeps_accepting_bearer_tokens(make_user):
    user = make_user("alice")
    assert user.upload("a.txt", b"x").status_code == 201
    assert user.client.get("/api/tasks", headers=user.headers).status_code == 200


def test_dashboard_lists_tasks_newest_first_with_what_the_page_needs(make_user, client, settings):
    user = make_user("alice")
    for name in ("one.txt", "two.txt", "three.txt"):
        assert user.upload(name, b"x" * 1500, "tar.gz", level="6").status_code == 201
    login(client, "alice")
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    names = re.findall(r'class="task__name" title="([^"]+)"', page.text)
    assert names == ["three.txt", "two.txt", "one.txt"]
    assert "1.5 KB" in page.text
    assert 'class="badge badge--uploaded">uploaded<' in page.text
    assert f'data-max-upload-bytes="{settings.max_upload_bytes}"' in page.text
    assert 'data-tasks-url="/api/tasks"' in page.text and 'data-page-size="50"' in page.text
    assert re.search(r'id="load-more"\s+data-next-url=""\s+hidden', page.text)  # one page holds them all
    assert CSRF_META.search(page.text)
    assert 'id="empty-state" hidden' in page.text
    for fmt in ("zip", "7z", "tar.gz", "tar.bz2", "tar.xz", "tar.zst"):
        assert f'<option value="{fmt}"' in page.text


def test_dashboard_renders_the_first_page_and_the_url_of_the_next(make_user, client):
    user = make_user("alice")
    for n in range(51):
        assert user.upload(f"f{n}.txt", b"x").status_code == 201
    login(client, "alice")
    page = client.get("/")
    ids = [int(found) for found in re.findall(r'<tr[^>]*data-task-id="(\d+)"', page.text)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    next_url = re.search(r'id="load-more"\s+data-next-url="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    following = client.get(next_url)
    assert following.status_code == 200 and [task["id"] for task in following.get_json()] == [min(ids) - 1]
    assert "Link" not in following.headers


def test_new_users_see_the_empty_state(client):
    signup(client)
    page = client.get("/")
    assert 'id="empty-state"' in page.text and 'id="empty-state" hidden' not in page.text
    assert "No files yet" in page.text


def test_other_users_tasks_are_not_shown(make_user, client):
    make_user("bob").upload("secret-of-bob.txt", b"x")
    signup(client, "alice")
    assert "secret-of-bob.txt" not in client.get("/").text


def test_file_names_are_escaped(make_user, client):
    make_user("alice").upload("<img src=x onerror=alert(1)>.txt", b"x")
    login(client, "alice")
    page = client.get("/").text
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in page


def test_an_upload_over_the_limit_is_a_413_json_error(settings):
    from tests.conftest import app_with

    client = app_with(settings, max_upload_bytes=1000).test_client()
    signup(client)
    csrf = CSRF_META.search(client.get("/").text).group(1)
    upload = {"fileName": (io.BytesIO(b"x" * 5000), "big.bin"), "newFormat": "zip"}
    response = client.post("/api/tasks", data=upload, content_type="multipart/form-data",
                           headers={"X-CSRF-Token": csrf})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "request_entity_too_large"
    assert "1000 bytes" in response.json["error"]["message"]


@pytest.mark.parametrize("path", ["/", "/login", "/signup", "/no/such/page"])
def test_pages_send_a_strict_content_security_policy(client, path):
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


@pytest.mark.parametrize("path", ["/login", "/signup", "/no/such/page"])
def test_pages_have_no_inline_script_or_style(client, path):
    html = client.get(path).text
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert "<style" not in html
    assert not re.search(r'\sstyle="', html)
    assert not re.search(r"\son[a-z]+=", html)


def test_dashboard_has_no_inline_script_or_style(client):
    signup(client)
    html = client.get("/").text
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert not re.search(r'\sstyle="', html)
    assert not re.search(r"\son[a-z]+=", html)


def test_unknown_page_is_a_helpful_html_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")
    assert "Page not found" in response.text
    assert 'href="/"' in response.text


def test_unknown_api_path_keeps_the_json_error_shape(client):
    response = client.get("/api/no/such/thing")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_unexpected_errors_are_a_500_page_that_reveals_nothing(app):
    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/explode", view_func=explode)
    app.add_url_rule("/api/explode", view_func=explode)
    client = app.test_client()
    page = client.get("/explode")
    assert page.status_code == 500
    assert "Something went wrong" in page.text
    assert "secret internals" not in page.text
    api = client.get("/api/explode")
    assert api.status_code == 500
    assert api.json == {"error": {"code": "internal_error", "message": "internal server error"}}


def test_wrong_method_on_a_page_is_an_html_405(client):
    response = client.delete("/login")
    assert response.status_code == 405
    assert "text/html" in response.content_type
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    "name, media_type",
    [("app.css", "text/css"), ("dashboard.js", "text/javascript"), ("logo.svg", "image/svg+xml"),
     ("empty.svg", "image/svg+xml")],
)
def test_static_assets_are_served_by_the_app(client, name, media_type):
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.mimetype == media_type


def test_templates_and_static_files_reference_no_other_host():
    """Everything works offline: no CDN, no web font, no analytics."""
    namespaces = {"http://www.w3.org/2000/svg"}
    found = []
    for path in sorted((WEB / "templates").rglob("*")) + sorted((WEB / "static").rglob("*")):
        if path.is_file():
            for url in re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"')]*", path.read_text()):
                if url not in namespaces:
                    found.append(f"{path.name}: {url}")
    assert found == []


def test_an_expired_task_shows_its_badge_and_no_download_links(make_user, client, services):
    import sqlalchemy as sa

    from comprimemelo.domain.models import Task

    user = make_user("alice")
    expired_id = user.upload("old-report.txt", b"x" * 2000).json["id"]
    kept_id = user.upload("fresh.txt", b"y" * 2000).json["id"]
    with services.sessions() as session:
        session.execute(sa.update(Task).where(Task.id == expired_id).values(status="expired"))
        session.commit()
    login(client, "alice")
    page = client.get("/").text
    row = re.search(rf'<tr class="task" data-task-id="{expired_id}".*?</tr>', page, re.S).group(0)
    assert 'data-status="expired"' in row
    assert 'class="badge badge--expired">expired<' in row
    assert "/original" not in row and "/compressed" not in row and "<a " not in row
    assert 'data-action="delete"' in row
    assert f"/api/tasks/{kept_id}/original" in page  # the others keep theirs


def test_dashboard_offers_the_task_options_and_marks_encrypted_many_file_tasks(make_user, client, settings):
    user = make_user("alice")
    created = client.post(
        "/api/tasks",
        data={"fileName": [(io.BytesIO(b"a" * 100), "a.txt"), (io.BytesIO(b"b" * 100), "b.txt")],
              "newFormat": "7z", "password": "a long secret", "level": "smallest"},
        headers=user.headers,
        content_type="multipart/form-data",
    )
    assert created.status_code == 201, created.json
    login(client, "alice")
    page = client.get("/").text
    assert 'class="task__name" title="a.txt + 1 more"' in page
    assert re.search(r'<ul class="task__files"[^>]*>\s*<li title="a.txt">a.txt</li>\s*<li title="b.txt">b.txt</li>', page)
    assert 'role="img" aria-label="encrypted"' in page
    assert '<span class="task__expires" data-datetime=' in page and "in 7 days" in page
    # Options: presets per format, password for zip and 7z only, retention within the maximum.
    assert re.search(r'<option value="7z"[^>]*data-smallest="9"[^>]*data-encryptable', page)
    assert not re.search(r'<option value="tar.gz"[^>]*data-encryptable', page)
    assert '<option value="balanced" selected>Balanced</option>' in page
    assert f'data-max-files-per-task="{settings.max_files_per_task}"' in page
    retention = re.findall(r'<option value="(\d*)"( selected)?>([^<]+)</option>', page)
    assert ("24", "", "1 day") in retention and ("", " selected", "7 days (default)") in retention
    assert ("720", "", "30 days") in retention


def test_retention_choices_stay_within_the_deployment_maximum():
    choices = pages.retention_choices(default_seconds=3 * 86400, max_seconds=10 * 86400)
    assert [(c["hours"], c["label"]) for c in choices] == [
        (24, "1 day"), (None, "3 days"), (168, "7 days"), (240, "10 days")
    ]
    assert [c["hours"] for c in pages.retention_choices(3600, 3600)] == [None]
