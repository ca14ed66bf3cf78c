"""An unchanged task list is answered in front of Flask (web/middleware/fastlist.py), byte
for byte and header for header as the view answers it; everything else still
reaches Flask."""

import contextlib
import logging
import threading
import time

import flask
import pytest
import sqlalchemy as sa

from comprimemelo import metrics
from comprimemelo.db import turns
from comprimemelo.domain.models import User
from comprimemelo.settings import load_settings
from comprimemelo.web.auth import SESSION_COOKIE
from comprimemelo.web.middleware.fastlist import LIST_ENDPOINT, LIST_PATH
from tests.conftest import CHEAP_ARGON2, TEST_SECRET_KEY, ApiUser, app_with

UNCOMPARED = {"Date"}


@contextlib.contextmanager
def requests_flask_saw(app):
    seen = []

    def started(sender, **_extra):
        seen.append(flask.request.path)

    flask.request_started.connect(started, app)
    try:
        yield seen
    finally:
        flask.request_started.disconnect(started, app)


def served_by_flask_alone(app, method, path, **kwargs):
    """The same request, with the fast path taken out of the way."""
    fast = app.wsgi_app
    app.wsgi_app = fast.flask
    try:
        return app.test_client().open(path, method=method, **kwargs)
    finally:
        app.wsgi_app = fast


def comparable(response):
    headers = sorted((name, value) for name, value in response.headers.items() if name not in UNCOMPARED)
    return response.status_code, headers, response.data


@pytest.fixture
def settings(settings):
    """The fast path is a tuning: these tests need it on, whatever the run's switch."""
    return settings.replace(tuning="on")


@pytest.fixture
def alice(make_user):
    user = make_user("alice")
    for name in ("a.txt", "b.txt", "c.txt"):
        assert user.upload(name, name.encode(), "zip").status_code == 201
    return user


def test_the_fast_path_answers_at_the_route_of_the_list_view(app):
    endpoint, arguments = app.url_map.bind("localhost").match(LIST_PATH, method="GET")
    assert (endpoint, arguments) == (LIST_ENDPOINT, {})


VARIANTS = {
    "bearer": dict(query="", extra={}),
    "newest first, at most 2": dict(query="?order=1&max=2", extra={}),
    "repeated parameters (the first counts)": dict(query="?max=1&max=5&order=0&other=x", extra={}),
    "the client's request id": dict(query="", extra={"X-Request-Id": "client-id-123"}),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_cached_list_is_answered_as_the_view_answers_it(app, alice, variant):
    query, extra = VARIANTS[variant]["query"], VARIANTS[variant]["extra"]
    headers = {**alice.headers, **extra}
    built = alice.client.get(LIST_PATH + query, headers=headers)  # by the view, into the cache
    with requests_flask_saw(app) as seen:
        fast = alice.client.get(LIST_PATH + query, headers=headers)
    assert seen == [], "answered by Flask, not in front of it"
    alone = served_by_flask_alone(app, "GET", LIST_PATH + query, headers=headers)
    assert fast.status_code == 200 and fast.data == built.data
    if "X-Request-Id" in extra:
        assert fast.headers["X-Request-Id"] == alone.headers["X-Request-Id"] == "client-id-123"
    else:  # a fresh id each
        assert fast.headers["X-Request-Id"] != alone.headers["X-Request-Id"]
        del fast.headers["X-Request-Id"], alone.headers["X-Request-Id"]
    assert comparable(fast) == comparable(alone)


def test_the_session_cookie_gets_the_cached_list_too(app, alice):
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, alice.token)
    built = client.get(LIST_PATH + "?order=1")
    with requests_flask_saw(app) as seen:
        fast = client.get(LIST_PATH + "?order=1")
    assert seen == [] and (fast.status_code, fast.data) == (200, built.data)


@pytest.mark.parametrize("sent", ["exact", "weak", "among others", "any"])
def test_a_matching_tag_is_answered_304_as_the_view_answers_it(app, alice, sent):
    etag = alice.client.get(LIST_PATH, headers=alice.headers).headers["ETag"]
    if_none_match = {"exact": etag, "weak": f"W/{etag}", "among others": f'"other", {etag}', "any": "*"}[sent]
    headers = {**alice.headers, "If-None-Match": if_none_match, "X-Request-Id": "client-id-123"}
    with requests_flask_saw(app) as seen:
        fast = alice.client.get(LIST_PATH, headers=headers)
    alone = served_by_flask_alone(app, "GET", LIST_PATH, headers=headers)
    assert seen == [] and fast.status_code == 304 and fast.data == b""
    assert comparable(fast) == comparable(alone)


def test_behind_https_the_answer_carries_hsts_as_the_views_does(app, alice):
    alice.client.get(LIST_PATH, headers=alice.headers, base_url="https://localhost")
    fast = alice.client.get(LIST_PATH, headers=alice.headers, base_url="https://localhost")
    alone = served_by_flask_alone(app, "GET", LIST_PATH, headers=alice.headers, base_url="https://localhost")
    assert fast.headers["Strict-Transport-Security"] == alone.headers["Strict-Transport-Security"]


def test_lists_are_kept_apart_by_mount_prefix(app, alice):
    """Under a prefix the list's links carry it, so it is another body."""
    plain = alice.client.get(LIST_PATH, headers=alice.headers)
    mounted = [alice.client.get(LIST_PATH, headers=alice.headers, base_url="http://localhost/svc/")
               for _ in range(2)]
    assert mounted[0].data == mounted[1].data != plain.data
    assert "/svc/api/tasks/" in mounted[1].json[0]["original_url"]


def test_each_caller_gets_their_own_list(app, alice, make_user):
    bob = make_user("bob")
    bob.upload("bob.txt", b"b", "zip")
    for user in (alice, bob):
        user.client.get(LIST_PATH, headers=user.headers)
    with requests_flask_saw(app) as seen:
        lists = {user.username: alice.client.get(LIST_PATH, headers=user.headers).json for user in (alice, bob)}
    assert seen == []
    assert [task["files"][0]["filename"] for task in lists["alice"]] == ["a.txt", "b.txt", "c.txt"]
    assert [task["files"][0]["filename"] for task in lists["bob"]] == ["bob.txt"]


def test_callers_polling_at_once_each_get_their_own_list(app, alice, make_user):
    """On PostgreSQL concurrent callers are checked in batches (db/batches.py): nobody gets another's list."""
    users = [alice] + [make_user(f"user{number}") for number in range(5)]
    for number, user in enumerate(users[1:]):
        user.upload(f"u{number}.txt", b"u", "zip")
    expected = {user.username: user.client.get(LIST_PATH, headers=user.headers).json for user in users}
    answers: dict[str, list] = {user.username: [] for user in users}
    start = threading.Barrier(len(users))

    def poll(user):
        client = app.test_client()
        start.wait(10)
        for _ in range(15):
            answer = client.get(LIST_PATH, headers=user.headers)
            answers[user.username].append((answer.status_code, answer.json))

    threads = [threading.Thread(target=poll, args=(user,)) for user in users]
    with requests_flask_saw(app) as seen:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert seen == []
    for user in users:
        assert answers[user.username] == [(200, expected[user.username])] * 15


def test_a_changed_list_is_built_again_by_the_view(app, alice):
    alice.client.get(LIST_PATH, headers=alice.headers)
    alice.upload("d.txt", b"d", "zip")
    with requests_flask_saw(app) as seen:
        listed = alice.client.get(LIST_PATH, headers=alice.headers).json
    assert seen == [LIST_PATH] and len(listed) == 4


@pytest.mark.parametrize("case", ["no credentials", "a forged token", "a bad query", "an unknown order", "a text limit"])
def test_what_the_fast_path_cannot_answer_flask_does(app, alice, case):
    headers, query, status = {
        "no credentials": ({}, "", 401),
        "a forged token": ({"Authorization": "Bearer forged"}, "", 401),
        "a bad query": (alice.headers, "?max=0", 400),
        "an unknown order": (alice.headers, "?order=2", 400),
        "a text limit": (alice.headers, "?max=ten", 400),
    }[case]
    alice.client.get(LIST_PATH, headers=alice.headers)  # the list is in the cache
    with requests_flask_saw(app) as seen:
        response = alice.client.get(LIST_PATH + query, headers=headers)
    assert seen == [LIST_PATH]
    assert response.status_code == status and response.json["error"]["code"]


def test_a_revoked_token_is_refused_even_with_its_list_cached(app, alice):
    alice.client.get(LIST_PATH, headers=alice.headers)
    assert alice.client.post("/api/auth/logout", headers=alice.headers).status_code in (200, 204)
    response = alice.client.get(LIST_PATH, headers=alice.headers)
    assert response.status_code == 401 and response.json["error"]["code"] == "token_revoked"


def test_a_deleted_users_token_gets_no_cached_list(app, alice, services):
    cached = alice.client.get(LIST_PATH, headers=alice.headers).data
    with services.sessions() as session:
        session.execute(sa.delete(User).where(User.id == alice.id))
        session.commit()
    with requests_flask_saw(app) as seen:
        response = alice.client.get(LIST_PATH, headers=alice.headers)
    assert seen == [LIST_PATH] and response.data != cached


def test_other_methods_reach_flask(app, alice):
    alice.client.get(LIST_PATH, headers=alice.headers)
    with requests_flask_saw(app) as seen:
        head = alice.client.head(LIST_PATH, headers=alice.headers)
    assert seen == [LIST_PATH] and head.status_code == 200


def test_the_fast_path_gives_its_turn_at_the_database_back(app, alice):
    gate = app.extensions[turns.EXTENSION]
    permits = gate.free
    alice.client.get(LIST_PATH, headers=alice.headers)
    for headers in (alice.headers, {"Authorization": "Bearer forged"}):
        alice.client.get(LIST_PATH, headers=headers)
    assert (gate.free, gate.waiting) == (permits, 0)


def test_no_turn_at_the_database_is_one_wait_then_503(app, alice, monkeypatch):
    gate = app.extensions[turns.EXTENSION]
    alice.client.get(LIST_PATH, headers=alice.headers)
    monkeypatch.setattr(turns, "WAIT_SECONDS", 0.5)
    held = gate.free
    for _ in range(held):
        assert gate.acquire(timeout=0)
    try:
        started = time.monotonic()
        response = alice.client.get(LIST_PATH, headers=alice.headers)
        waited = time.monotonic() - started
    finally:
        for _ in range(held):
            gate.release()
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert 0.5 <= waited < 0.9  # not a second wait in Flask
    assert (gate.free, gate.waiting) == (held, 0)


def test_answers_are_logged_and_counted_like_the_views(app, alice, caplog):
    alice.client.get(LIST_PATH, headers=alice.headers)
    counted = metrics.HTTP_REQUESTS.labels("GET", LIST_PATH, "200")
    before = counted._value.get()
    with caplog.at_level(logging.INFO, logger="comprimemelo.access"):
        alice.client.get(LIST_PATH, headers={**alice.headers, "X-Request-Id": "client-id-123"})
    (line,) = [r for r in caplog.records if r.name == "comprimemelo.access"]
    assert (line.method, line.path, line.status, line.request_id) == ("GET", LIST_PATH, 200, "client-id-123")
    assert counted._value.get() == before + 1


def test_with_cors_enabled_every_list_carries_its_cors_headers(settings):
    """flask-cors adds them, so the list is left to Flask."""
    client = app_with(settings, cors_origins="https://app.example").test_client()
    user = ApiUser(client, "carol")
    user.upload("a.txt", b"a", "zip")
    for _ in range(2):  # built, then from the cache
        response = client.get(LIST_PATH, headers={**user.headers, "Origin": "https://app.example"})
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_behind_the_load_balancer_the_forwarded_scheme_counts(settings):
    """The fast path sits inside ProxyFix: HTTPS at the balancer gets HSTS."""
    client = app_with(settings, proxy_hops=1).test_client()
    user = ApiUser(client, "carol")
    user.upload("a.txt", b"a", "zip")
    forwarded = {**user.headers, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    answers = [client.get(LIST_PATH, headers=forwarded) for _ in range(2)]  # built, then from the cache
    assert answers[0].data == answers[1].data
    assert all(a.headers["Strict-Transport-Security"].startswith("max-age=") for a in answers)


@pytest.mark.postgres
def test_on_postgresql_a_cached_list_is_one_round_trip(postgres_url, tmp_path, monkeypatch):
    """No BEGIN, no ROLLBACK, no ping of a connection just used: the token check alone
    (once its connection has prepared it: pg8000_tuning prepares on a statement's second run)."""
    import pg8000.core

    settings = load_settings({}, data_dir=tmp_path / "data", database_url=postgres_url,
                             secret_key=TEST_SECRET_KEY, **CHEAP_ARGON2)
    client = app_with(settings).test_client()
    user = ApiUser(client, "carol")
    user.upload("a.txt", b"a", "zip")
    built = client.get(LIST_PATH, headers=user.headers)
    assert client.get(LIST_PATH, headers=user.headers).data == built.data  # the check prepared
    exchanges = []
    handle_messages = pg8000.core.CoreConnection.handle_messages

    def counted(self, context):
        exchanges.append(context)
        return handle_messages(self, context)

    monkeypatch.setattr(pg8000.core.CoreConnection, "handle_messages", counted)
    cached = client.get(LIST_PATH, headers=user.headers)
    assert (cached.status_code, cached.data) == (200, built.data)
    assert len(exchanges) == 1
    monkeypatch.undo()
    user.upload("b.txt", b"b", "zip")  # and the connection is back in a transaction's hands
    assert len(client.get(LIST_PATH, headers=user.headers).json) == 2
