"""The remote commands' command line: ``comprimemelo login``, ``submit``, ``tasks``,
``get``, ``rm``, ``logout``.

Only argparse here: ``comprimemelo --help`` (``comprimemelo.cli``) lists these
commands without loading the HTTP stack, and ``comprimemelo.command`` sends
them here straight away, past the service's modules. What each command does
is in ``commands``, loaded when one runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

REMOTE_COMMANDS = frozenset({"login", "logout", "submit", "tasks", "get", "rm"})

EXIT_STATUSES = """\
exit statuses:
  0  done
  1  a task failed or expired, or a local file could not be read or written
  2  bad command line
  3  not logged in, the token expired or was refused, or a wrong username or password
  4  not found (no such task, or not yours)
  5  over a quota or a rate limit (413 or 429 quota_exceeded, too_many_requests)
  6  refused by the server for another reason (invalid input, conflict, expired files)
  7  the server failed or stayed unavailable (5xx) after the retries
  8  network error: the server could not be reached, or the connection kept breaking
  130  interrupted (Ctrl-C); an upload in chunks resumes when the same command runs again
"""


def add_parsers(commands) -> None:
    """Add the remote commands to ``commands`` (an ``add_subparsers()`` result)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON on stdout, for scripts (no progress bars)")

    def command(name: str, help: str, description: str) -> argparse.ArgumentParser:
        parser = commands.add_parser(
            name, help=help, description=description, parents=[common], epilog=EXIT_STATUSES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.set_defaults(run=_run(name))
        return parser

    login = command(
        "login", "log in to a comprimemelo server and keep the token",
        "Ask for the password (read from standard input when it is not a terminal), log in, and keep "
        "the token in the user's config folder (mode 0600) for the other remote commands.",
    )
    login.add_argument("url", metavar="URL", help="the server, e.g. https://compress.example.com")
    login.add_argument("--username", "-u", help="username or e-mail (asked if not given)")

    command("logout", "revoke the kept token and forget it", "Revoke the token on the server and delete it here.")

    submit = command(
        "submit", "upload files to compress on the server",
        "Upload each FILE as a task (or all of them as one archive), with a progress bar. Files over "
        "64 MiB in all go in resumable chunks: run the same command again after an interruption and "
        "the upload continues where it stopped.",
    )
    submit.add_argument("files", nargs="+", type=Path, metavar="FILE")
    submit.add_argument("--format", "-f", required=True, dest="fmt", metavar="FMT",
                        help="zip, 7z, tar.gz, tar.bz2, tar.xz or tar.zst")
    submit.add_argument("--level", "-l", help="a number in the format's range, or fastest, balanced, smallest")
    submit.add_argument("--password", action="store_true",
                        help="encrypt the archive (zip, 7z): the password is asked, or read from standard input")
    submit.add_argument("--one-archive", action="store_true", help="all FILEs in one archive (one task)")
    submit.add_argument("--retention-hours", type=int, metavar="H", help="keep the files H hours")
    submit.add_argument("--webhook-url", metavar="URL", help="a webhook for these tasks only")
    submit.add_argument("--chunked", action="store_true", help="send in resumable chunks whatever the size")
    submit.add_argument("--wait", action="store_true", help="wait until compressed, showing the progress")
    submit.add_argument("--download", type=Path, metavar="DIR", help="then download the archives into DIR (waits)")
    submit.add_argument("--quiet", "-q", action="store_true", help="no progress bars")

    tasks = command("tasks", "list your tasks", "List your tasks, newest first.")
    tasks.add_argument("--max", type=int, default=20, metavar="N", help="at most N tasks (default 20)")
    tasks.add_argument("--all", action="store_true", help="every task, page after page (ignores --max)")
    tasks.add_argument("--status", metavar="STATUS", help="only tasks in STATUS (uploaded, processing, processed, failed, expired)")
    tasks.add_argument("--format", dest="new_format", metavar="FORMAT", help="only tasks compressing to FORMAT")
    tasks.add_argument("--search", metavar="TEXT", help="only tasks with a file whose name contains TEXT")

    get = command("get", "download a task's archive (or its original files)",
                  "Download task ID's archive, or with --original its original files.")
    get.add_argument("task_id", type=int, metavar="ID")
    get.add_argument("--output", "-o", type=Path, metavar="PATH",
                     help="a file, or a folder to save under the server's name (default: here)")
    get.add_argument("--original", action="store_true", help="the original files instead of the archive")
    get.add_argument("--wait", action="store_true", help="wait until the task is processed")
    get.add_argument("--quiet", "-q", action="store_true", help="no progress bars")

    remove = command("rm", "delete tasks and their files", "Delete each task ID and its files.")
    remove.add_argument("task_ids", nargs="+", type=int, metavar="ID")


def _run(name: str):
    def run(args: argparse.Namespace) -> int:
        from comprimemelo.client import commands

        return commands.run(name, args)

    return run


def main(argv: list[str]) -> int:
    """The remote commands alone (``comprimemelo.command``'s path for them)."""
    parser = argparse.ArgumentParser(prog="comprimemelo", description="Remote commands of comprimemelo.")
    add_parsers(parser.add_subparsers(title="commands", metavar="COMMAND"))
    args = parser.parse_args(argv)
    return args.run(args)
