"""E-mail addresses: who holds one, and proving it by a signed, expiring link.

An address is held by one account at a time (``users.email_lower`` is
unique); log-in by e-mail finds that account, and mail goes to it only once
its holder proved it (``email_verified_at``). Sign-up never tells who else
uses an address, and never lets a stranger keep one from its owner:

- a free address, or one an unverified account holds: the new account holds
  it (the other one lets go) and is sent a verification link;
- one a verified account holds: the new account holds none and the address
  is sent a notice instead (someone tried to sign up with it).

The same answer (``201``) either way. A link proves its clicker reads the
address's mail, so it takes the address back from an unverified account that
took it meanwhile, but never from a verified one. Mail to one address about
its account is limited to ``account_mail_per_hour``.
"""

from __future__ import annotations

import dataclasses
import secrets

import sqlalchemy as sa
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from comprimemelo.domain.errors import Conflict, InvalidInput
from comprimemelo.domain.models import User, utcnow
from comprimemelo.notifications import events, outbox
from comprimemelo.notifications.events import public_base_url
from comprimemelo.settings import Settings

SALT = "comprimemelo.verify-email"
# ``users.email_lower`` of an account that holds no address: no "@", unique.
UNHELD_PREFIX = "unheld:"
VERIFY_PATH = "/verify-email"


class LinkInvalid(InvalidInput):
    code = "invalid_verification_link"


def holds_address(user: User) -> bool:
    return not user.email_lower.startswith(UNHELD_PREFIX)


def verified(user: User) -> bool:
    """Whether mail may go to the user's address."""
    return user.email_verified_at is not None and holds_address(user)


def _unheld() -> str:
    return UNHELD_PREFIX + secrets.token_hex(16)


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=SALT)


def make_token(user: User, settings: Settings) -> str:
    return _serializer(settings).dumps({"user": user.id, "email": user.email.lower()})


def claim_for_signup(session: Session, address: str) -> tuple[str, User | None]:
    """What a new account's ``email_lower`` is, and the verified holder of the
    address if it has one (who gets a notice instead of a link). An unverified
    holder lets go, in the caller's transaction."""
    lower = address.lower()
    holder = session.scalar(sa.select(User).where(User.email_lower == lower))
    if holder is None:
        return lower, None
    if holder.email_verified_at is not None:
        return _unheld(), holder
    holder.email_lower = _unheld()
    session.flush()
    return lower, None


@dataclasses.dataclass(frozen=True)
class Verified:
    user_id: int
    email: str


def verify(session: Session, token: str, settings: Settings) -> Verified:
    """Mark the address of the link's account verified, taking it back from an
    unverified account that holds it now.

    :raise LinkInvalid: if the link is forged, expired or for an old address.
    :raise Conflict: if another account verified the address meanwhile.
    """
    try:
        data = _serializer(settings).loads(token, max_age=settings.email_verification_seconds)
        user_id, lower = int(data["user"]), str(data["email"])
    except SignatureExpired:
        raise LinkInvalid("this verification link has expired; ask for a new one") from None
    except (BadData, KeyError, TypeError, ValueError):
        raise LinkInvalid("this is not a valid verification link") from None
    user = session.get(User, user_id)
    if user is None or user.email.lower() != lower:
        raise LinkInvalid("this verification link is for an address the account no longer has")
    holder = session.scalar(sa.select(User).where(User.email_lower == lower))
    if holder is not None and holder.id != user.id:
        if holder.email_verified_at is not None:
            raise Conflict("another account has verified this address", code="email_taken")
        holder.email_lower = _unheld()
        session.flush()
    user.email_lower = lower
    user.email_verified_at = user.email_verified_at or utcnow()
    session.commit()
    return Verified(user.id, user.email)


def send_link(session: Session, user: User, settings: Settings) -> bool:
    """Record a verification mail to ``user`` (delivered by the workers' senders);
    False if the address had its hour's share of mail already. Does not commit.

    :raise Conflict: if the address is already verified (by this account or another).
    """
    if verified(user):
        raise Conflict("this address is already verified", code="email_verified")
    holder = session.scalar(sa.select(User).where(User.email_lower == user.email.lower()))
    if holder is not None and holder.id != user.id and holder.email_verified_at is not None:
        return send_notice(session, user, settings)
    link = f"{public_base_url(settings)}{VERIFY_PATH}?token={make_token(user, settings)}"
    return outbox.record_account_mail(session, user, events.VERIFY_EMAIL, {"link": link}, settings)


def send_notice(session: Session, user: User, settings: Settings) -> bool:
    """Tell the address's owner that ``user`` signed up with it (no link)."""
    return outbox.record_account_mail(session, user, events.SIGNUP_NOTICE, {}, settings)
