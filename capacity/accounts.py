"""The pool of pre-created accounts (and their tasks) that scenarios draw from.

Created before the measurement starts, over plain HTTP, so that set-up costs
(argon2 hashing on sign-up, compressing the seed files) never count as load.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from dataclasses import dataclass

import requests

from capacity.api import Account, ApiClient

log = logging.getLogger("capacity")

SETUP_PARALLELISM = 8
SEED_FILE_BYTES = 4096
SEED_FORMATS = ("zip", "tar.gz", "tar.zst")
SEED_PROCESSED_TIMEOUT_SECONDS = 300
SEED_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class PoolSpec:
    accounts: int
    tasks_per_account: int = 0


def seed_content(index: int) -> bytes:
    """A small, compressible, deterministic file."""
    line = f"capacity seed file {index}: the quick brown fox jumps over the lazy dog\n".encode()
    return (line * (SEED_FILE_BYTES // len(line) + 1))[:SEED_FILE_BYTES]


def _make_account(base_url: str, username: str, tasks: int) -> tuple[Account, list[int]]:
    client = ApiClient(requests.Session(), base_url)
    client.signup(username)
    token = client.login(username)
    ids = [
        client.upload(f"seed-{i:03d}.txt", seed_content(i), SEED_FORMATS[i % len(SEED_FORMATS)])["id"]
        for i in range(tasks)
    ]
    return Account(username, token), ids


def create_pool(base_url: str, prefix: str, spec: PoolSpec) -> list[Account]:
    """Sign up ``spec.accounts`` users named ``{prefix}-u{n}``, log each in, upload
    their seed tasks, and wait until every seed task is finished.

    :raise ApiError: if any call fails; :raise TimeoutError: if the seed tasks
        are not finished within ``SEED_PROCESSED_TIMEOUT_SECONDS``.
    """
    if spec.accounts <= 0:
        return []
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(SETUP_PARALLELISM) as pool:
        futures = [
            pool.submit(_make_account, base_url, f"{prefix}-u{n}", spec.tasks_per_account)
            for n in range(spec.accounts)
        ]
        made = [future.result() for future in futures]
    accounts = [account for account, _ in made]
    log.info("set-up: %d accounts signed up with their seed tasks uploaded in %.1fs",
             len(accounts), time.monotonic() - started)
    if spec.tasks_per_account:
        _wait_processed(base_url, accounts, spec.tasks_per_account)
    log.info(
        "set-up: %d accounts with %d tasks each in %.1fs",
        len(accounts), spec.tasks_per_account, time.monotonic() - started,
    )
    return accounts


def _wait_processed(base_url: str, accounts: list[Account], per_account: int) -> None:
    deadline = time.monotonic() + SEED_PROCESSED_TIMEOUT_SECONDS
    pending = list(accounts)
    while pending:
        still = []
        for account in pending:
            client = ApiClient(requests.Session(), base_url)
            client.token = account.token
            tasks = client.list_tasks()
            if len(tasks) < per_account or any(t["status"] not in ("processed", "failed") for t in tasks):
                still.append(account)
        pending = still
        if pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} accounts still have unfinished seed tasks")
            time.sleep(SEED_POLL_SECONDS)
