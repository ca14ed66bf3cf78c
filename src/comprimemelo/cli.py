"""The ``comprimemelo`` command: serve, web, worker, db upgrade, compress, and
the remote commands (``comprimemelo.client.parsers``).

Settings come from ``COMPRIMEMELO_*`` variables; a flag overrides its variable.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from comprimemelo import __version__, metrics_dir
from comprimemelo.settings import PREFIX, Settings, SettingsError, load_settings

log = logging.getLogger("comprimemelo")

# gunicorn: long enough for big uploads on slow links; graceful stop for rolling updates.
GUNICORN_TIMEOUT_SECONDS = 300
GUNICORN_GRACEFUL_TIMEOUT_SECONDS = 30
GUNICORN_KEEPALIVE_SECONDS = 5
CHILD_STOP_TIMEOUT_SECONDS = 40


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except SettingsError as error:
        print(f"comprimemelo: configuration error: {error}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comprimemelo", description="File-compression service: web, worker and tools."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run web and worker on this machine (embedded mode)",
        description="Run the web server and a worker together; Ctrl-C stops both.",
    )
    _add_data_dir(serve)
    _add_bind(serve)
    serve.add_argument("--no-worker", action="store_true", help="run the web part alone")
    serve.add_argument("--workers", type=int, help="web worker processes (COMPRIMEMELO_WEB_WORKERS)")
    serve.add_argument("--concurrency", type=int, help="tasks at once (COMPRIMEMELO_WORKER_CONCURRENCY)")
    serve.set_defaults(run=run_serve)

    web = commands.add_parser(
        "web", help="the production web role (gunicorn)",
        description="Serve the web app and REST API with gunicorn.",
    )
    _add_data_dir(web)
    _add_bind(web)
    web.add_argument("--workers", type=int, help="worker processes (COMPRIMEMELO_WEB_WORKERS)")
    web.add_argument("--threads", type=int, help="threads per process with gthread workers (COMPRIMEMELO_WEB_THREADS)")
    web.add_argument("--no-migrate", action="store_true", help="do not upgrade the schema on start")
    web.set_defaults(run=run_web)

    worker = commands.add_parser(
        "worker", help="the production worker role",
        description="Process queued compression tasks until SIGTERM/SIGINT.",
    )
    _add_data_dir(worker)
    worker.add_argument("--concurrency", type=int, help="tasks at once (COMPRIMEMELO_WORKER_CONCURRENCY)")
    worker.set_defaults(run=run_worker)

    database = commands.add_parser("db", help="database maintenance")
    db_commands = database.add_subparsers(title="db commands", metavar="DB_COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="apply pending migrations (safe to run concurrently)")
    _add_data_dir(upgrade)
    upgrade.set_defaults(run=run_db_upgrade)
    database.set_defaults(run=lambda args: database.print_help() or 2)

    from comprimemelo.compression.cli import add_compress_parser

    add_compress_parser(commands)
    from comprimemelo.client.parsers import add_parsers as add_remote_parsers

    add_remote_parsers(commands)
    return parser


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, help=f"embedded-mode data folder ({PREFIX}DATA_DIR, default ./comprimemelo-data)"
    )


def _add_bind(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help=f"address to listen on ({PREFIX}HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help=f"port to listen on ({PREFIX}PORT, default 8000)")


def _settings(args: argparse.Namespace, **overrides) -> Settings:
    settings = load_settings(data_dir=getattr(args, "data_dir", None), **overrides)
    from comprimemelo import logs

    logs.configure(settings)
    return settings


def _migrate(settings: Settings) -> None:
    from comprimemelo import db

    # Its own engine, with the connections an upgrade holds at once (the
    # lock's and the migration's) whatever the pool settings say.
    engine = db.create_engine(settings.replace(db_pool_size=db.MIGRATION_CONNECTIONS))
    try:
        db.upgrade(engine, settings)
    finally:
        engine.dispose()


def run_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _migrate(settings)
    log.info("database schema is up to date")
    return 0


def run_web(args: argparse.Namespace) -> int:
    settings = _settings(
        args, host=args.host, port=args.port, web_workers=args.workers, web_threads=args.threads
    )
    if not args.no_migrate:
        _migrate(settings)
    own_metrics_dir = _multiprocess_metrics_dir()
    master = os.getpid()
    try:
        _gunicorn(settings)
    finally:
        # gunicorn's workers are forks of this process: they unwind through
        # here too, and must leave the folder to the master (child_exit).
        if own_metrics_dir and os.getpid() == master:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)
    return 0


def _multiprocess_metrics_dir() -> Path | None:
    """Give gunicorn's processes a shared metrics folder, unless a supervisor
    (``serve``) already did; returns the folder if it is ours to remove."""
    if metrics_dir.configured():
        return None
    folder = Path(tempfile.mkdtemp(prefix="comprimemelo-metrics-"))
    metrics_dir.prepare(folder)
    return folder


def _child_exit(_server, worker) -> None:
    from comprimemelo import metrics

    metrics.mark_process_dead(worker.pid)


def _gunicorn(settings: Settings) -> None:
    from comprimemelo.bootstrap import gunicorn_worker_class
    from comprimemelo.server.gunicorn import GunicornApp

    GunicornApp(
        settings,
        {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.effective_web_workers,
            "threads": settings.web_threads,
            "worker_class": gunicorn_worker_class(settings),
            "timeout": GUNICORN_TIMEOUT_SECONDS,
            "graceful_timeout": GUNICORN_GRACEFUL_TIMEOUT_SECONDS,
            "keepalive": GUNICORN_KEEPALIVE_SECONDS,
            "forwarded_allow_ips": "*" if settings.production else "127.0.0.1",
            "proc_name": "comprimemelo-web",
            # One shared ~/.gunicorn socket would clash between servers on a machine.
            "control_socket_disable": True,
            "child_exit": _child_exit,
        },
    ).run()


def run_worker(args: argparse.Namespace) -> int:
    settings = _settings(args, worker_concurrency=args.concurrency)
    if not settings.production:
        _migrate(settings)
    from comprimemelo.bootstrap import build_worker

    role = build_worker(settings)
    stop = threading.Event()

    def _stop(signum, _frame):
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if settings.worker_metrics_port:
        _serve_worker_metrics(settings, role.backends)
    role.run(stop)
    return 0


def _serve_worker_metrics(settings: Settings, backends) -> None:
    """``/metrics`` of this worker on its own port (a daemon thread), for the Ops Agent.

    A port already taken (another worker on this machine has it) costs this
    worker its metrics endpoint, not its work: a warning, and it runs on.
    """
    from prometheus_client import start_http_server

    from comprimemelo import metrics

    registry = metrics.registry(metrics.state_collector(backends.sessions, backends.queue))
    try:
        start_http_server(settings.worker_metrics_port, addr=settings.host, registry=registry)
    except OSError as error:
        log.warning(
            "worker metrics not served: %s:%d is unavailable (%s); another worker on this machine "
            "may have it (set %sWORKER_METRICS_PORT to give each its own, or 0 for none)",
            settings.host, settings.worker_metrics_port, error.strerror or error, PREFIX,
        )
        return
    log.info("worker metrics at http://%s:%d/metrics", settings.host, settings.worker_metrics_port)


def run_serve(args: argparse.Namespace) -> int:
    """Supervise a ``web`` and a ``worker`` child; stop both when either ends or on Ctrl-C."""
    settings = _settings(
        args,
        host=args.host,
        port=args.port,
        web_workers=args.workers,
        worker_concurrency=args.concurrency,
    )
    _migrate(settings)
    env = dict(os.environ)
    env[f"{PREFIX}DATA_DIR"] = str(settings.data_dir.resolve())
    # Web and worker write their samples to one folder: the web's /metrics shows both.
    metrics_dir.prepare(settings.data_dir.resolve() / "metrics")
    env[metrics_dir.MULTIPROC_ENV] = os.environ[metrics_dir.MULTIPROC_ENV]
    env[f"{PREFIX}WORKER_METRICS_PORT"] = "0"
    for name in ("host", "port", "web_workers", "worker_concurrency"):
        env[PREFIX + name.upper()] = str(getattr(settings, name))
    command = [sys.executable, "-m", "comprimemelo"]
    children = [subprocess.Popen([*command, "web", "--no-migrate"], env=env)]
    if not args.no_worker:
        children.append(subprocess.Popen([*command, "worker"], env=env))
    url = f"http://{settings.host}:{settings.port}"
    print(
        f"comprimemelo is running at {url}  (data in {settings.data_dir.resolve()}; Ctrl-C stops)",
        flush=True,
    )
    stopping = False

    def _stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + CHILD_STOP_TIMEOUT_SECONDS
    codes = []
    for child in children:
        try:
            codes.append(child.wait(max(0.1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            child.kill()
            codes.append(child.wait())
    return 0 if stopping else max(abs(code) for code in codes) or 1
