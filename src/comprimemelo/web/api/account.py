"""``/api/account``: who the caller is, their quotas, their e-mail address's
verification, and deleting the account."""

from __future__ import annotations

from flask import Blueprint

from comprimemelo.domain.errors import Forbidden, TooManyRequests, Unauthorized
from comprimemelo.domain.models import User
from comprimemelo.domain.timestamps import iso_utc
from comprimemelo.notifications.outbox import MAIL_WINDOW
from comprimemelo.services import accounts, garbage, quotas, verification
from comprimemelo.web.api import schemas
from comprimemelo.web.auth import current_user_id, login_required
from comprimemelo.web.context import (
    backends,
    current_settings,
    database_turn,
    db_session,
    passwords,
    release_database,
)
from comprimemelo.web.middleware import ratelimit

bp = Blueprint("api_account", __name__, url_prefix="/api")


def usage_json(used: quotas.Usage, limits: quotas.Limits) -> dict:
    """Each quota's use and limit (0: none), and when the hourly count starts again."""
    return {
        "quotas": {
            quota.value: {"used": used.of(quota), "limit": getattr(limits, quota.value)} for quota in quotas.Quota
        },
        "hour_resets_at": iso_utc(used.window_ends_at),
    }


def account_json(user: User) -> dict:
    session = db_session()
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "email_verified": verification.verified(user),
        **usage_json(quotas.usage(session, user.id), quotas.Limits.of(current_settings())),
    }


@bp.get("/account")
@login_required
def get_account():
    return account_json(db_session().get(User, current_user_id()))


@bp.post("/account/email-verification")
@login_required
def send_verification():
    """Send the caller's address a new verification link (202).

    :raise 409: if it is verified already.
    :raise 429: if the address had its hour's share of mail.
    """
    session = db_session()
    user = session.get(User, current_user_id())
    if not verification.send_link(session, user, current_settings()):
        seconds = int(MAIL_WINDOW.total_seconds())
        raise TooManyRequests("this address had enough mail this hour; try again later", retry_after=seconds)
    session.commit()
    return {"sent": True, "email": user.email}, 202


@bp.post("/auth/verify-email")
def verify_email():
    """The link's token proves the address (no log-in needed: the link is the proof)."""
    token = schemas.parse(schemas.VerifyEmail).token
    proven = verification.verify(db_session(), token, current_settings())
    return {"id": proven.user_id, "email": proven.email, "email_verified": True}


@bp.delete("/account")
@login_required
def delete_account():
    """Delete the account and everything of it, given its password again.

    :raise 403: on a wrong password (counted like a failed log-in).
    """
    erase_account(current_user_id(), schemas.parse(schemas.DeleteAccount).password)
    return "", 204


def erase_account(user_id: int, password: str) -> None:
    """The API's and the page's deletion: check the password, delete, clean storage.

    :raise Forbidden: on a wrong password.
    """
    session = db_session()
    user = session.get(User, user_id)
    try:
        ratelimit.log_in(session, passwords(), user.username, password)
    except Unauthorized:
        raise Forbidden("wrong password: the account was not deleted", code="wrong_password") from None
    release_database()
    leftovers = accounts.delete_account(database_turn, user.id)
    garbage.collect(database_turn, backends().storage, ids=leftovers)
