"""``/api/auth``: sign up, log in, log out."""

from __future__ import annotations

from flask import Blueprint

from comprimemelo.services import users
from comprimemelo.web.api import schemas
from comprimemelo.web.auth import current_claims, login_required
from comprimemelo.web.context import current_settings, db_session, passwords, tokens
from comprimemelo.web.middleware import ratelimit

bp = Blueprint("api_auth", __name__, url_prefix="/api/auth")


def user_json(user) -> dict:
    return {"id": user.id, "username": user.username, "email": user.email}


@bp.post("/signup")
def signup():
    body = schemas.parse(schemas.Signup)
    user = users.signup(db_session(), passwords(), current_settings(), username=body.username, email=body.email,
                        password1=body.password1, password2=body.password2)
    return user_json(user), 201


@bp.post("/login")
def login():
    body = schemas.parse(schemas.Login)
    user = ratelimit.log_in(db_session(), passwords(), body.username, body.password)
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
