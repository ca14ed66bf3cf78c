"""What the remote commands do (their command line: ``parsers``).

Errors end a command with one line on standard error (with ``--json``, also
``{"error": {...}}`` on standard output) and an exit status of
``parsers.EXIT_STATUSES``; nothing prints a traceback at a user.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import getpass
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from comprimemelo.client import credentials
from comprimemelo.client.api import Client
from comprimemelo.client.errors import ApiError, ClientError, NetworkError, NotLoggedIn
from comprimemelo.client.journal import UploadJournal
from comprimemelo.client.models import Task
from comprimemelo.client.progress import Bars

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class ExitStatus(enum.IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    UNAUTHORIZED = 3
    NOT_FOUND = 4
    OVER_LIMIT = 5
    REFUSED = 6
    SERVER_ERROR = 7
    NETWORK = 8
    INTERRUPTED = 130


def exit_status(error: BaseException) -> ExitStatus:
    if isinstance(error, NotLoggedIn):
        return ExitStatus.UNAUTHORIZED
    if isinstance(error, NetworkError):
        return ExitStatus.NETWORK
    if isinstance(error, ApiError):
        if error.status == 401:
            return ExitStatus.UNAUTHORIZED
        if error.status == 404:
            return ExitStatus.NOT_FOUND
        if error.status == 429 or error.code == "quota_exceeded":
            return ExitStatus.OVER_LIMIT
        if error.status >= 500:
            return ExitStatus.SERVER_ERROR
        return ExitStatus.REFUSED
    return ExitStatus.FAILED


def run(name: str, args: argparse.Namespace) -> int:
    """Run command ``name``; every error becomes its message and exit status."""
    command = globals()[f"_{name}"]
    try:
        return command(args)
    except KeyboardInterrupt:
        print("comprimemelo: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    except (ClientError, OSError) as error:
        return _fail(args, error, hint_login=name != "login")


def _fail(args: argparse.Namespace, error: BaseException, *, hint_login: bool = True) -> int:
    status = exit_status(error)
    if isinstance(error, ApiError) and error.status == 401 and hint_login:
        message = f"{error.message}: log in again (comprimemelo login URL)"
    elif isinstance(error, OSError) and not isinstance(error, ClientError):
        message = f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")
    else:
        message = str(error)
    print(f"comprimemelo: {message}", file=sys.stderr)
    if args.json:
        body = error.as_json() if isinstance(error, ApiError) else {"error": {"message": message}}
        _print_json({**body, "exit_status": int(status)})
    return status


def _print_json(value) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _secret(prompt: str, *, confirm: bool = False) -> str:
    """A password from the terminal (not echoed), or one line of standard input."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    secret = getpass.getpass(prompt)
    if confirm and getpass.getpass("Again: ") != secret:
        raise ClientError("the passwords do not match")
    return secret


def _signed_in_client() -> Client:
    """A client of the stored server and token.

    :raise NotLoggedIn: if there is none or it expired.
    """
    stored = credentials.load()
    if stored is None:
        raise NotLoggedIn("not logged in: run comprimemelo login URL")
    if stored.expired:
        raise NotLoggedIn(f"the token for {stored.url} expired: run comprimemelo login {stored.url}")
    return Client(stored.url, stored.token, journal=UploadJournal())


def _login(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        print(f"comprimemelo: give the server's URL with http:// or https://, not {args.url!r}", file=sys.stderr)
        return ExitStatus.USAGE
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        print("comprimemelo: warning: http:// sends the password and the token unencrypted", file=sys.stderr)
    username = args.username or input("Username or e-mail: ").strip()
    client = Client.login(url, username, _secret("Password: "))
    stored = credentials.Credentials(url, username, client.http.token, time.time() + client.token_expires_in)
    path = credentials.save(stored)
    until = _local_time(stored.expires_at)
    if args.json:
        _print_json({"url": url, "username": username, "expires_at": stored.expires_at, "credentials": str(path)})
    else:
        print(f"Logged in to {url} as {username} until {until}; token kept in {path}")
    return ExitStatus.OK


def _logout(args: argparse.Namespace) -> int:
    stored = credentials.load()
    if stored is None:
        print("Not logged in.")
        return ExitStatus.OK
    revoked = True
    try:
        if not stored.expired:
            Client(stored.url, stored.token).logout()
    except ApiError as error:
        revoked = error.status == 401  # already expired or revoked
        if not revoked:
            raise
    finally:
        credentials.forget()
    if args.json:
        _print_json({"url": stored.url, "revoked": revoked})
    else:
        print(f"Logged out of {stored.url}.")
    return ExitStatus.OK


def _submit(args: argparse.Namespace) -> int:
    missing = [str(path) for path in args.files if not path.is_file()]
    if missing:
        print(f"comprimemelo: no such file: {', '.join(missing)}", file=sys.stderr)
        return ExitStatus.FAILED
    if args.download and not args.download.is_dir():
        print(f"comprimemelo: not a folder: {args.download}", file=sys.stderr)
        return ExitStatus.FAILED
    client = _signed_in_client()
    password = _secret("Archive password: ", confirm=True) if args.password else None
    groups = [args.files] if args.one_archive else [[path] for path in args.files]
    submitted: list[Task] = []
    resumed: list[dict] = []
    downloads: list[dict] = []
    with Bars.for_terminal(quiet=args.quiet or args.json) as bars:

        def on_resumed(path: Path, offset: int) -> None:
            resumed.append({"file": str(path), "offset": offset})
            bars.note(f"resuming the upload of {path.name} at byte {offset}")

        for group in groups:
            task = client.submit(
                group, args.fmt, level=args.level, password=password, retention_hours=args.retention_hours,
                webhook_url=args.webhook_url, chunked=True if args.chunked else None,
                on_upload=lambda path: bars.transfer("uploading", path), on_resumed=on_resumed,
            )
            submitted.append(task)
            if not args.json:
                bars.note(f"task {task.id}: {task.filename} -> {task.new_format}, {task.status}")
        if args.wait or args.download:
            submitted = client.wait([task.id for task in submitted], on_change=bars.task_changed)
        if args.download:
            for task in submitted:
                if task.status == "processed":
                    saved = client.download(task.id, args.download,
                                            on_progress=bars.transfer("downloading", task.filename))
                    downloads.append({"task_id": task.id, "path": str(saved)})
    failed = [task for task in submitted if task.finished and task.status != "processed"]
    if args.json:
        _print_json({"tasks": [task.data for task in submitted], "downloads": downloads, "resumed": resumed})
    else:
        for task in submitted:
            if task.finished:
                print(_finished_line(task))
        for item in downloads:
            print(f"saved {item['path']}")
    for task in failed:
        print(f"comprimemelo: task {task.id} {task.status}: {task.error or 'its files were deleted'}",
              file=sys.stderr)
    return ExitStatus.FAILED if failed else ExitStatus.OK


def _finished_line(task: Task) -> str:
    if task.status != "processed":
        return f"task {task.id} {task.status}: {task.error or ''}".rstrip(": ")
    saved = ""
    if task.size_original and task.size_compressed is not None:
        saved = f", {_size(task.size_original)} -> {_size(task.size_compressed)} " \
                f"({task.size_compressed / task.size_original:.0%} of the original)"
    return f"task {task.id} processed: {task.filename} as {task.new_format}{saved}"


def _tasks(args: argparse.Namespace) -> int:
    client = _signed_in_client()
    filters = {"status": args.status, "format": args.new_format, "search": args.search}
    found = list(client.iter_tasks(**filters)) if args.all else client.tasks(limit=args.max, **filters)
    if args.json:
        _print_json([task.data for task in found])
        return ExitStatus.OK
    rows = [("ID", "STATUS", "FORMAT", "SIZE", "ARCHIVE", "CREATED", "FILE")]
    for task in found:
        status = f"{task.status} {task.progress}%" if task.status == "processing" else task.status
        rows.append((str(task.id), status, task.new_format, _size(task.size_original),
                     _size(task.size_compressed), (task.created_at or "")[:16].replace("T", " "), task.filename))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return ExitStatus.OK


def _get(args: argparse.Namespace) -> int:
    client = _signed_in_client()
    destination = args.output or Path(".")
    with Bars.for_terminal(quiet=args.quiet or args.json) as bars:
        if args.wait:
            [task] = client.wait([args.task_id], on_change=bars.task_changed)
        else:
            task = client.task(args.task_id)
        if args.original:
            if len(task.files) > 1 and not destination.is_dir():
                raise ClientError(f"task {task.id} has {len(task.files)} files: give a folder with -o")
            saved = [client.download(task.id, destination, original=True, file_index=index,
                                     on_progress=bars.transfer("downloading", item.filename))
                     for index, item in enumerate(task.files)]
        else:
            saved = [client.download(task.id, destination, on_progress=bars.transfer("downloading", task.filename))]
    if args.json:
        _print_json({"task_id": task.id, "paths": [str(path) for path in saved]})
    else:
        for path in saved:
            print(f"saved {path}")
    return ExitStatus.OK


def _rm(args: argparse.Namespace) -> int:
    client = _signed_in_client()
    deleted, status = [], ExitStatus.OK
    for task_id in args.task_ids:
        try:
            client.delete(task_id)
        except ApiError as error:
            print(f"comprimemelo: {error}", file=sys.stderr)
            status = status or exit_status(error)
            continue
        deleted.append(task_id)
        if not args.json:
            print(f"deleted task {task_id}")
    if args.json:
        _print_json({"deleted": deleted})
    return status


def _size(value: int | None) -> str:
    """Bytes for a person, in decimal units (as rich's bars show them)."""
    if value is None:
        return "-"
    if value < 1000:
        return f"{value} B"
    size, unit = float(value), "B"
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1000
        if size < 1000:
            break
    return f"{size:.1f} {unit}"


def _local_time(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M %Z")
