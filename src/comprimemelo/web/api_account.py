"""``/api/account``: who the caller is, what they use against their quotas."""

from __future__ import annotations

from flask import Blueprint

from comprimemelo import quotas
from comprimemelo.models import User
from comprimemelo.timestamps import iso_utc
from comprimemelo.web.auth import current_user_id, login_required
from comprimemelo.web.context import db_session, services

bp = Blueprint("api_account", __name__, url_prefix="/api")


def usage_json(used: quotas.Usage, limits: quotas.Limits) -> dict:
    """Each quota's use and limit (0: none), and when the hourly count starts again."""
    return {
        "quotas": {
            quota.value: {"used": used.of(quota), "limit": getattr(limits, quota.value)} for quota in quotas.Quota
        },
        "hour_resets_at": iso_utc(used.window_ends_at),
    }


@bp.get("/account")
@login_required
def get_account():
    session = db_session()
    user = session.get(User, current_user_id())
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        **usage_json(quotas.usage(session, user.id), quotas.Limits.of(services().settings)),
    }
