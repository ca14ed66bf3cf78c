"""Control characters in account fields are refused as input, never reach the database."""

from __future__ import annotations

import pytest

from comprimemelo.domain.errors import InvalidInput, Unauthorized
from comprimemelo.services import users
from comprimemelo.services.passwords import Passwords
from tests.conftest import PASSWORD


@pytest.mark.parametrize("email", ["a\x00b@example.com", "ab@exa\x01mple.com", "ab@example.c\x7fom"])
def test_an_email_with_control_characters_is_invalid(services, email):
    with services.sessions() as session, pytest.raises(InvalidInput):
        users.signup(session, Passwords(services.settings), services.settings, username="ctrl", email=email, password1=PASSWORD, password2=PASSWORD)


def test_a_login_with_a_nul_fails_like_any_wrong_login(services):
    with services.sessions() as session, pytest.raises(Unauthorized) as failure:
        users.authenticate(session, Passwords(services.settings), "ali\x00ce", PASSWORD)
    assert failure.value.code == "invalid_credentials"


def test_the_login_form_answers_401_not_503_for_a_nul(client):
    page = client.get("/login")
    token = page.headers.get("Set-Cookie", "")
    assert page.status_code == 200 and token
    import re

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": "ali\x00ce", "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 401
