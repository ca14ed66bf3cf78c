"""Rate limits on sign-up and log-in, for the API and the web forms alike.

Per client address, every attempt counts; per account, only failed log-ins
count, so a stranger can slow down guesses at someone's password without
locking its owner out for long. Exceeding a limit answers 429 with
``Retry-After``, before any password is hashed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import limits
import limits.storage
import limits.strategies
from flask import Flask, Response, g, request

from comprimemelo.errors import TooManyRequests
from comprimemelo.settings import Settings

SIGNUP_ENDPOINTS = frozenset({"api_auth.signup", "ui.signup"})
LOGIN_ENDPOINTS = frozenset({"api_auth.login", "ui.login"})
FAILED_LOGIN_STATUS = 401
MESSAGE = "too many attempts; try again in {seconds} seconds"


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


def _account() -> str:
    """The account a log-in names, as the lookup sees it (case-folded)."""
    if request.is_json:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    else:
        name = request.form.get("username")
    return name.strip().casefold() if isinstance(name, str) else ""


def init_app(app: Flask, settings: Settings) -> None:
    if not settings.rate_limits_enabled:
        return
    rate_limits = RateLimits(settings)
    app.extensions["comprimemelo.rate_limits"] = rate_limits

    @app.before_request
    def _limit() -> None:
        if request.method != "POST":
            return
        address = request.remote_addr or "unknown"
        if request.endpoint in SIGNUP_ENDPOINTS:
            rate_limits.hit(rate_limits.signup, address)
        elif request.endpoint in LOGIN_ENDPOINTS:
            rate_limits.hit(rate_limits.login, address)
            if account := _account():
                rate_limits.check(rate_limits.failed_login, account)
                g.login_account = account

    @app.after_request
    def _count_failure(response: Response) -> Response:
        account = g.pop("login_account", None)
        if account and response.status_code == FAILED_LOGIN_STATUS:
            rate_limits.record(rate_limits.failed_login, account)
        return response
