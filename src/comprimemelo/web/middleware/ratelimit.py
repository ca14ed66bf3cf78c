"""Rate limits on sign-up and log-in, for the API and the web forms alike.

Per client address, every attempt counts; per account, only failed log-ins
count, so a stranger can slow down guesses at someone's password without
locking its owner out for long. An account is the same account whether it is
named by its username or its e-mail; a name that is no account is counted
under a fixed-size digest of its normalised form, so the limiter's memory per
name never depends on what a client sends. Exceeding a limit answers 429 with
``Retry-After``, before any password is hashed.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

import limits
import limits.storage
import limits.strategies
from flask import Flask, current_app, request
from sqlalchemy.orm import Session

from comprimemelo.domain.errors import TooManyRequests, Unauthorized
from comprimemelo.domain.models import User
from comprimemelo.services import users
from comprimemelo.services.passwords import Passwords
from comprimemelo.settings import Settings

EXTENSION = "comprimemelo.rate_limits"
SIGNUP_ENDPOINTS = frozenset({"api_auth.signup", "ui.signup"})
LOGIN_ENDPOINTS = frozenset({"api_auth.login", "ui.login"})
MESSAGE = "too many attempts; try again in {seconds} seconds"
NAME_DIGEST_CHARS = 32


@dataclass(frozen=True)
class _Rule:
    name: str
    items: list[limits.RateLimitItem]


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        storage = limits.storage.storage_from_string(settings.rate_limit_storage)
        self._limiter = limits.strategies.MovingWindowRateLimiter(storage)
        self.signup = _Rule("signup", limits.parse_many(settings.signup_rate_limit))
        self.login = _Rule("login", limits.parse_many(settings.login_rate_limit))
        self.failed_login = _Rule("failed-login", limits.parse_many(settings.login_failure_rate_limit))

    def hit(self, rule: _Rule, key: str) -> None:
        """Count one attempt against every window of ``rule``.

        :raise TooManyRequests: if a window is already full (nothing is counted then).
        """
        self.check(rule, key)
        self.record(rule, key)

    def check(self, rule: _Rule, key: str) -> None:
        """:raise TooManyRequests: if a window of ``rule`` is full for ``key``."""
        for item in rule.items:
            if not self._limiter.test(item, rule.name, key):
                reset = self._limiter.get_window_stats(item, rule.name, key).reset_time
                seconds = max(1, math.ceil(reset - time.time()))
                raise TooManyRequests(MESSAGE.format(seconds=seconds), retry_after=seconds)

    def record(self, rule: _Rule, key: str) -> None:
        """Count one attempt, full windows or not (a failure that already happened)."""
        for item in rule.items:
            self._limiter.hit(item, rule.name, key)


def account_key(user: User | None, login: str) -> str:
    """What a log-in's failures count under: the account however it is named;
    else a digest of the name as the lookup normalises it (case-folded)."""
    if user is not None:
        return f"user:{user.id}"
    normalised = login.strip().casefold().encode("utf-8", "surrogatepass")
    return "name:" + hashlib.sha256(normalised).hexdigest()[:NAME_DIGEST_CHARS]


def log_in(session: Session, passwords: Passwords, login: str, password: str) -> User:
    """``users.authenticate`` behind the per-account limit on failed log-ins.

    :raise TooManyRequests: if the account had too many failures lately.
    :raise Unauthorized: on a wrong name or password (counted as a failure).
    """
    rate_limits: RateLimits | None = current_app.extensions.get(EXTENSION)
    user = users.find_account(session, login)
    key = account_key(user, login)
    if rate_limits is not None:
        rate_limits.check(rate_limits.failed_login, key)
    try:
        return users.check_password(passwords, user, password)
    except Unauthorized:
        if rate_limits is not None:
            rate_limits.record(rate_limits.failed_login, key)
        raise


def init_app(app: Flask, settings: Settings) -> None:
    if not settings.rate_limits_enabled:
        return
    rate_limits = RateLimits(settings)
    app.extensions[EXTENSION] = rate_limits

    @app.before_request
    def _limit() -> None:
        if request.method != "POST":
            return
        address = request.remote_addr or "unknown"
        if request.endpoint in SIGNUP_ENDPOINTS:
            rate_limits.hit(rate_limits.signup, address)
        elif request.endpoint in LOGIN_ENDPOINTS:
            rate_limits.hit(rate_limits.login, address)
