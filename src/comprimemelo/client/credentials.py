"""The token of ``comprimemelo login``, kept in the user's config folder.

``$XDG_CONFIG_HOME/comprimemelo/credentials.json`` on Linux (platformdirs: the
platform's own place elsewhere), the file 0600 and its folder 0700: the token
is as good as the password until it expires or ``logout`` revokes it. One
server at a time; a new ``login`` replaces it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from comprimemelo.private_files import private_dir, write_private_file

APP_NAME = "comprimemelo"
FILE_NAME = "credentials.json"


@dataclasses.dataclass(frozen=True)
class Credentials:
    url: str
    username: str
    token: str
    expires_at: float

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


def config_dir() -> Path:
    import platformdirs

    return platformdirs.user_config_path(APP_NAME)


def credentials_path(folder: Path | None = None) -> Path:
    return (folder or config_dir()) / FILE_NAME


def load(folder: Path | None = None) -> Credentials | None:
    """The stored credentials, or ``None`` if there are none (or the file is not ours to read)."""
    try:
        data = json.loads(credentials_path(folder).read_text(encoding="utf-8"))
        return Credentials(data["url"], data["username"], data["token"], float(data["expires_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(credentials: Credentials, folder: Path | None = None) -> Path:
    path = credentials_path(private_dir(folder or config_dir()))
    write_private_file(path, json.dumps(dataclasses.asdict(credentials), indent=2) + "\n")
    return path


def forget(folder: Path | None = None) -> bool:
    """Delete the stored credentials; ``False`` if there were none."""
    try:
        credentials_path(folder).unlink()
    except FileNotFoundError:
        return False
    return True
