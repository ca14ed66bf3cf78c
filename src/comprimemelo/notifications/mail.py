"""E-mail delivery: ``SmtpMailer`` (``smtplib``) when ``smtp_host`` is set,
``MaildirMailer`` otherwise (embedded mode: a maildir under the data dir, plus
a log line, so a laptop install needs no mail server and nothing is lost)."""

from __future__ import annotations

import logging
import mailbox
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from comprimemelo.settings import Settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30.0
MAILDIR_NAME = "mail"


class MailError(Exception):
    """The message was not accepted. ``permanent``: retrying will not help (5xx)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer(Protocol):
    """The port: hand one message over for delivery, or raise ``MailError``."""

    def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    """Sends through an SMTP relay, with STARTTLS (verified) unless told otherwise."""

    def __init__(self, settings: Settings, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.ssl_context = ssl_context or ssl.create_default_context()

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
                if s.smtp_starttls == "on":
                    smtp.starttls(context=self.ssl_context)
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            raise MailError(f"recipient refused: {codes}", permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPResponseException as error:
            text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
            raise MailError(f"SMTP {error.smtp_code}: {text}", permanent=error.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as error:
            raise MailError(f"{type(error).__name__}: {error}", permanent=False) from None


class MaildirMailer:
    """Writes each message to ``<data dir>/mail`` (readable by any mail client)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            key = mailbox.Maildir(self.folder, create=True).add(message)
        except OSError as error:
            raise MailError(f"cannot write to the maildir: {error}", permanent=False) from None
        log.info("e-mail to %s, %r, written to %s (key %s)", message["To"], message["Subject"], self.folder, key)


def open_mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    return MaildirMailer(settings.data_dir.resolve() / MAILDIR_NAME)
