"""Accounts: sign up and authenticate."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from comprimemelo.errors import Conflict, InvalidInput, Unauthorized
from comprimemelo.models import User
from comprimemelo.passwords import Passwords

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
# Deliberately loose: one @, a dot in the domain, no spaces. Deliverability is
# the mail server's business, not ours.
EMAIL_PATTERN = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
MAX_EMAIL_LENGTH = 254
LOGIN_FAILED = "wrong username or password"


def signup(
    session: Session,
    passwords: Passwords,
    *,
    username: str,
    email: str,
    password1: str,
    password2: str,
) -> User:
    """Create an account.

    :raise InvalidInput: on a malformed field, a weak password or a mismatch.
    :raise Conflict: if the username or the e-mail (any case) is taken.
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
    _check_available(session, username, email)
    user = User(
        username=username,
        email=email,
        email_lower=email.lower(),
        password_hash=passwords.hash(password1),
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # lost a race with a concurrent signup
        session.rollback()
        _check_available(session, username, email)
        raise Conflict("username or email already registered") from None
    return user


def _check_available(session: Session, username: str, email: str) -> None:
    if session.scalar(sa.select(User.id).where(User.username == username)):
        raise Conflict("username already taken", code="username_taken")
    if session.scalar(sa.select(User.id).where(User.email_lower == email.lower())):
        raise Conflict("email already registered", code="email_taken")


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
