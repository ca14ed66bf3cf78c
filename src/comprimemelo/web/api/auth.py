"""``/api/auth``: sign up, log in, log out."""

from __future__ import annotations

from flask import Blueprint

from comprimemelo.domain.errors import InvalidInput
from comprimemelo.services import users
from comprimemelo.web.auth import current_claims, login_required
from comprimemelo.web.context import current_settings, db_session, passwords, tokens
from comprimemelo.web.middleware import ratelimit
from comprimemelo.web.middleware.bodies import json_object

bp = Blueprint("api_auth", __name__, url_prefix="/api/auth")


# Passwords are only ever hashed, so any character is fine in them; every other
# field is stored or looked up, and PostgreSQL refuses NUL in text.
SECRET_FIELDS = frozenset({"password", "password1", "password2"})


def json_fields(*names: str) -> dict[str, str]:
    """The named string fields of a JSON object body.

    :raise UnsupportedMediaType: if the body is not JSON.
    :raise InvalidInput: if it is not an object, a field is missing or not a
        string, or a field other than a password holds a NUL character.
    """
    data = json_object()
    missing = [name for name in names if not isinstance(data.get(name), str) or not data[name]]
    if missing:
        raise InvalidInput(f"missing or non-string field(s): {', '.join(missing)}", code="missing_field")
    with_nul = [name for name in names if name not in SECRET_FIELDS and "\x00" in data[name]]
    if with_nul:
        raise InvalidInput(f"NUL character in field(s): {', '.join(with_nul)}", code="invalid_character")
    return {name: data[name] for name in names}


def user_json(user) -> dict:
    return {"id": user.id, "username": user.username, "email": user.email}


@bp.post("/signup")
def signup():
    fields = json_fields("username", "email", "password1", "password2")
    user = users.signup(db_session(), passwords(), current_settings(), **fields)
    return user_json(user), 201


@bp.post("/login")
def login():
    fields = json_fields("username", "password")
    user = ratelimit.log_in(db_session(), passwords(), fields["username"], fields["password"])
    issuer = tokens()
    return {
        "access_token": issuer.issue(user.id),
        "token_type": "Bearer",
        "expires_in": issuer.ttl_seconds,
    }


@bp.post("/logout")
@login_required
def logout():
    tokens().revoke(current_claims(), db_session())
    return "", 204
