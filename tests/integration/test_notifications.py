"""Notifications on the real database: settings API, SSRF guard, the outbox,
webhooks to a real local HTTP receiver, e-mail to a real SMTP server and to
the embedded maildir."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from comprimemelo.bootstrap import build_web
from comprimemelo.domain.errors import InvalidInput
from comprimemelo.domain.models import NotificationSettings, OutboxEvent, Task
from comprimemelo.notifications import Sender, attach_task_webhook, signing, task_finished_hook, validate_task_webhook
from comprimemelo.notifications import sender as sender_module
from comprimemelo.notifications.targets import UnsafeTarget, non_public_reason, validate_webhook_url
from comprimemelo.services import leases
from comprimemelo.settings import Settings
from tests.conftest import ApiUser, require_or_skip
from tests.mail import CONFIRM_SUBJECT, task_mail
from tests.processes import free_port

DEADLINE_SECONDS = 20
FAST_RETRY_SECONDS = 0.05


class Receiver:
    """A real HTTP server in a thread: answers each POST with the next status of
    ``script`` (the last one repeats) and keeps what it received."""

    def __init__(self, script: list[int], secret: str | None = None) -> None:
        self.script = list(script)
        self.secret = secret
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    index = len(receiver.requests)
                    receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                    status = receiver.script[min(index, len(receiver.script) - 1)]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/comprimemelo"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def verified(self, request: dict, secret: str) -> bool:
        """Signed both ways: the Standard Webhooks library accepts it, and the deprecated header."""
        Webhook(secret).verify(request["body"], request["headers"])
        return signing.verify(secret, request["body"], request["headers"][signing.SIGNATURE_HEADER])

    def wait_for(self, count: int, timeout: float = DEADLINE_SECONDS) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"{count} request(s) expected, got {len(self.requests)}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory():
    made: list[Receiver] = []

    def make(script: list[int]) -> Receiver:
        made.append(Receiver(script))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def settings(settings):
    """The receiver listens on loopback: let webhooks reach it (the SSRF tests turn this off)."""
    return settings.replace(webhook_allow_private="on", public_url="https://compress.example.com")


def strict_client(services):
    """A client of an app whose SSRF guard is on, over the same database."""
    strict = dataclasses.replace(services, settings=services.settings.replace(webhook_allow_private="off"))
    app = build_web(strict.settings, backends=strict)
    app.config["TESTING"] = True
    return app.test_client()


def finish(services, task_id: int, status: str = "processed") -> None:
    """Mark the task finished the way the worker does, then call the worker's hook."""
    with services.sessions() as session:
        leases.claim(session, task_id, "worker-1", lease_seconds=60, max_attempts=3)
        if status == "processed":
            assert leases.complete(session, task_id, "worker-1", key="archive-key", size=5)
        else:
            assert leases.fail(session, task_id, "worker-1", error="CompressionError: broken input")
    task_finished_hook(services.settings, services.sessions)(task_id, status)


def sender_for(services, **settings_changes) -> Sender:
    return Sender(
        services.settings.replace(**settings_changes), services.sessions, retry_base_seconds=FAST_RETRY_SECONDS
    )


def deliver_until(sender: Sender, services, task_id: int, states: set[str], timeout: float = DEADLINE_SECONDS):
    """Run the sender's passes until every event of the task is in ``states``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sender.deliver_due()
        with services.sessions() as session:
            found = session.query(OutboxEvent).filter_by(task_id=task_id).all()
        if found and all(event.state in states for event in found):
            return found
        time.sleep(0.02)
    raise AssertionError(f"events of task {task_id} not {states}: {[(e.scope, e.state) for e in found]}")


def assert_schema(body, name: str) -> None:
    """``body`` is what the OpenAPI schema ``name`` says."""
    import jsonschema

    from comprimemelo.web.api.openapi.notifications import SCHEMAS

    jsonschema.Draft202012Validator(SCHEMAS[name]).validate(body)


def set_webhook(user: ApiUser, url: str | None):
    return user.client.put("/api/notifications", json={"webhook_url": url}, headers=user.headers)


def test_settings_start_off_and_the_secret_is_shown_once(make_user):
    user = make_user()
    response = user.client.get("/api/notifications", headers=user.headers)
    assert response.status_code == 200
    assert response.json == {
        "email": False, "webhook_url": None, "webhook_secret_set": False, "webhook_disabled": False,
        "webhook_disabled_at": None, "webhook_disabled_reason": None,
    }
    assert_schema(response.json, "NotificationSettings")
    first = set_webhook(user, "https://hooks.example.com/x")
    assert_schema(first.json, "NotificationSettings")
    assert first.status_code == 200 and first.json["webhook_secret"].startswith("whsec_")
    again = set_webhook(user, "https://hooks.example.com/y")
    assert "webhook_secret" not in again.json and again.json["webhook_secret_set"]
    shown = user.client.get("/api/notifications", headers=user.headers).json
    assert "webhook_secret" not in shown and shown["webhook_url"] == "https://hooks.example.com/y"
    rotated = user.client.post("/api/notifications/webhook-secret", headers=user.headers)
    assert rotated.status_code == 200 and rotated.json["webhook_secret"] != first.json["webhook_secret"]
    assert_schema(rotated.json, "WebhookSecret")
    off = user.client.put("/api/notifications", json={"email": True, "webhook_url": None}, headers=user.headers)
    assert off.json["email"] is True and off.json["webhook_url"] is None


BAD_SETTINGS = [
    ({"email": "yes"}, "invalid_field"),
    ({"webhook": "https://x.example.com"}, "invalid_field"),
    ([1, 2], "invalid_json"),
    ({"webhook_url": 5}, "invalid_field"),
]


def test_settings_api_refuses_bad_requests(client, make_user):
    assert client.get("/api/notifications").status_code == 401
    alice, bob = make_user("alice"), make_user("bob")
    for body, code in BAD_SETTINGS:
        response = alice.client.put("/api/notifications", json=body, headers=alice.headers)
        assert (response.status_code, response.json["error"]["code"]) == (400, code), body
    assert alice.client.put("/api/notifications", data="email=1", headers=alice.headers).status_code == 415
    task = alice.upload("a.txt", b"x").json
    assert bob.client.get(f"/api/tasks/{task['id']}/notifications", headers=bob.headers).status_code == 404
    assert bob.client.get("/api/tasks/99999999999/notifications", headers=bob.headers).status_code == 404


REFUSED_URLS = [
    "http://127.0.0.1/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://169.254.169.254/computeMetadata/v1/",
    "http://[::1]:8080/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://localhost:8000/api/tasks",
    "ftp://hooks.example.com/x",
    "https://user:secret@hooks.example.com/x",
    "https://",
]


def test_webhooks_to_private_or_odd_targets_are_refused(services, make_user):
    make_user()
    client = strict_client(services)
    token = client.post("/api/auth/login", json={"username": "alice", "password": "correct horse battery"})
    headers = {"Authorization": f"Bearer {token.json['access_token']}"}
    for url in REFUSED_URLS:
        response = client.put("/api/notifications", json={"webhook_url": url}, headers=headers)
        assert response.status_code == 400, (url, response.json)
        assert response.json["error"]["code"] == "invalid_webhook_url", url
    assert client.get("/api/notifications", headers=headers).json["webhook_url"] is None


def test_public_address_is_accepted_when_the_guard_is_on():
    strict = Settings(webhook_allow_private="off")
    assert validate_webhook_url("https://93.184.216.34/hook", strict)
    assert non_public_reason(__import__("ipaddress").ip_address("2606:4700::1")) is None
    with pytest.raises(UnsafeTarget):
        validate_webhook_url("http://100.64.0.1/", strict)  # carrier-grade NAT


def test_failed_then_ok_webhook_is_retried_and_signed(services, make_user, receiver_factory):
    receiver = receiver_factory([500, 503, 200])
    user = make_user()
    secret = set_webhook(user, receiver.url).json["webhook_secret"]
    task = user.upload("report.txt", b"hello " * 100).json
    finish(services, task["id"])
    [event] = deliver_until(sender_for(services), services, task["id"], {"delivered"})
    assert event.attempts == 3 and event.channel == "webhook" and event.scope == "user"
    requests = receiver.wait_for(3)
    assert all(receiver.verified(request, secret) for request in requests)
    assert {r["headers"][signing.EVENT_ID_HEADER] for r in requests} == {event.event_id}
    assert {r["headers"]["webhook-id"] for r in requests} == {event.event_id}
    assert len({r["body"] for r in requests}) == 1  # the same bytes every time
    assert requests[0]["path"] == "/hooks/comprimemelo"
    body = json.loads(requests[-1]["body"])
    assert body["type"] == "task.processed" and body["id"] == event.event_id
    assert body["data"]["task"]["id"] == task["id"] and body["data"]["task"]["status"] == "processed"
    assert body["data"]["task"]["compressed_url"] == f"https://compress.example.com/api/tasks/{task['id']}/compressed"
    shown = user.client.get(f"/api/tasks/{task['id']}/notifications", headers=user.headers).json
    assert_schema(shown, "TaskNotifications")
    assert_schema(body, "TaskEvent")
    assert [(e["channel"], e["state"], e["attempts"]) for e in shown["events"]] == [("webhook", "delivered", 3)]
    assert shown["events"][0]["last_error"] is None  # cleared once delivered


def test_a_tampered_or_stale_signature_does_not_verify():
    body = b'{"id":"evt_1"}'
    header = signing.signature_header("whsec_k", body)
    assert signing.verify("whsec_k", body, header)
    assert not signing.verify("whsec_k", body + b" ", header)
    assert not signing.verify("whsec_other", body, header)
    old = signing.signature_header("whsec_k", body, timestamp=int(time.time()) - 301)
    assert not signing.verify("whsec_k", body, old)
    assert not signing.verify("whsec_k", body, "v1=abc")


def test_a_secret_made_before_the_standard_still_signs_real_deliveries(services, make_user, receiver_factory):
    receiver = receiver_factory([200])
    user = make_user()
    set_webhook(user, receiver.url)
    legacy = "whsec_" + "Ab-_" * 10 + "x9Z"  # token_urlsafe(32)'s shape: 43 URL-safe characters
    with services.sessions() as session:
        session.get(NotificationSettings, user.id).webhook_secret = legacy
        session.commit()
    task = user.upload("a.txt", b"x").json
    finish(services, task["id"])
    deliver_until(sender_for(services), services, task["id"], {"delivered"})
    [request] = receiver.wait_for(1)
    assert signing.verify(legacy, request["body"], request["headers"][signing.SIGNATURE_HEADER])
    assert Webhook(legacy.encode()).verify(request["body"], request["headers"])["id"] == request["headers"]["webhook-id"]
    with pytest.raises(WebhookVerificationError):  # the library decodes it to other bytes: rotate, or pass it raw
        Webhook(legacy).verify(request["body"], request["headers"])
    rotated = user.client.post("/api/notifications/webhook-secret", headers=user.headers).json["webhook_secret"]
    later = user.upload("b.txt", b"y").json
    finish(services, later["id"])
    deliver_until(sender_for(services), services, later["id"], {"delivered"})
    assert receiver.verified(receiver.wait_for(2)[1], rotated)


def test_repeated_410_disables_the_webhook_and_the_api_says_so(services, make_user, receiver_factory):
    receiver = receiver_factory([410])
    user = make_user()
    set_webhook(user, receiver.url)
    task = user.upload("a.txt", b"x").json
    finish(services, task["id"])
    [event] = deliver_until(sender_for(services, webhook_disable_after_gone=3), services, task["id"], {"failed"})
    assert event.attempts == 3 and "410" in event.last_error
    assert len(receiver.wait_for(3)) == 3
    shown = user.client.get("/api/notifications", headers=user.headers).json
    assert_schema(shown, "NotificationSettings")
    assert shown["webhook_disabled"] is True and "410" in shown["webhook_disabled_reason"]
    later = user.upload("b.txt", b"y").json
    finish(services, later["id"])
    with services.sessions() as session:
        assert session.query(OutboxEvent).filter_by(task_id=later["id"]).count() == 0
    # Setting the URL again turns it back on.
    assert set_webhook(user, receiver.url).json["webhook_disabled"] is False


def test_other_4xx_is_not_retried_and_5xx_gives_up_after_max_attempts(services, make_user, receiver_factory):
    user = make_user()
    rejecting = receiver_factory([400])
    set_webhook(user, rejecting.url)
    task = user.upload("a.txt", b"x").json
    finish(services, task["id"])
    [event] = deliver_until(sender_for(services), services, task["id"], {"failed"})
    assert event.attempts == 1 and "HTTP 400" in event.last_error
    broken = receiver_factory([500])
    set_webhook(user, broken.url)
    other = user.upload("b.txt", b"x").json
    finish(services, other["id"], "failed")
    [event] = deliver_until(sender_for(services, webhook_max_attempts=4), services, other["id"], {"failed"})
    assert event.attempts == 4 and len(broken.wait_for(4)) == 4
    assert json.loads(broken.requests[0]["body"])["type"] == "task.failed"


def test_an_address_that_became_private_is_refused_at_send_time(services, make_user, receiver_factory):
    receiver = receiver_factory([200])
    user = make_user()
    set_webhook(user, receiver.url)  # allowed when registered
    task = user.upload("a.txt", b"x").json
    finish(services, task["id"])
    [event] = deliver_until(sender_for(services, webhook_allow_private="off"), services, task["id"], {"failed"})
    assert "loopback" in event.last_error and event.attempts == 1
    assert receiver.requests == []


def test_a_task_webhook_is_signed_with_the_owners_secret(services, make_user, receiver_factory):
    receiver = receiver_factory([200])
    user = make_user()
    task = user.upload("a.txt", b"x").json
    with services.sessions() as session:
        with pytest.raises(InvalidInput, match="secret"):
            validate_task_webhook(session, user.id, receiver.url, services.settings)
    secret = user.client.post("/api/notifications/webhook-secret", headers=user.headers).json["webhook_secret"]
    with services.sessions() as session:
        url = validate_task_webhook(session, user.id, receiver.url, services.settings)
        attach_task_webhook(session, session.get(Task, task["id"]), url)
        session.commit()
    finish(services, task["id"])
    [event] = deliver_until(sender_for(services), services, task["id"], {"delivered"})
    assert event.scope == "task"
    assert receiver.verified(receiver.wait_for(1)[0], secret)
    shown = user.client.get(f"/api/tasks/{task['id']}/notifications", headers=user.headers).json
    assert_schema(shown, "TaskNotifications")
    assert shown["webhook"]["url"] == receiver.url and shown["webhook"]["disabled"] is False
    # Deleting the task deletes its webhook and its events with it.
    assert user.client.delete(f"/api/tasks/{task['id']}", headers=user.headers).status_code == 204
    with services.sessions() as session:
        assert session.query(OutboxEvent).filter_by(task_id=task["id"]).count() == 0


def test_email_lands_in_the_maildir_in_embedded_mode(services, make_user):
    user = make_user()
    user.verify_email()
    user.client.put("/api/notifications", json={"email": True}, headers=user.headers)
    task = user.upload("report.txt", b"hello").json
    finish(services, task["id"])
    [event] = deliver_until(sender_for(services), services, task["id"], {"delivered"})
    assert event.channel == "email" and event.target == "alice@example.com"
    [message] = task_mail(services.settings.data_dir.resolve() / "mail")
    assert message["To"] == "alice@example.com"
    assert "report.txt is ready" in message["Subject"]
    assert f"https://compress.example.com/api/tasks/{task['id']}/compressed" in message.get_payload()


def test_email_goes_through_a_real_smtp_server(services, make_user):
    try:
        from aiosmtpd import controller as controller_module
        from aiosmtpd.handlers import Message as MessageHandler
    except ImportError:
        require_or_skip("aiosmtpd is not installed (pip install -e '.[test]')")

    received = []

    class Collect(MessageHandler):
        def handle_message(self, message):
            received.append(message)

    port = free_port()
    controller = controller_module.Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        user = make_user()
        user.verify_email()
        user.client.put("/api/notifications", json={"email": True}, headers=user.headers)
        task = user.upload("broken.bin", b"x").json
        finish(services, task["id"], "failed")
        sender = sender_for(services, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls="off")
        deliver_until(sender, services, task["id"], {"delivered"})
    finally:
        controller.stop()
    [message] = [mail for mail in received if CONFIRM_SUBJECT not in mail["Subject"]]
    assert message["To"] == "alice@example.com" and "could not be compressed" in message["Subject"]
    assert "CompressionError: broken input" in message.get_payload()


def test_recording_is_idempotent_and_the_sweep_recovers_a_missed_one(services, make_user, monkeypatch):
    user = make_user()
    user.verify_email()
    user.client.put("/api/notifications", json={"email": True}, headers=user.headers)
    task = user.upload("a.txt", b"x").json
    finish(services, task["id"])
    task_finished_hook(services.settings, services.sessions)(task["id"], "processed")
    missed = user.upload("b.txt", b"x").json
    with services.sessions() as session:  # finished, but the worker died before its hook
        leases.claim(session, missed["id"], "w", lease_seconds=60, max_attempts=3)
        leases.complete(session, missed["id"], "w", key="k", size=1)
    monkeypatch.setattr(sender_module, "RECOVERY_GRACE", sender_module.dt.timedelta(0))
    sender_for(services).sweep()
    with services.sessions() as session:
        assert session.query(OutboxEvent).filter_by(task_id=task["id"]).count() == 1
        assert session.query(OutboxEvent).filter_by(task_id=missed["id"]).count() == 1


def test_the_openapi_document_describes_notifications_and_the_webhook_event():
    from openapi_spec_validator import validate

    from comprimemelo.web.api.openapi import openapi_document

    document = openapi_document()
    validate(document)
    assert {"/api/notifications", "/api/notifications/webhook-secret", "/api/tasks/{task_id}/notifications"} <= set(
        document["paths"]
    )
    assert "taskFinished" in document["webhooks"]
    upload = document["paths"]["/api/tasks"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "webhookUrl" in upload["properties"]


def test_the_documented_verification_recipe_accepts_our_signatures():
    import pathlib
    import re

    docs = pathlib.Path(__file__).parents[2] / "docs" / "notifications.md"
    recipe = re.search(r"```python\n(import hashlib.*?)```", docs.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(recipe, namespace)  # noqa: S102 - our own documentation
    verify = namespace["verify_comprimemelo_signature"]
    body = b'{"id":"evt_1","type":"task.processed"}'
    assert verify("whsec_k", body, signing.signature_header("whsec_k", body))
    assert not verify("whsec_k", body + b"x", signing.signature_header("whsec_k", body))
    assert not verify("whsec_k", body, signing.signature_header("whsec_k", body, int(time.time()) - 400))


def test_a_file_name_with_line_separators_still_gets_its_email(services, make_user):
    """Names stored before uploads dropped U+2028/U+2029 (or any a header breaks on) reach the subject cleaned."""
    import sqlalchemy as sa

    from comprimemelo.domain.models import TaskFile

    user = make_user()
    user.verify_email()
    user.client.put("/api/notifications", json={"email": True}, headers=user.headers)
    task = user.upload("report.txt", b"hello").json
    with services.engine.begin() as connection:
        connection.execute(sa.update(TaskFile).where(TaskFile.task_id == task["id"])
                           .values(filename="a\u2028b\u2029c\x85d\x1ce\re\n.txt"))
    finish(services, task["id"])
    [event] = deliver_until(sender_for(services), services, task["id"], {"delivered", "failed"})
    assert event.state == "delivered", event.last_error
    [message] = task_mail(services.settings.data_dir.resolve() / "mail")
    assert message["Subject"] == "comprimemelo: a b c d e e .txt is ready (zip)"


def test_an_event_no_attempt_can_send_settles_as_failed_with_its_reason(services, make_user):
    import sqlalchemy as sa

    user = make_user()
    user.verify_email()
    user.client.put("/api/notifications", json={"email": True}, headers=user.headers)
    task = user.upload("report.txt", b"hello").json
    finish(services, task["id"])
    with services.engine.begin() as connection:
        connection.execute(sa.update(OutboxEvent).where(OutboxEvent.task_id == task["id"]).values(payload="{not json"))
    [event] = deliver_until(sender_for(services), services, task["id"], {"delivered", "failed"}, timeout=5)
    assert event.state == "failed" and event.attempts == 1
    assert event.last_error.startswith("internal error: JSONDecodeError")
