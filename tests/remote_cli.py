"""Run the remote commands (``comprimemelo login``, ``submit``, ...) as a user
would: a separate process of the real entry point, with its own config and
state folders (XDG), and sign users up over the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.conftest import PASSWORD

COMMAND_TIMEOUT_SECONDS = 180


class RemoteCli:
    """One user's command line, at home in ``home``."""

    def __init__(self, home: Path, username: str) -> None:
        self.home = home
        self.username = username
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("COMPRIMEMELO_")}
        self.env.update(XDG_CONFIG_HOME=str(home / "config"), XDG_STATE_HOME=str(home / "state"),
                        HOME=str(home), COLUMNS="120")
        self.credentials = home / "config" / "comprimemelo" / "credentials.json"
        self.journal = home / "state" / "comprimemelo" / "uploads.json"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "comprimemelo", *args]

    def run(self, *args: str, stdin: str = "", timeout: float = COMMAND_TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=timeout, cwd=self.home)

    def json(self, *args: str, status: int = 0) -> dict | list:
        """``args --json``'s output, asserting its exit status."""
        result = self.run(*args, "--json")
        assert result.returncode == status, result
        return json.loads(result.stdout)

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=self.home)

    def login(self, base_url: str, username: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
        return self.run("login", base_url, "--username", username, stdin=password + "\n")

    def token(self) -> str:
        return json.loads(self.credentials.read_text())["token"]


def sign_up(base_url: str, username: str, password: str = PASSWORD) -> None:
    response = requests.post(
        f"{base_url}/api/auth/signup",
        json={"username": username, "email": f"{username}@example.com", "password1": password, "password2": password},
        timeout=30,
    )
    assert response.status_code == 201, response.text
