"""The web UI: sign-up, log-in and log-out forms, and the dashboard.

Pages are server-rendered; ``static/dashboard.js`` then talks to the REST API
with the session cookie (uploads, live status, deletion). Security rules:

* The session cookie ``comprimemelo_session`` holds the same JWT the API
  issues: HttpOnly, SameSite=Lax, Secure on HTTPS, living as long as the token.
* Forms posted with a session carry ``csrf_token_for(claims)``. The log-in and
  sign-up forms, which have no session yet, use a signed double-submit token:
  a random nonce in the ``comprimemelo_form_csrf`` cookie, and in the form the
  nonce signed with the secret key, so a cross-site form (login CSRF) fails.
* Every page gets a strict Content-Security-Policy: all assets come from
  ``web/ui/static``, no inline script or style, no framing.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from itsdangerous import BadData, URLSafeTimedSerializer

from comprimemelo.domain.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from comprimemelo.domain.models import User
from comprimemelo.services import quotas, users, verification
from comprimemelo.services.tokens import Claims
from comprimemelo.web.auth import CSRF_FIELD, SESSION_COOKIE, csrf_token_for
from comprimemelo.web.context import current_settings, db_connection, db_session, passwords, tokens
from comprimemelo.web import tasklists
from comprimemelo.web.middleware import ratelimit

bp = Blueprint("ui", __name__)

FORM_CSRF_COOKIE = "comprimemelo_form_csrf"
FORM_CSRF_SALT = "comprimemelo.form-csrf"
FORM_CSRF_MAX_AGE_SECONDS = 4 * 3600
FORM_CSRF_NONCE_BYTES = 24
MAX_NONCE_LENGTH = 64
# Tasks a dashboard page shows at first and adds per "Load more": thousands stay on the server.
DASHBOARD_PAGE_SIZE = 50
NEWEST_FIRST = 1  # the list's ``order``
POLL_INTERVAL_MS = 1000
# What "Keep files for" offers, besides the deployment's default.
RETENTION_CHOICE_HOURS = (24, 7 * 24, 30 * 24)
# (unit, seconds, from how many seconds it is used): "in 1 day" for 23.99 hours ahead.
RELTIME_UNITS = (("day", 86400, 22 * 3600), ("hour", 3600, 45 * 60), ("minute", 60, 45))
# Paths answered in JSON, errors included; every other path is a page.
API_PATH_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        # Big uploads on Google Cloud go straight to the bucket's resumable session.
        "connect-src 'self' https://storage.googleapis.com",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Which form field a domain error code belongs next to.
SIGNUP_ERROR_FIELDS = {
    "invalid_username": "username",
    "username_taken": "username",
    "invalid_email": "email",
    "weak_password": "password1",
    "password_mismatch": "password2",
}
FORM_EXPIRED = "This form has expired or did not come from this site. Please try again."

ERROR_TITLES = {
    400: "That request did not work",
    401: "Please log in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    413: "That file is too large",
    429: "Slow down a little",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}
ERROR_HINTS = {
    403: "The form did not carry its security token. Go back, reload the page and try again.",
    404: "The page you asked for does not exist, or it has moved.",
    500: "An unexpected error happened on our side. It has been logged; please try again.",
    503: "A service we depend on is not answering. Please try again in a few seconds.",
}


# --- session and CSRF helpers ------------------------------------------------


def session_claims() -> Claims | None:
    """The claims of a valid session cookie, or ``None`` (missing, expired, revoked)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return tokens().decode(token, db_connection())
    except Unauthorized:
        return None


def _form_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_settings().secret_key, salt=FORM_CSRF_SALT)


def _form_nonce() -> str:
    """This browser's nonce: from its cookie, or a new one set after the request."""
    if "form_nonce" not in g:
        nonce = request.cookies.get(FORM_CSRF_COOKIE, "")
        if not nonce or len(nonce) > MAX_NONCE_LENGTH:
            nonce = secrets.token_urlsafe(FORM_CSRF_NONCE_BYTES)
        g.form_nonce = nonce
    return g.form_nonce


def form_csrf_token() -> str:
    """The token for the log-in and sign-up forms (no session yet)."""
    return _form_serializer().dumps(_form_nonce())


def form_csrf_valid() -> bool:
    """Whether the posted form's token is ours, recent, and matches the cookie."""
    cookie = request.cookies.get(FORM_CSRF_COOKIE, "")
    sent = request.form.get(CSRF_FIELD, "")
    if not cookie or not sent:
        return False
    try:
        nonce = _form_serializer().loads(sent, max_age=FORM_CSRF_MAX_AGE_SECONDS)
    except BadData:
        return False
    return isinstance(nonce, str) and hmac.compare_digest(nonce, cookie)


def _set_cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
        path="/",
    )


def _logged_in_response(user_id: int) -> Response:
    issuer = tokens()
    response = redirect(url_for("ui.dashboard"), code=303)
    _set_cookie(response, SESSION_COOKIE, issuer.issue(user_id), issuer.ttl_seconds)
    return response


def is_api_path(path: str) -> bool:
    return path.startswith(API_PATH_PREFIXES)


@bp.after_app_request
def _security_headers(response: Response) -> Response:
    if not is_api_path(request.path):  # API responses get theirs from ``observability``
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
    nonce = g.get("form_nonce")
    if nonce and request.cookies.get(FORM_CSRF_COOKIE) != nonce:
        _set_cookie(response, FORM_CSRF_COOKIE, nonce, None)
    return response


# --- template helpers ----------------------------------------------------------


@bp.app_template_filter("filesize")
def filesize(size: int | None) -> str:
    """``1536`` -> ``"1.5 KB"`` (powers of 1000, as file managers show)."""
    if size is None:
        return "—"
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


@bp.app_template_filter("saving")
def saving(task: dict) -> str:
    """How much smaller the archive is: ``"−63%"``; ``""`` until it exists."""
    original, compressed = task.get("size_original"), task.get("size_compressed")
    if compressed is None or not original:
        return ""
    change = round((compressed - original) * 100 / original)
    return f"−{-change}%" if change < 0 else f"+{change}%"


@bp.app_template_filter("reltime")
def reltime(iso: str | None, now: dt.datetime | None = None) -> str:
    """``"2024-05-01T10:00:00Z"`` -> ``"5 minutes ago"``, or ``"in 7 days"`` for a
    time ahead (same wording as the JS)."""
    if not iso:
        return ""
    when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    seconds = ((now or dt.datetime.now(dt.timezone.utc)) - when).total_seconds()
    if abs(seconds) < 45:
        return "just now"
    for unit, size, threshold in RELTIME_UNITS:
        if abs(seconds) >= threshold:
            count = round(abs(seconds) / size)
            words = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"{words} ago" if seconds > 0 else f"in {words}"
    return "1 minute ago" if seconds > 0 else "in 1 minute"


def _formats() -> list[dict]:
    """Each format's level range, presets and whether it takes a password, as
    ``GET /api/formats`` describes them."""
    from comprimemelo.compression import ArchiveFormat, Preset

    return [
        {
            "value": fmt.value,
            "low": fmt.level_range[0],
            "high": fmt.level_range[1],
            "presets": {preset.value: fmt.preset_level(preset) for preset in Preset},
            "encryptable": fmt.encryptable,
        }
        for fmt in ArchiveFormat
    ]


def retention_choices(default_seconds: int, max_seconds: int) -> list[dict]:
    """The "Keep files for" options: ``RETENTION_CHOICE_HOURS`` up to the
    deployment's maximum, the maximum itself, and the default (``hours``
    ``None``: nothing is sent, so the server applies its default)."""
    offered = sorted({*RETENTION_CHOICE_HOURS, max_seconds // 3600})
    choices = [
        {"hours": hours, "label": _duration(hours * 3600), "default": False}
        for hours in offered
        if 0 < hours * 3600 <= max_seconds and hours * 3600 != default_seconds
    ]
    choices.append({"hours": None, "label": _duration(default_seconds), "default": True})
    return sorted(choices, key=lambda choice: choice["hours"] or default_seconds / 3600)


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


# --- pages ---------------------------------------------------------------------


@bp.get("/")
def dashboard():
    """The signed-in user's tasks and the upload form; others go to log in."""
    claims = session_claims()
    user = db_session().get(User, claims.user_id) if claims else None
    if user is None:
        response = redirect(url_for("ui.login"))
        if request.cookies.get(SESSION_COOKIE):
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    from comprimemelo.web.api.tasks import task_json

    # The first page as the poll and "Load more" see it: newest first, no filter.
    page = tasklists.read_page(db_connection(), user.id, tasklists.Query(DASHBOARD_PAGE_SIZE, NEWEST_FIRST))
    settings = current_settings()
    from comprimemelo.web.api.account import usage_json

    html = render_template(
        "dashboard.html",
        user=user,
        email_verified=verification.verified(user),
        account_error=request.args.get("account") == "wrong_password",
        usage=usage_json(quotas.usage(db_session(), user.id), quotas.Limits.of(settings))["quotas"],
        tasks=[task_json(task) for task in page.tasks],
        next_url=None if page.next is None else tasklists.url_of(page.next, request.script_root),
        statuses=tasklists.STATUSES,
        csrf_token=csrf_token_for(claims),
        formats=_formats(),
        max_upload_bytes=settings.max_upload_bytes,
        max_files_per_task=settings.max_files_per_task,
        retention_choices=retention_choices(settings.retention_seconds, settings.max_retention_seconds),
        page_size=DASHBOARD_PAGE_SIZE,
        poll_interval_ms=POLL_INTERVAL_MS,
    )
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with a username or an e-mail address."""
    if request.method == "GET":
        if session_claims() is not None:
            return redirect(url_for("ui.dashboard"))
        return _login_page({}, {}, notice=request.args.get("notice"))
    values = {"username": request.form.get("username", "").strip()}
    if not form_csrf_valid():
        return _login_page(values, {"form": FORM_EXPIRED}, status=400)
    password = request.form.get("password", "")
    errors = {}
    if not values["username"]:
        errors["username"] = "Enter your username or e-mail address."
    if not password:
        errors["password"] = "Enter your password."
    if errors:
        return _login_page(values, errors, status=400)
    try:
        user = ratelimit.log_in(db_session(), passwords(), values["username"], password)
    except Unauthorized as error:
        return _login_page(values, {"password": _sentence(error.message)}, status=401)
    return _logged_in_response(user.id)


def _login_page(values: dict, errors: dict, *, status: int = 200, notice: str | None = None):
    html = render_template(
        "login.html", values=values, errors=errors, notice=notice, csrf_token=form_csrf_token()
    )
    return html, status


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Create an account (same rules as the API), then start a session."""
    if request.method == "GET":
        return _signup_page({}, {})
    fields = ("username", "email", "password1", "password2")
    form = {name: request.form.get(name, "") for name in fields}
    form["username"], form["email"] = form["username"].strip(), form["email"].strip()
    values = {"username": form["username"], "email": form["email"]}
    if not form_csrf_valid():
        return _signup_page(values, {"form": FORM_EXPIRED}, status=400)
    try:
        user = users.signup(db_session(), passwords(), current_settings(), **form)
    except (InvalidInput, Conflict) as error:
        field = SIGNUP_ERROR_FIELDS.get(error.code, "form")
        return _signup_page(values, {field: _sentence(error.message)}, status=error.status)
    return _logged_in_response(user.id)


def _signup_page(values: dict, errors: dict, *, status: int = 200):
    html = render_template(
        "signup.html",
        values=values,
        errors=errors,
        csrf_token=form_csrf_token(),
        min_password_length=current_settings().min_password_length,
    )
    return html, status


@bp.post("/logout")
def logout():
    """Revoke the session's token and drop the cookie.

    :raise 403: if the form's CSRF token is missing or wrong.
    """
    claims = session_claims()
    if claims is not None:
        sent = request.form.get(CSRF_FIELD, "")
        if not hmac.compare_digest(sent, csrf_token_for(claims)):
            abort(403, "missing or wrong CSRF token")
        tokens().revoke(claims, db_session())
    response = redirect(url_for("ui.login", notice="logged_out"), code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax")
    return response


@bp.get("/verify-email")
def verify_email():
    """The link from the verification mail: a button confirms (a GET changes
    nothing, so a mail scanner that follows links proves nothing)."""
    token = request.args.get("token", "")
    return render_template("verify_email.html", token=token, csrf_token=form_csrf_token(), verified=None, error=None)


@bp.post("/verify-email")
def confirm_email():
    if not form_csrf_valid():
        return render_template("verify_email.html", verified=None, error=FORM_EXPIRED), 400
    try:
        proven = verification.verify(db_session(), request.form.get("token", ""), current_settings())
    except (InvalidInput, Conflict) as error:
        return render_template("verify_email.html", verified=None, error=_sentence(error.message)), error.status
    return render_template("verify_email.html", verified=proven, error=None)


@bp.post("/account/delete")
def delete_account():
    """The dashboard's "Delete account": the password again, then everything goes.

    :raise 403: if the form's CSRF token is missing or wrong, or the password is.
    """
    from comprimemelo.web.api.account import erase_account

    claims = session_claims()
    if claims is None:
        return redirect(url_for("ui.login"))
    if not hmac.compare_digest(request.form.get(CSRF_FIELD, ""), csrf_token_for(claims)):
        abort(403, "missing or wrong CSRF token")
    try:
        erase_account(claims.user_id, request.form.get("password", ""))
    except Forbidden:
        return redirect(url_for("ui.dashboard", account="wrong_password", _anchor="account"), code=303)
    response = redirect(url_for("ui.login", notice="account_deleted"), code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax")
    return response


def _sentence(message: str) -> str:
    message = message.strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def render_error_page(status: int, code: str, message: str) -> Response:
    """The HTML error page for non-API paths (``web.errors`` decides which)."""
    claims = None
    if status not in (500, 503):  # the database may be the problem: do not touch it
        try:
            claims = session_claims()
        except Exception:  # an error page must render whatever state we are in
            claims = None
    html = render_template(
        "error.html",
        status=status,
        code=code,
        title=ERROR_TITLES.get(status, "Something went wrong"),
        message=ERROR_HINTS.get(status) or _sentence(message),
        logged_in=claims is not None,
    )
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response
