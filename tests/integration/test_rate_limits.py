"""Sign-up and log-in limits: per address for every attempt, per account for failures."""

from __future__ import annotations

import pytest

from comprimemelo import db
from comprimemelo.bootstrap import build_web, open_backends
from tests.conftest import PASSWORD


@pytest.fixture
def limited(settings):
    """A client of an app with small limits, so tests reach them quickly."""
    settings = settings.replace(
        signup_rate_limit="3/minute",
        login_rate_limit="6/minute",
        login_failure_rate_limit="2/minute",
    )
    services = open_backends(settings)
    db.upgrade(services.engine, settings)
    app = build_web(services.settings, backends=services)
    yield app.test_client()
    services.close()


def signup(client, name, address="192.0.2.1"):
    return client.post(
        "/api/auth/signup",
        json={"username": name, "email": f"{name}@example.com", "password1": PASSWORD, "password2": PASSWORD},
        environ_base={"REMOTE_ADDR": address},
    )


def login(client, name, password=PASSWORD, address="192.0.2.1"):
    return client.post(
        "/api/auth/login", json={"username": name, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def assert_limited(response):
    assert response.status_code == 429
    assert response.json["error"]["code"] == "too_many_requests"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_signups_from_one_address_are_limited(limited):
    assert [signup(limited, f"user{i}").status_code for i in range(3)] == [201, 201, 201]
    assert_limited(signup(limited, "user3"))
    assert signup(limited, "user4", address="192.0.2.99").status_code == 201


def test_failed_logins_lock_the_account_not_the_owner_forever(limited):
    assert signup(limited, "alice").status_code == 201
    assert login(limited, "alice", "wrong password 1", address="198.51.100.1").status_code == 401
    # By e-mail (any case) it is the same account: the second failure counts too.
    assert login(limited, "ALICE@example.com", "wrong password 2", address="198.51.100.2").status_code == 401
    # The account is now limited from any address, by either name, even with the right password...
    assert_limited(login(limited, "alice@example.com", address="198.51.100.3"))
    assert_limited(login(limited, "alice", address="198.51.100.3"))
    # ...while other accounts are not.
    assert signup(limited, "bob", address="198.51.100.4").status_code == 201
    assert login(limited, "bob", address="198.51.100.4").status_code == 200


def test_successful_logins_do_not_count_against_the_account(limited):
    assert signup(limited, "carol").status_code == 201
    for address in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        assert login(limited, "carol", address=address).status_code == 200


def test_logins_from_one_address_are_limited(limited):
    assert signup(limited, "dave").status_code == 201
    assert [login(limited, "dave").status_code for _ in range(6)] == [200] * 6
    assert_limited(login(limited, "dave"))


def test_the_web_forms_share_the_limits(limited):
    for i in range(3):
        assert signup(limited, f"form{i}").status_code == 201
    page = limited.post("/signup", data={"username": "form3"}, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert page.status_code == 429
    assert page.mimetype == "text/html" and "Retry-After" in page.headers


def test_limits_can_be_switched_off(settings):
    app = build_web(settings.replace(rate_limits="off", signup_rate_limit="1/minute"))
    db.upgrade(app.extensions["comprimemelo"].engine, app.extensions["comprimemelo"].settings)
    client = app.test_client()
    assert [signup(client, f"free{i}").status_code for i in range(3)] == [201, 201, 201]


def test_behind_the_load_balancer_the_client_address_counts(settings):
    """With two trusted proxy hops, the limit follows the address the load
    balancer saw, not the balancer's own, and a forged first hop changes nothing."""
    app = build_web(settings.replace(proxy_hops=2, signup_rate_limit="1/minute"))
    db.upgrade(app.extensions["comprimemelo"].engine, app.extensions["comprimemelo"].settings)
    client = app.test_client()

    def via_balancer(name, client_address, forged=""):
        chain = ", ".join(filter(None, [forged, client_address, "34.120.0.1"]))
        return client.post(
            "/api/auth/signup",
            json={"username": name, "email": f"{name}@example.com", "password1": PASSWORD, "password2": PASSWORD},
            headers={"X-Forwarded-For": chain, "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "35.191.0.10"},
        )

    first = via_balancer("lb1", "192.0.2.1")
    assert first.status_code == 201
    assert first.headers["Strict-Transport-Security"].startswith("max-age=")
    assert via_balancer("lb2", "192.0.2.2").status_code == 201
    assert_limited(via_balancer("lb3", "192.0.2.1", forged="10.9.9.9"))


def test_failures_on_names_of_no_account_are_counted_under_a_fixed_size_key(limited):
    """A stranger's names cost the limiter a digest each, however long they are."""
    from comprimemelo.web.middleware.ratelimit import account_key

    long_name = "x" * 10_000
    assert login(limited, long_name, "wrong password 1", address="198.51.100.7").status_code == 401
    assert login(limited, long_name.upper(), "wrong password 2", address="198.51.100.8").status_code == 401
    assert_limited(login(limited, long_name, "wrong password 3", address="198.51.100.9"))
    assert account_key(None, long_name) == account_key(None, f"  {long_name.upper()} ")
    assert len(account_key(None, long_name)) == len(account_key(None, "ab")) < 64


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/signup"])
def test_an_oversized_auth_body_is_refused_before_it_is_read(limited, path):
    response = limited.post(path, json={"username": "u" * 80_000, "password": "p"},
                            environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "request_entity_too_large"
    assert "16384" in response.json["error"]["message"]


@pytest.mark.parametrize("path", ["/login", "/signup"])
def test_an_oversized_form_is_refused_before_it_is_read(limited, path):
    response = limited.post(path, data={"username": "u" * 80_000, "password": "p"},
                            environ_base={"REMOTE_ADDR": "198.51.100.21"})
    assert response.status_code == 413
