"""What a notification says: the JSON event of a webhook, the text of an e-mail.

The payload is built once, when the task finishes, and stored in the outbox:
every attempt sends the same bytes under the same event id.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
import uuid
from email.message import EmailMessage
from email.utils import make_msgid

from comprimemelo.domain.models import Task, User
from comprimemelo.settings import Settings
from comprimemelo.domain.statuses import TaskStatus
from comprimemelo.domain.timestamps import iso_utc

TASK_PROCESSED = "task.processed"
TASK_FAILED = "task.failed"
# Account mail, about no task: a verification link, a notice of a sign-up.
VERIFY_EMAIL = "account.verify_email"
SIGNUP_NOTICE = "account.signup_notice"
EVENT_TYPES = {TaskStatus.PROCESSED.value: TASK_PROCESSED, TaskStatus.FAILED.value: TASK_FAILED}


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


def public_base_url(settings: Settings) -> str:
    return settings.public_url.rstrip("/") or f"http://{settings.host}:{settings.port}"


def task_event(event_id: str, event_type: str, task: Task, settings: Settings) -> dict:
    """The JSON event (``docs/notifications.md`` documents every field)."""
    base = public_base_url(settings)
    processed = task.status == TaskStatus.PROCESSED.value
    return {
        "id": event_id,
        "type": event_type,
        "created_at": iso_utc(dt.datetime.now(dt.timezone.utc)),
        "data": {
            "task": {
                "id": task.id,
                "filename": task.filename,
                "new_format": task.new_format,
                "status": task.status,
                "size_original": task.size_original,
                "size_compressed": task.size_compressed,
                "error": task.error,
                "processed_at": iso_utc(task.processed_at),
                "url": f"{base}/api/tasks/{task.id}",
                "compressed_url": f"{base}/api/tasks/{task.id}/compressed" if processed else None,
            }
        },
    }


def account_event(event_id: str, event_type: str, user: User, data: dict) -> dict:
    """An account mail's stored event: whom it is about, and ``data`` (a link)."""
    return {
        "id": event_id,
        "type": event_type,
        "created_at": iso_utc(dt.datetime.now(dt.timezone.utc)),
        "data": {"username": user.username, "email": user.email, **data},
    }


def encode(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def _verification_mail(data: dict, settings: Settings) -> tuple[str, str]:
    hours = settings.email_verification_seconds // 3600
    return "comprimemelo: confirm your e-mail address", (
        f"Someone (we hope you) signed up for comprimemelo as {data['username']} with this address.\n\n"
        f"Confirm it to get e-mail when your files are ready:\n{data['link']}\n\n"
        f"The link works for {hours} hours. If it was not you, ignore this mail: no mail will "
        "come to this address from that account.\n"
    )


def _signup_notice(data: dict, settings: Settings) -> tuple[str, str]:
    return "comprimemelo: someone tried to sign up with your address", (
        f"A new account, {data['username']}, was created with this address, which your own account "
        "already uses. That account gets no mail here and cannot log in with this address.\n\n"
        "If it was you, log in with the account you already have. If not, you need do nothing.\n"
    )


ACCOUNT_MAIL = {VERIFY_EMAIL: _verification_mail, SIGNUP_NOTICE: _signup_notice}


def header_value(text: str) -> str:
    """``text`` fit for a mail header: every character a header would break on
    (anything ``str.splitlines`` splits at, other controls, separators) a space.
    File names reach subjects, and names uploaded before they were cleaned
    may hold any of these."""
    return "".join(" " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in text)


def email_message(payload: str, recipient: str, settings: Settings) -> EmailMessage:
    """A plain-text e-mail telling ``recipient`` what became of the task."""
    event = json.loads(payload)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = recipient
    message["Message-ID"] = make_msgid(idstring=event["id"], domain="comprimemelo")
    if event["type"] in ACCOUNT_MAIL:
        subject, body = ACCOUNT_MAIL[event["type"]](event["data"], settings)
        message["Subject"] = header_value(subject)
        message.set_content(body)
        return message
    task = event["data"]["task"]
    if event["type"] == TASK_PROCESSED:
        message["Subject"] = header_value(f"comprimemelo: {task['filename']} is ready ({task['new_format']})")
        saved = ""
        if task["size_compressed"] is not None and task["size_original"]:
            ratio = 100 * (1 - task["size_compressed"] / task["size_original"])
            saved = f" ({ratio:.0f}% smaller)"
        body = (
            f"Your file {task['filename']} was compressed to {task['new_format']}.\n\n"
            f"Size: {task['size_original']} bytes -> {task['size_compressed']} bytes{saved}\n"
            f"Download: {task['compressed_url']}\n"
        )
    else:
        message["Subject"] = header_value(f"comprimemelo: {task['filename']} could not be compressed")
        body = (
            f"Your file {task['filename']} could not be compressed to {task['new_format']}.\n\n"
            f"Reason: {task['error'] or 'unknown'}\n"
            f"Task: {task['url']}\n"
        )
    message.set_content(body + f"\nTask {task['id']}, status {task['status']}.\n")
    return message
