"""Reading what the service mailed, as a user reads their inbox: the maildir."""

from __future__ import annotations

import mailbox
import re
import time
from email.message import Message
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

CONFIRM_SUBJECT = "confirm your e-mail"
LINK = re.compile(r"https?://\S+/verify-email\?token=\S+")


def wait_for_mail(maildir: Path, subject_part: str, *, to: str | None = None, timeout: float = 30) -> Message:
    """The first message whose subject has ``subject_part`` (and goes ``to``), once it arrives."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if maildir.is_dir():
            for message in mailbox.Maildir(maildir, create=False):
                if subject_part in message["Subject"] and (to is None or message["To"] == to):
                    return message
        time.sleep(0.2)
    raise AssertionError(f"no mail about {subject_part!r} to {to} in {maildir} within {timeout}s")


def verification_token(message: Message) -> str:
    """The token of the confirmation link in ``message``."""
    body = message.get_payload(decode=True).decode()  # undoes quoted-printable's line folding
    link = LINK.search(body)
    assert link, body
    return parse_qs(urlsplit(link.group(0)).query)["token"][0]


def task_mail(maildir: Path) -> list[Message]:
    """The messages about tasks (not the sign-up's confirmation link)."""
    return [m for m in mailbox.Maildir(maildir, create=False) if CONFIRM_SUBJECT not in m["Subject"]]
