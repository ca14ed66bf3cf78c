"""E-mail verification on SQLite and PostgreSQL: sign-up tells nobody who uses
an address, a stranger cannot keep an address from its owner, a signed and
expiring link proves it, and no task mail goes to an unproven address."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from comprimemelo.domain.models import OutboxEvent, User
from comprimemelo.notifications import task_finished_hook
from comprimemelo.services import leases, verification
from tests.conftest import PASSWORD, ApiUser


def signup(client, username: str, email: str):
    return client.post("/api/auth/signup", json={"username": username, "email": email,
                                                 "password1": PASSWORD, "password2": PASSWORD})


def mails_to(services, address: str) -> list[tuple[str, dict]]:
    with services.sessions() as session:
        rows = session.execute(sa.select(OutboxEvent.event_type, OutboxEvent.payload)
                               .where(OutboxEvent.target == address).order_by(OutboxEvent.id)).all()
    return [(kind, json.loads(payload)["data"]) for kind, payload in rows]


def token_of(data: dict) -> str:
    return data["link"].split("token=", 1)[1]


def login_by_email(client, address: str) -> int:
    return client.post("/api/auth/login", json={"username": address, "password": PASSWORD}).status_code


def test_signing_up_with_an_address_in_use_answers_as_any_sign_up(client):
    fresh = signup(client, "first", "shared@example.com")
    again = signup(client, "second", "SHARED@example.com")
    assert fresh.status_code == again.status_code == 201
    assert set(fresh.json) == set(again.json) and again.json["email"] == "SHARED@example.com"


def test_an_unverified_holder_lets_go_and_the_link_proves_the_owner(client, services):
    signup(client, "mallory", "alice@example.com")  # a stranger takes Alice's address first
    signup(client, "alice", "alice@example.com")
    [(_, for_mallory), (_, for_alice)] = mails_to(services, "alice@example.com")
    assert (for_mallory["username"], for_alice["username"]) == ("mallory", "alice")
    verified = client.post("/api/auth/verify-email", json={"token": token_of(for_alice)})
    assert verified.status_code == 200 and verified.json["email_verified"]
    # Mallory's link no longer works: the address is proven by another account.
    late = client.post("/api/auth/verify-email", json={"token": token_of(for_mallory)})
    assert late.status_code == 409 and late.json["error"]["code"] == "email_taken"
    assert login_by_email(client, "alice@example.com") == 200
    with services.sessions() as session:
        by_name = {user.username: user for user in session.scalars(sa.select(User))}
    assert verification.verified(by_name["alice"]) and not verification.holds_address(by_name["mallory"])


def test_a_link_takes_the_address_back_from_an_unverified_account(client, services):
    signup(client, "owner", "mine@example.com")
    signup(client, "squatter", "mine@example.com")  # holds it now, unproven
    [(_, for_owner), _] = mails_to(services, "mine@example.com")
    assert client.post("/api/auth/verify-email", json={"token": token_of(for_owner)}).status_code == 200
    owner = ApiUser.__new__(ApiUser)
    response = client.post("/api/auth/login", json={"username": "mine@example.com", "password": PASSWORD})
    owner.token = response.json["access_token"]
    me = client.get("/api/account", headers={"Authorization": f"Bearer {owner.token}"}).json
    assert me["username"] == "owner" and me["email_verified"]


def test_a_verified_address_gets_a_notice_not_a_link_and_keeps_its_account(client, services, make_user):
    alice = make_user("alice")
    alice.verify_email()
    assert signup(client, "copycat", "alice@example.com").status_code == 201
    kinds = [kind for kind, _ in mails_to(services, "alice@example.com")]
    assert kinds == ["account.verify_email", "account.signup_notice"]
    assert login_by_email(client, "alice@example.com") == 200  # still Alice's
    me = client.get("/api/account", headers=alice.headers).json
    assert me["username"] == "alice" and me["email_verified"]


@pytest.mark.parametrize("token", ["", "garbage", "eyJ1c2VyIjoxfQ.forged.signature"])
def test_forged_links_are_refused(client, token):
    response = client.post("/api/auth/verify-email", json={"token": token})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_verification_link"


def test_an_expired_link_is_refused(client, services, settings):
    from tests.conftest import app_with

    signup(client, "slow", "slow@example.com")
    [(_, data)] = mails_to(services, "slow@example.com")
    time.sleep(2.1)
    strict = app_with(settings, email_verification_seconds=1).test_client()
    response = strict.post("/api/auth/verify-email", json={"token": token_of(data)})
    assert response.status_code == 400 and "expired" in response.json["error"]["message"]


def test_no_task_mail_goes_to_an_unverified_address(services, make_user):
    user = make_user("unproven")
    user.client.put("/api/notifications", json={"email": True}, headers=user.headers)

    def finished_mails() -> int:
        task = user.upload("a.txt", b"x").json
        with services.sessions() as session:
            leases.claim(session, task["id"], "w", lease_seconds=60, max_attempts=3)
            leases.complete(session, task["id"], "w", key="k", size=1)
        task_finished_hook(services.settings, services.sessions)(task["id"], "processed")
        with services.sessions() as session:
            return session.query(OutboxEvent).filter_by(task_id=task["id"], channel="email").count()

    assert finished_mails() == 0
    user.verify_email()
    assert finished_mails() == 1


def test_mail_to_one_address_is_limited_per_hour(client, services, make_user):
    for n in range(7):
        signup(client, f"spam{n}", "victim@example.com")
    assert len(mails_to(services, "victim@example.com")) == services.settings.account_mail_per_hour
    user = make_user("asker")
    for _ in range(services.settings.account_mail_per_hour - 1):
        assert client.post("/api/account/email-verification", headers=user.headers).status_code == 202
    refused = client.post("/api/account/email-verification", headers=user.headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
