"""Who is calling: a Bearer token (API clients) or the session cookie (browser).

The cookie carries the same JWT. Because browsers send cookies on their own,
a state-changing request authenticated by the cookie must also carry the CSRF
token (``X-CSRF-Token`` header or ``csrf_token`` form field), an HMAC of the
token's id that only our pages know.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from flask import g, request

from comprimemelo.domain.errors import Unauthorized
from comprimemelo.services.tokens import Caller, Claims
from comprimemelo.web.context import current_settings, db_connection, tokens

SESSION_COOKIE = "comprimemelo_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token_for(claims: Claims) -> str:
    key = current_settings().secret_key.encode()
    return hmac.new(key, f"csrf:{claims.jti}".encode(), hashlib.sha256).hexdigest()


def bearer_token() -> str | None:
    return bearer_of(request.headers.get("Authorization", ""))


def bearer_of(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header's value."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def current_claims() -> Claims:
    """The verified claims of the caller, cached on ``g``.

    :raise Unauthorized: if no valid credentials came, or the CSRF check fails.
    """
    return _current_caller().claims


def current_tasks_version() -> int:
    """The caller's task-list version, read when their token was checked."""
    return _current_caller().tasks_version


def _current_caller() -> Caller:
    if "caller" in g:
        return g.caller
    token = bearer_token()
    via_cookie = False
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        via_cookie = token is not None
    if not token:
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'")
    caller = tokens().authenticate(token, db_connection())
    claims = caller.claims
    if via_cookie and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
        if not hmac.compare_digest(sent, csrf_token_for(claims)):
            raise Unauthorized("missing or wrong CSRF token", code="csrf_failed")
    g.caller = caller
    return caller


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        current_claims()
        return view(*args, **kwargs)

    return wrapper


def current_user_id() -> int:
    return current_claims().user_id
