"""Accounts: sign up and authenticate."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from comprimemelo.domain.errors import Conflict, InvalidInput, Unauthorized
from comprimemelo.domain.models import User
from comprimemelo.services import verification
from comprimemelo.services.passwords import Passwords
from comprimemelo.settings import Settings

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
# Deliberately loose: one @, a dot in the domain, no spaces. Deliverability is
# the mail server's business, not ours.
EMAIL_PATTERN = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
MAX_EMAIL_LENGTH = 254
LOGIN_FAILED = "wrong username or password"
# A sign-up that loses a race for its address (to a concurrent one) looks again.
SIGNUP_TRIES = 3


def signup(
    session: Session,
    passwords: Passwords,
    settings: Settings,
    *,
    username: str,
    email: str,
    password1: str,
    password2: str,
) -> User:
    """Create an account, and send its address a verification link (or, if
    another account verified that address, a notice: see ``verification``).
    Whether an address is in use is never told: only the username can clash.

    :raise InvalidInput: on a malformed field, a weak password or a mismatch.
    :raise Conflict: if the username is taken.
    """
    if not USERNAME_PATTERN.match(username):
        raise InvalidInput(
            "username must be 3 to 64 letters, digits, '.', '_' or '-'", code="invalid_username"
        )
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.match(email):
        raise InvalidInput("email is not a valid address", code="invalid_email")
    if password1 != password2:
        raise InvalidInput("passwords do not match", code="password_mismatch")
    if problem := passwords.problem(password1, context=(username, email)):
        raise InvalidInput(problem, code="weak_password")
    _check_available(session, username)
    password_hash = passwords.hash(password1)
    for attempt in range(SIGNUP_TRIES):
        email_lower, verified_holder = verification.claim_for_signup(session, email)
        user = User(username=username, email=email, email_lower=email_lower, password_hash=password_hash)
        session.add(user)
        try:
            session.flush()
            if verified_holder is None:
                verification.send_link(session, user, settings)
            else:
                verification.send_notice(session, user, settings)
            session.commit()
            return user
        except IntegrityError:  # lost a race with a concurrent signup: look again
            session.rollback()
            _check_available(session, username)
    raise Conflict("the account could not be created; try again", code="signup_busy")


def _check_available(session: Session, username: str) -> None:
    if session.scalar(sa.select(User.id).where(User.username == username)):
        raise Conflict("username already taken", code="username_taken")


def authenticate(session: Session, passwords: Passwords, login: str, password: str) -> User:
    """The user whose username or e-mail is ``login`` and whose password matches.

    Unknown users and wrong passwords fail alike, in the same time.

    :raise Unauthorized: otherwise.
    """
    return check_password(passwords, find_account(session, login), password)


def find_account(session: Session, login: str) -> User | None:
    """The account a log-in names: by e-mail (any case) if ``login`` has an
    ``@``, else by username; ``None`` if there is none."""
    if "\x00" in login or len(login) > MAX_EMAIL_LENGTH:  # no account has such a name
        return None
    column = User.email_lower if "@" in login else User.username
    value = login.lower() if "@" in login else login
    return session.scalar(sa.select(User).where(column == value))


def check_password(passwords: Passwords, user: User | None, password: str) -> User:
    """``user`` if ``password`` is theirs; a missing user costs the same hash.

    :raise Unauthorized: otherwise.
    """
    if not passwords.verify(user.password_hash if user else None, password):
        raise Unauthorized(LOGIN_FAILED, code="invalid_credentials")
    return user
