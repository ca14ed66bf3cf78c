"""The API's JSON bodies as types: the routes validate requests with them, and
the OpenAPI document's schemas are generated from them (``api/openapi``), so
the two cannot disagree.

msgspec, chosen by measurement: validating a sign-up body took 0.15 µs with
``msgspec.convert``, 0.90 µs with pydantic 2 and 0.76 µs with the checks it
replaced (200,000 runs each, best of 5, this machine). Bodies are parsed by orjson
first (``middleware/jsonprovider.py``: nesting, surrogates), then converted.

One naming convention: snake_case, as the seed's JSON fields (``username``,
``new_format``...). The camelCase spellings of the upload bodies from before
(``fileName``, ``newFormat``...) are still read, as aliases.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, TypeVar

import msgspec

from comprimemelo.compression.encryption import MAX_PASSWORD_CHARS
from comprimemelo.domain.errors import InvalidInput
from comprimemelo.notifications.targets import MAX_URL_LENGTH
from comprimemelo.services.passwords import MAX_PASSWORD_LENGTH
from comprimemelo.services.uploads import MAX_FILENAME_INPUT_LENGTH
from comprimemelo.services.users import MAX_EMAIL_LENGTH
from comprimemelo.web.middleware.bodies import json_object

Body = TypeVar("Body", bound="RequestBody")

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class RequestBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A JSON object body. ``CODES`` names the error code of each field's
    problem (default ``invalid_field``); a required field absent is ``MISSING``
    (or its own in ``MISSING_CODES``)."""

    CODES: ClassVar[dict[str, str]] = {}
    MISSING: ClassVar[str] = "missing_field"
    MISSING_CODES: ClassVar[dict[str, str]] = {}  # a required field's own code when absent
    ALIASES: ClassVar[dict[str, str]] = {}
    # Stored or looked up, so never with NUL (PostgreSQL refuses it in text);
    # passwords are only hashed, any character is fine in them.
    TEXT: ClassVar[tuple[str, ...]] = ()


def parse(kind: type[Body]) -> Body:
    """The request's JSON object body as a ``kind``.

    :raise UnsupportedMediaType: if the body is not JSON.
    :raise InvalidInput: if it is not a JSON object (``invalid_json``), or a
        field is unknown, missing or of the wrong type or range (the field's code).
    """
    data = json_object()
    for old, new in kind.ALIASES.items():
        if old in data:
            if new in data:
                raise InvalidInput(f"send {new!r} or {old!r}, not both", code=kind.CODES.get(new, "invalid_field"))
            data[new] = data.pop(old)
    with_nul = [name for name in kind.TEXT if isinstance(data.get(name), str) and "\x00" in data[name]]
    if with_nul:
        raise InvalidInput(f"NUL character in field(s): {', '.join(with_nul)}", code="invalid_character")
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as error:
        raise _invalid(kind, str(error)) from None


_AT_FIELD = re.compile(r"at `\$\.(\w+)")


def _invalid(kind: type[RequestBody], message: str) -> InvalidInput:
    if message.startswith("Object missing required field `"):
        field = message.split("`")[1]
        return InvalidInput(f"missing field {field!r}", code=kind.MISSING_CODES.get(field, kind.MISSING))
    if message.startswith("Object contains unknown field `"):
        field = message.split("`")[1]
        return InvalidInput(f"unknown field {field[:100]!r}", code="invalid_field")
    where = _AT_FIELD.search(message)
    field = where.group(1) if where else ""
    shown = message.replace("`$.", "`").replace("`$`", "the body")
    return InvalidInput(shown, code=kind.CODES.get(field, "invalid_field"))


# -- auth and account --------------------------------------------------------


class Signup(RequestBody):
    username: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{3,64}$", description="3 to 64 letters, digits, `.`, `_` or `-`")]
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=MAX_EMAIL_LENGTH, extra_json_schema={"format": "email"}, description="An e-mail address: a confirmation link is mailed to it")]
    password1: Annotated[Password, msgspec.Meta(description="At least the deployment's minimum length (8 by default); NIST SP 800-63B's rules refuse common, repetitive or sequential passwords and the account's own words")]
    password2: Annotated[Password, msgspec.Meta(description="The same as `password1`")]

    CODES: ClassVar[dict[str, str]] = {
        "username": "invalid_username", "email": "invalid_email", "password1": "weak_password",
        "password2": "weak_password",
    }
    TEXT: ClassVar[tuple[str, ...]] = ("username", "email")


class Login(RequestBody):
    username: Annotated[NonEmpty, msgspec.Meta(description="Username, or the account's e-mail address")]
    password: Password

    CODES: ClassVar[dict[str, str]] = {"username": "missing_field", "password": "missing_field"}
    TEXT: ClassVar[tuple[str, ...]] = ("username",)


class VerifyEmail(RequestBody):
    token: Annotated[NonEmpty, msgspec.Meta(description="The `token` of the mailed link")]

    CODES: ClassVar[dict[str, str]] = {"token": "invalid_verification_link"}
    MISSING: ClassVar[str] = "invalid_verification_link"


class DeleteAccount(RequestBody):
    password: Annotated[str, msgspec.Meta(description="The account's password, again")]


# -- notifications -----------------------------------------------------------


# What a webhook URL must be (``notifications.targets``).
WEBHOOK_URL_RULE = (
    "http(s) only, no credentials, at most 2048 characters; unless the deployment allows private "
    "targets, every address of the host must be public (no loopback, private, link-local, multicast, "
    "reserved or unspecified address), checked now and again at each delivery"
)


class NotificationsChange(RequestBody):
    """Only the fields sent change; `webhook_url: null` removes the webhook."""

    email: Annotated[bool, msgspec.Meta(description="E-mail the account's confirmed address when a task finishes")] | msgspec.UnsetType = msgspec.UNSET
    # The URL's rules are the SSRF guard's (notifications.targets), with their own error code.
    webhook_url: Annotated[str, msgspec.Meta(extra_json_schema={"maxLength": MAX_URL_LENGTH}, description=f"null removes the webhook; {WEBHOOK_URL_RULE}")] | None | msgspec.UnsetType = msgspec.UNSET


# -- uploads -----------------------------------------------------------------


class NewUpload(RequestBody):
    file_name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_FILENAME_INPUT_LENGTH)]
    size: Annotated[int, msgspec.Meta(ge=0, description="The file's length in bytes")]
    content_type: Annotated[str, msgspec.Meta(description="A media type such as `application/pdf`")] | None = None

    CODES: ClassVar[dict[str, str]] = {
        "file_name": "invalid_filename", "size": "invalid_size", "content_type": "invalid_content_type",
    }
    MISSING_CODES: ClassVar[dict[str, str]] = CODES
    ALIASES: ClassVar[dict[str, str]] = {"fileName": "file_name", "contentType": "content_type"}


Level = Annotated[int | str, msgspec.Meta(description="A number in the format's range, or `fastest`, `balanced` or `smallest`")]


class CompleteUpload(RequestBody):
    """A task of this upload and any others named in `uploads`; the rest as for `POST /api/tasks`."""

    new_format: Annotated[str, msgspec.Meta(examples=["zip", "7z", "tar.gz", "tar.bz2", "tar.xz", "tar.zst"])] | None = None
    level: Level | None = None
    retention_hours: Annotated[int | str, msgspec.Meta(description="As for `POST /api/tasks`")] | None = None
    password: Annotated[str, msgspec.Meta(max_length=MAX_PASSWORD_CHARS, description="zip and 7z only; never stored or logged")] | None = None
    webhook_url: Annotated[str, msgspec.Meta(description="As for `POST /api/tasks`")] | None = None
    uploads: Annotated[list[str], msgspec.Meta(description="More upload ids to put in the same archive")] = []

    CODES: ClassVar[dict[str, str]] = {"uploads": "invalid_uploads", "password": "invalid_password"}
    ALIASES: ClassVar[dict[str, str]] = {
        "newFormat": "new_format", "retentionHours": "retention_hours", "webhookUrl": "webhook_url",
    }


REQUEST_BODIES = (Signup, Login, VerifyEmail, DeleteAccount, NotificationsChange, NewUpload, CompleteUpload)
