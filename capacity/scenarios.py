"""The locust user classes, one per scenario, and what each needs set up first.

Imports locust (and so gevent's monkey-patching): import this module only in the
load-generating process, never in the test process or the report code.
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, field
from datetime import datetime

from locust import task
from locust.contrib.fasthttp import FastHttpUser

from capacity.accounts import PoolSpec
from capacity.api import FINISHED_STATUSES, Account, ApiClient, ApiError
from capacity.content import make_content

POLL_INTERVAL_SECONDS = 0.5
CONVERSION_TIMEOUT_SECONDS = 600
NETWORK_TIMEOUT_SECONDS = 300


@dataclass
class Conversion:
    """One file's trip: upload started (client clock) to processed or failed."""

    started: float
    finished: float
    format: str
    bytes_in: int
    bytes_out: int
    status: str
    server_seconds: float | None


@dataclass
class ScenarioContext:
    """What the users of one run share; attached to the locust environment as ``capacity``."""

    tag: str
    accounts: list[Account] = field(default_factory=list)
    file_size: int = 5 * 1000 * 1000
    formats: tuple[str, ...] = ("zip", "tar.gz", "tar.zst")
    level: int | None = None
    conversions: list[Conversion] = field(default_factory=list)
    content: bytes = b""
    _next_account: itertools.count = field(default_factory=itertools.count)
    _next_signup: itertools.count = field(default_factory=itertools.count)
    _next_upload: itertools.count = field(default_factory=itertools.count)

    def account(self) -> Account:
        return self.accounts[next(self._next_account) % len(self.accounts)]

    def new_username(self) -> str:
        return f"{self.tag}-s{next(self._next_signup)}"

    def next_format(self) -> str:
        return self.formats[next(self._next_upload) % len(self.formats)]


def _server_seconds(task_json: dict) -> float | None:
    """Seconds from the task's creation to its processing, by the server's clock."""
    try:
        created = datetime.fromisoformat(task_json["created_at"].replace("Z", "+00:00"))
        processed = datetime.fromisoformat(task_json["processed_at"].replace("Z", "+00:00"))
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    return (processed - created).total_seconds()


class ApiUser(FastHttpUser):
    """Base: a REST client named for locust's statistics; signed in from the pool if asked."""

    abstract = True
    network_timeout = NETWORK_TIMEOUT_SECONDS
    connection_timeout = 60.0
    uses_account = True

    def on_start(self) -> None:
        self.ctx: ScenarioContext = self.environment.capacity
        self.api = ApiClient(self.client, named=True)
        self.account = self.ctx.account() if self.uses_account else None
        if self.account:
            self.api.token = self.account.token

    def convert_one(self, content: bytes) -> None:
        """Upload ``content``, poll until it is finished, record the conversion, delete the task."""
        fmt = self.ctx.next_format()
        started = time.time()
        created = self.api.upload(f"capacity-{fmt}.bin", content, fmt, self.ctx.level)
        deadline = time.monotonic() + CONVERSION_TIMEOUT_SECONDS
        current = created
        while current["status"] not in FINISHED_STATUSES and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL_SECONDS)
            current = self.api.get_task(created["id"])
        status = current["status"] if current["status"] in FINISHED_STATUSES else "timeout"
        self.ctx.conversions.append(
            Conversion(started, time.time(), fmt, len(content), current.get("size_compressed") or 0,
                       status, _server_seconds(current))
        )
        self.api.delete_task(created["id"])


class ListTasksUser(ApiUser):
    """A signed-in user on the dashboard: lists their ~20 tasks, with think time."""


    @task
    def list_tasks(self) -> None:
        self.api.list_tasks()


class SignupUser(ApiUser):
    """A new visitor creating an account (unique username each time)."""

    uses_account = False

    @task
    def signup(self) -> None:
        self.api.signup(self.ctx.new_username())


class LoginUser(ApiUser):
    """A returning user logging in (password check: argon2)."""

    uses_account = False

    @task
    def login(self) -> None:
        self.api.login(self.ctx.account().username)


class ConvertUser(ApiUser):
    """Uploads a file, polls until it is processed, deletes it, starts again."""


    @task
    def convert(self) -> None:
        self.convert_one(self.ctx.content)


class MixedUser(ApiUser):
    """A blend by weight: 70 list the tasks, 10 log in, 5 sign up, 15 convert a small file."""

    @task(70)
    def list_tasks(self) -> None:
        self.api.list_tasks()

    @task(10)
    def login(self) -> None:
        self.api.login(self.account.username)

    @task(5)
    def signup(self) -> None:
        ApiClient(self.client, named=True).signup(self.ctx.new_username())

    @task(15)
    def convert(self) -> None:
        self.convert_one(self.ctx.content)


@dataclass(frozen=True)
class Scenario:
    name: str
    user_class: type[ApiUser]
    pool: PoolSpec
    wait: tuple[float, float]
    default_file_size: int = 0
    description: str = ""


MB = 1000 * 1000
SCENARIOS = {
    s.name: s
    for s in (
        Scenario("list-tasks", ListTasksUser, PoolSpec(20, 20), (1, 3),
                 description="signed-in users listing their 20 tasks, 1-3 s think time"),
        Scenario("signup", SignupUser, PoolSpec(0), (0, 0),
                 description="account creation with unique usernames, no think time"),
        Scenario("login", LoginUser, PoolSpec(20), (0, 0),
                 description="logins of 20 existing users, no think time"),
        Scenario("convert", ConvertUser, PoolSpec(20), (0, 0), default_file_size=5 * MB,
                 description="upload a file, poll every 0.5 s until processed, delete; no think time"),
        Scenario("mixed", MixedUser, PoolSpec(20, 20), (1, 3), default_file_size=1 * MB,
                 description="by weight 70 list tasks, 10 login, 5 sign-up, 15 convert a small file "
                             "(until processed); 1-3 s think time"),
    )
}

__all__ = ["SCENARIOS", "ApiError", "Conversion", "Scenario", "ScenarioContext", "make_content"]
