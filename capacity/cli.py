"""``python -m capacity``: load runs, soak, benchmarks (compression, e2e, api, auth, upload, fairness), reports.

Locust is imported only by ``run`` and ``ramp`` (it monkey-patches the process
with gevent), so ``report`` and ``bench-compression`` stay plain Python.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shlex
import signal
import sys
import time
from pathlib import Path

REPORTS = Path(__file__).resolve().parent / "reports"
DEFAULT_HOST = "http://127.0.0.1:8000"
SCENARIO_NAMES = ("list-tasks", "signup", "login", "convert", "mixed")
SIZE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
UPLOAD_FRAMING_ALLOWANCE = 2**20
DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_size(text: str) -> int:
    """``5MB`` -> 5000000, ``64KiB`` -> 65536, ``1000`` -> 1000."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    if not match or match.group(2).upper() not in SIZE_UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 5MB, 512KiB)")
    return int(float(match.group(1)) * SIZE_UNITS[match.group(2).upper()])


def parse_duration(text: str) -> float:
    """``30s``, ``2m``, ``90`` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30s, 2m)")
    return float(match.group(1)) * DURATION_UNITS[match.group(2)]


def parse_wait(text: str) -> tuple[float, float]:
    """``1-3`` -> (1, 3); ``0`` -> (0, 0)."""
    parts = text.split("-")
    try:
        low, high = (float(parts[0]), float(parts[-1]))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a wait range: {text!r} (e.g. 1-3)") from None
    if len(parts) > 2 or low > high or low < 0:
        raise argparse.ArgumentTypeError(f"not a wait range: {text!r} (e.g. 1-3)")
    return low, high


def parse_steps(text: str) -> list[int]:
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of user counts: {text!r}") from None
    if not steps or steps != sorted(steps) or steps[0] <= 0:
        raise argparse.ArgumentTypeError("steps must be increasing positive user counts, e.g. 50,100,200")
    return steps


def parse_setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.upper().removeprefix("COMPRIMEMELO_"), value


def _add_load_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_argument_group("target")
    target.add_argument("--host", default=DEFAULT_HOST, help=f"base URL of the service (default {DEFAULT_HOST})")
    target.add_argument("--serve", choices=("embedded", "postgres"),
                        help="start a local `comprimemelo serve` for this run (SQLite, or a throwaway "
                             "PostgreSQL 15 cluster) and stop it afterwards; --host is then ignored")
    target.add_argument("--web-workers", type=int, help="with --serve: COMPRIMEMELO_WEB_WORKERS")
    target.add_argument("--web-threads", type=int, help="with --serve: COMPRIMEMELO_WEB_THREADS")
    target.add_argument("--worker-concurrency", type=int, help="with --serve: COMPRIMEMELO_WORKER_CONCURRENCY")
    target.add_argument("--setting", type=parse_setting, action="append", default=[], metavar="NAME=VALUE",
                        help="with --serve: any other COMPRIMEMELO_NAME=VALUE (repeatable)")
    target.add_argument("--service-note", default="",
                        help="without --serve: how the target is configured (recorded in the report)")
    load = parser.add_argument_group("load")
    load.add_argument("--scenario", required=True, choices=SCENARIO_NAMES)
    load.add_argument("--spawn-rate", type=float, default=10, help="users started per second (default 10)")
    load.add_argument("--wait", type=parse_wait, metavar="MIN-MAX",
                      help="think time between a user's tasks, seconds (default: the scenario's)")
    load.add_argument("--file-size", type=parse_size, help="convert/mixed: file size (default 5MB/1MB)")
    load.add_argument("--formats", default="zip,tar.gz,tar.zst",
                      help="convert/mixed: formats used in turn (default zip,tar.gz,tar.zst)")
    load.add_argument("--level", type=int, help="convert/mixed: compression level (default: the format's)")
    load.add_argument("--accounts", type=int, help="pre-created accounts shared by the users (default 20)")
    load.add_argument("--tasks-per-account", type=int,
                      help="tasks each pre-created account owns (default 20 for list-tasks and mixed)")
    parser.add_argument("--out", type=Path, help="report folder (default capacity/reports/<scenario>-<time>)")
    parser.add_argument("--note", action="append", default=[], help="a note printed in the report (repeatable)")


def _add_server_arguments(parser: argparse.ArgumentParser, out: Path) -> None:
    parser.add_argument("--serve", choices=("embedded", "postgres"), default="embedded",
                        help="the local server started for the run (default embedded)")
    parser.add_argument("--web-workers", type=int, help="COMPRIMEMELO_WEB_WORKERS")
    parser.add_argument("--web-threads", type=int, help="COMPRIMEMELO_WEB_THREADS")
    parser.add_argument("--worker-concurrency", type=int, help="COMPRIMEMELO_WORKER_CONCURRENCY")
    parser.add_argument("--setting", type=parse_setting, action="append", default=[], metavar="NAME=VALUE",
                        help="any other COMPRIMEMELO_NAME=VALUE (repeatable)")
    parser.add_argument("--out", type=Path, default=out, help=f"report folder (default {out})")
    parser.add_argument("--note", action="append", default=[], help="a note printed in the report (repeatable)")


def _server_settings(args: argparse.Namespace) -> dict[str, str]:
    settings = {name: value for name, value in args.setting}
    for name in ("web_workers", "web_threads", "worker_concurrency"):
        if getattr(args, name, None) is not None:
            settings[name.upper()] = str(getattr(args, name))
    return settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m capacity", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="one scenario at a fixed number of users for a fixed time")
    _add_load_arguments(run)
    run.add_argument("--users", type=int, default=10, help="concurrent users (default 10)")
    run.add_argument("--duration", type=parse_duration, default=30.0, help="run time, e.g. 60s, 2m (default 30s)")
    run.set_defaults(handler=command_load, ramp=False)

    ramp = commands.add_parser("ramp", help="step the users up; the largest step that holds is the capacity")
    _add_load_arguments(ramp)
    ramp.add_argument("--steps", type=parse_steps, required=True, help="user counts, e.g. 50,100,200,500")
    ramp.add_argument("--step-duration", type=parse_duration, default=30.0,
                      help="measured time per step, after its users have started (default 30s)")
    ramp.add_argument("--p95-ms", type=float, default=1000.0, help="service level: p95 below this (default 1000)")
    ramp.add_argument("--keep-going", action="store_true", help="run every step even after one breaks")
    ramp.set_defaults(handler=command_load, ramp=True)

    bench = commands.add_parser("bench-compression", help="the compression core against the command-line tools")
    bench.add_argument("--corpus", type=Path, default=None, metavar="DIR",
                       help="folder holding the corpora (<name>.bin); built with make_corpus.py if missing "
                            "(default ~/.cache/comprimemelo-corpus)")
    bench.add_argument("--corpora", default="text,binary,mixed", help="default text,binary,mixed")
    bench.add_argument("--formats", default="", help="only these formats (default all six)")
    bench.add_argument("--repeat", "--repeats", dest="repeats", type=int, default=3,
                       help="runs per measurement; the median is kept (default 3)")
    bench.add_argument("--threads", type=int, default=2, help="threads for the core and the tools (default 2)")
    bench.add_argument("--mode", choices=("library", "process"), default="library",
                       help="library: compress() in this process; process: the comprimemelo compress command as "
                            "a whole process, and its start-up on an empty file (default library)")
    bench.add_argument("--out", type=Path, default=None,
                       help="default capacity/reports/compression (process mode: compression-process)")
    bench.add_argument("--note", action="append", default=[])
    bench.set_defaults(handler=command_bench)

    soak = commands.add_parser("soak", help="the mixed scenario for a long while, sampling web and worker RSS")
    _add_server_arguments(soak, out=REPORTS / "soak")
    soak.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    soak.add_argument("--spawn-rate", type=float, default=10, help="users started per second (default 10)")
    soak.add_argument("--duration", type=parse_duration, default=600.0, help="run time (default 10m)")
    soak.add_argument("--sample-seconds", type=float, default=5.0, help="RSS sampling interval (default 5)")
    soak.set_defaults(handler=command_soak)

    e2e = commands.add_parser("bench-e2e", help="target 2: files/min through the service vs the bare core")
    _add_server_arguments(e2e, out=REPORTS / "e2e")
    e2e.add_argument("--file-size", type=parse_size, default=5 * 10**6, help="default 5MB")
    e2e.add_argument("--files", type=int, default=24, help="files per batch (default 24)")
    e2e.add_argument("--rounds", type=int, default=3, help="batches per side, interleaved (default 3)")
    e2e.add_argument("--formats", default="zip,tar.gz,tar.zst", help="used in turn (default zip,tar.gz,tar.zst)")
    e2e.add_argument("--latency-files", type=int, default=30, help="files sent one at a time (default 30)")
    e2e.set_defaults(handler=command_target, target="e2e")

    api = commands.add_parser("bench-api", help="target 3: GET /api/tasks at 1000 connections vs bare Flask")
    _add_server_arguments(api, out=REPORTS / "api")
    api.add_argument("--users", type=int, default=1000, help="concurrent connections (default 1000)")
    api.add_argument("--spawn-rate", type=float, default=200, help="users started per second (default 200)")
    api.add_argument("--duration", type=parse_duration, default=30.0, help="measured time per run (default 30s)")
    api.add_argument("--rounds", type=int, default=2, help="runs per side, interleaved (default 2)")
    api.add_argument("--accounts", type=int, default=20)
    api.add_argument("--tasks-per-account", type=int, default=20)
    api.add_argument("--generator", choices=("locust", "wrk", "openloop"), default="locust",
                     help="load generator (default locust; wrk: the Debian package, see capacity/wrk.py; "
                          "openloop: a fixed arrival rate, see capacity/openloop.py)")
    api.add_argument("--rate", type=float, default=3000.0,
                     help="with --generator openloop: requests per second (default 3000)")
    api.set_defaults(handler=command_target, target="api")

    auth = commands.add_parser("bench-auth", help="target 4: logins and sign-ups vs the argon2id hash rate")
    _add_server_arguments(auth, out=REPORTS / "auth")
    auth.add_argument("--clients", type=int, default=8, help="HTTP client threads (default 8)")
    auth.add_argument("--hash-threads", type=int, default=4, help="threads hashing for the baseline (default 4)")
    auth.add_argument("--duration", type=parse_duration, default=20.0, help="per measurement (default 20s)")
    auth.add_argument("--rounds", type=int, default=3)
    auth.add_argument("--burst", type=int, default=350, help="logins sent at once (default 350)")
    auth.set_defaults(handler=command_target, target="auth")

    upload = commands.add_parser("bench-upload", help="target 5: a 2 GiB upload: web RSS, MB/s; worker RSS")
    _add_server_arguments(upload, out=REPORTS / "upload")
    upload.add_argument("--size", type=parse_size, default=2 * 2**30, help="upload size (default 2GiB)")
    upload.add_argument("--worker-sizes", default="10MB,200MB,2GiB",
                        help="files the worker compresses, smallest first (default 10MB,200MB,2GiB)")
    upload.add_argument("--format", default="tar.zst", help="archive format (default tar.zst)")
    upload.add_argument("--rounds", type=int, default=2)
    upload.set_defaults(handler=command_target, target="upload")

    requests = commands.add_parser("bench-requests",
                                   help="database statements and web CPU per request; worker statements per task")
    requests.add_argument("--database", choices=("postgres", "sqlite"), default="postgres",
                          help="a throwaway PostgreSQL 15 cluster (default) or SQLite")
    requests.add_argument("--rounds", type=int, default=40, help="requests per endpoint (default 40)")
    requests.add_argument("--hash-rounds", type=int, default=5,
                          help="sign-ups and log-ins (argon2id, slow by design; default 5)")
    requests.add_argument("--out", type=Path, default=REPORTS / "requests")
    requests.add_argument("--note", action="append", default=[])
    requests.set_defaults(handler=command_requests)

    plan = commands.add_parser("plan", help="the Google Cloud sizing and monthly cost for a workload")
    plan.add_argument("--tasks-per-day", type=int, required=True)
    plan.add_argument("--peak-to-mean", type=float, default=3.0, help="busiest hour over the daily mean (default 3)")
    plan.add_argument("--burst-factor", type=float, default=10.0, help="burst over the mean (default 10)")
    plan.add_argument("--burst-minutes", type=float, default=15.0)
    plan.add_argument("--file-sizes", default="200KB:0.5,2MB:0.35,20MB:0.13,200MB:0.02",
                      help="SIZE:WEIGHT,... (default 200KB:0.5,2MB:0.35,20MB:0.13,200MB:0.02)")
    plan.add_argument("--formats", default="zip:0.35,tar.gz:0.2,tar.zst:0.3,7z:0.1,tar.xz:0.05",
                      help="FORMAT:WEIGHT,... at the levels the compression benchmark measured")
    plan.add_argument("--latency-p95", type=float, default=120.0,
                      help="target p95 of upload -> processed, seconds (default 120)")
    plan.add_argument("--api-users", type=int, default=0, help="API users at peak (default: tasks/day / 1000)")
    plan.add_argument("--download-fraction", type=float, default=1.0, help="downloads per archive (default 1)")
    plan.add_argument("--retention-days", type=float, default=7.0)
    plan.add_argument("--corpus", choices=("text", "binary", "mixed"), default="mixed",
                      help="compression benchmark corpus the files are like (default mixed)")
    plan.add_argument("--prices", type=Path, default=None, help="price table (default capacity/prices.toml)")
    plan.add_argument("--out", type=Path, help="report folder (default capacity/reports/plan-<tasks>)")
    plan.set_defaults(handler=command_plan)

    simulate = commands.add_parser("simulate-autoscaler",
                                   help="the worker autoscaler through a 10x burst: before and after, as charts")
    simulate.add_argument("--out", type=Path, default=REPORTS / "plan-simulation")
    simulate.set_defaults(handler=command_simulate)

    fairness = commands.add_parser("bench-fairness", help="one user's task behind another user's flood of tasks")
    _add_server_arguments(fairness, out=REPORTS / "fairness")
    fairness.add_argument("--flood", type=int, default=500, help="tasks the flooder queues (default 500)")
    fairness.add_argument("--file-size", type=parse_size, default=256 * 2**10, help="every task's file (default 256KiB)")
    fairness.add_argument("--format", default="tar.gz", help="archive format (default tar.gz)")
    fairness.add_argument("--rounds", type=int, default=3, help="measurements per side, interleaved (default 3)")
    fairness.add_argument("--fifo-rev", metavar="REVISION",
                          help="also measure this commit's code (e.g. the one before fair claims) as the baseline")
    fairness.set_defaults(handler=command_fairness)

    overview = commands.add_parser("summary", help="write REPORTS/README.md: the headline figures of every report")
    overview.add_argument("reports", type=Path, nargs="?", default=REPORTS)
    overview.set_defaults(handler=command_summary)

    report = commands.add_parser("report", help="rewrite report.html of a folder from its summary.json and CSVs")
    report.add_argument("folder", type=Path)
    report.set_defaults(handler=command_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    args.command_line = "python -m capacity " + shlex.join(argv)
    return args.handler(args)


def command_load(args: argparse.Namespace) -> int:
    from capacity.loadrun import RunConfig, execute
    from capacity.server import local_server

    mode = "ramp" if args.ramp else "run"
    out = args.out or REPORTS / f"{args.scenario}-{mode}-{time.strftime('%Y%m%d-%H%M%S')}"
    settings = {name: value for name, value in args.setting}
    for name in ("web_workers", "web_threads", "worker_concurrency"):
        if getattr(args, name) is not None:
            settings[name.upper()] = str(getattr(args, name))
    with contextlib.ExitStack() as stack:
        if args.serve:
            host, service = stack.enter_context(local_server(args.serve, settings))
        else:
            host = args.host.rstrip("/")
            service = {"base_url": host, "configuration": args.service_note
                       or "not started by this tool: see the deployment (web VM size, workers, database)"}
        config = RunConfig(
            host=host, scenario=args.scenario, out=out,
            users=getattr(args, "users", 0), spawn_rate=args.spawn_rate,
            duration=getattr(args, "duration", 0.0),
            steps=getattr(args, "steps", []), step_duration=getattr(args, "step_duration", 0.0),
            p95_ms=getattr(args, "p95_ms", 1000.0), keep_going=getattr(args, "keep_going", False),
            wait=args.wait, file_size=args.file_size,
            formats=tuple(f.strip() for f in args.formats.split(",") if f.strip()),
            level=args.level, accounts=args.accounts, tasks_per_account=args.tasks_per_account,
            command=args.command_line, service=service, notes=args.note,
        )
        summary = execute(config)
    _print_headline(summary, out)
    return 0


def _print_headline(summary: dict, out: Path) -> None:
    totals = summary["totals"]
    print(f"{summary['scenario']}: {totals['requests']} requests, {totals['rps']:.1f} req/s, "
          f"p50 {totals['p50_ms']} ms, p95 {totals['p95_ms']} ms, p99 {totals['p99_ms']} ms, "
          f"{totals['failures']} failures")
    if summary.get("ramp"):
        print(f"capacity: {summary['ramp']['capacity_users']} users at p95 < {summary['ramp']['p95_threshold_ms']} ms "
              "with 0 errors")
    if summary.get("conversions"):
        conv = summary["conversions"]
        print(f"conversions: {conv['processed']} processed, {conv['files_per_minute']:.1f} files/min, "
              f"upload->processed p50 {conv['p50_seconds']} s p95 {conv['p95_seconds']} s")
    print(f"report: {out / 'report.html'}")


def command_bench(args: argparse.Namespace) -> int:
    from capacity import bench, report
    from capacity.machine import machine_facts

    # SIGTERM unwinds like Ctrl-C, so the scratch archives are removed.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    machine = machine_facts()
    summary = bench.run_benchmark(
        [c.strip() for c in args.corpora.split(",") if c.strip()],
        [f.strip() for f in args.formats.split(",") if f.strip()] or None,
        args.repeats, args.threads,
        corpus_dir=args.corpus or bench.CORPUS_DIR,
        require_tools=bool(os.environ.get("CI")),
        mode=args.mode,
    )
    args.out = args.out or REPORTS / ("compression" if args.mode == "library" else "compression-process")
    machine["load_average_at_end"] = list(os.getloadavg())
    summary.update(command=args.command_line, machine=machine, notes=args.note)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.out / "bench.md").write_text(report.bench_document(summary))
    report.write_report(args.out)
    print(report.bench_document(summary))
    print(f"report: {args.out / 'report.html'}")
    return 0


def command_soak(args: argparse.Namespace) -> int:
    from capacity.loadrun import RunConfig  # locust patches the process before the server starts
    from capacity.server import local_server
    from capacity.soak import run_soak

    with local_server(args.serve, _server_settings(args)) as (host, service):
        config = RunConfig(host=host, scenario="mixed", out=args.out, users=args.users, spawn_rate=args.spawn_rate,
                           duration=args.duration, command=args.command_line, service=service, notes=args.note)
        summary = run_soak(config, args.sample_seconds)
    _print_headline(summary, args.out)
    print((args.out / "soak.md").read_text())
    return 0


def command_target(args: argparse.Namespace) -> int:
    """``bench-e2e``, ``bench-api``, ``bench-auth``, ``bench-upload``: start a server, measure, write the report."""
    if args.target == "api":
        from capacity import apibench  # noqa: F401 - locust must patch the process before requests/ssl load
    from capacity import targets
    from capacity.server import local_server

    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    settings = _server_settings(args)
    if args.target == "upload":
        # The limit counts the whole request; a 2 GiB file needs room for the multipart framing.
        settings.setdefault("MAX_UPLOAD_BYTES", str(max([args.size, *map(parse_size, args.worker_sizes.split(","))])
                                                     + UPLOAD_FRAMING_ALLOWANCE))
    with local_server(args.serve, settings) as (host, service):
        common = {"command": args.command_line, "notes": args.note}
        if args.target == "e2e":
            from capacity import e2e

            summary = e2e.run(host, service, file_size=args.file_size, files=args.files, rounds=args.rounds,
                              formats=[f.strip() for f in args.formats.split(",") if f.strip()],
                              latency_files=args.latency_files, **common)
        elif args.target == "api":
            from capacity import apibench

            summary = apibench.run(host, service, users=args.users, spawn_rate=args.spawn_rate,
                                   duration=args.duration, rounds=args.rounds, accounts=args.accounts,
                                   tasks_per_account=args.tasks_per_account, generator=args.generator,
                                   rate=args.rate, **common)
        elif args.target == "auth":
            from capacity import authbench

            summary = authbench.run(host, service, clients=args.clients, hash_threads=args.hash_threads,
                                    seconds=args.duration, rounds=args.rounds, burst=args.burst, **common)
        else:
            from capacity import uploadbench

            summary = uploadbench.run(host, service, size=args.size, fmt=args.format, rounds=args.rounds,
                                      worker_sizes=[parse_size(s) for s in args.worker_sizes.split(",") if s.strip()],
                                      **common)
    targets.write(args.out, summary)
    return 0


def command_requests(args: argparse.Namespace) -> int:
    from capacity import requestcost

    summary = requestcost.run(database=args.database, rounds=args.rounds, hash_rounds=args.hash_rounds,
                              command=args.command_line, notes=args.note)
    requestcost.write(args.out, summary)
    print(requestcost.markdown(summary))
    return 0


def plan_workload(args: argparse.Namespace):
    from capacity.plan import Workload, parse_mix

    try:
        return Workload(
            tasks_per_day=args.tasks_per_day, peak_to_mean=args.peak_to_mean, burst_factor=args.burst_factor,
            burst_minutes=args.burst_minutes, file_sizes=parse_mix(args.file_sizes, parse_size),
            formats=parse_mix(args.formats), latency_target_p95_seconds=args.latency_p95,
            api_users_at_peak=args.api_users, download_fraction=args.download_fraction,
            retention_days=args.retention_days)
    except (ValueError, argparse.ArgumentTypeError) as error:
        raise SystemExit(f"python -m capacity plan: {error}") from None


def command_plan(args: argparse.Namespace) -> int:
    from capacity.figures import load_figures
    from capacity.plan import load_prices, make_plan
    from capacity.planreport import SCALE_LABELS, write_plan

    workload = plan_workload(args)
    unknown = {fmt for fmt, _ in workload.formats} - set(load_figures(corpus=args.corpus).formats)
    if unknown:
        raise SystemExit(f"python -m capacity plan: no measured figures for {', '.join(sorted(unknown))}")
    plan = make_plan(workload, load_figures(corpus=args.corpus), load_prices(args.prices) if args.prices else None)
    label = SCALE_LABELS.get(workload.tasks_per_day, str(workload.tasks_per_day))
    out = args.out or REPORTS / f"plan-{label}"
    print(write_plan(out, plan, args.command_line))
    print(f"report: {out / 'plan.md'}")
    return 0


def command_simulate(args: argparse.Namespace) -> int:
    from capacity.plan import Workload, load_prices
    from capacity.planreport import write_simulation
    from capacity.simulation import FIRST_SIZING_1M, ORIGINAL_POLICY, planned_policy, simulate, terraform_policy

    vcpus = {name: spec["vcpus"] for name, spec in load_prices()["compute"]["machine_types"].items()}
    scenarios = [
        ("Before: Terraform defaults of commit 261c647, 100k tasks/day",
         "The policy terraform/ had before issue 21, at the load its defaults are now sized for.",
         simulate(Workload(100_000), ORIGINAL_POLICY)),
        ("Before: Terraform defaults of commit 261c647, 1M tasks/day",
         "The same policy at 1M tasks a day: messages_per_instance = vCPUs lets the group run full between bursts.",
         simulate(Workload(1_000_000), ORIGINAL_POLICY)),
        ("Before: the plan's first sizing, 1M tasks/day",
         "max_replicas for the burst's arrival rate alone, one undelivered message per worker slot: it misses the "
         "target, because the tasks that arrive while the autoscaler reacts pile up.",
         simulate(Workload(1_000_000), FIRST_SIZING_1M)),
        ("After: Terraform defaults now (terraform/variables.tf), 100k tasks/day",
         "The root module's defaults, read from terraform/variables.tf.",
         simulate(Workload(100_000), terraform_policy(vcpus))),
        ("After: the plan for 10k tasks/day (terraform/examples/minimal)", "",
         simulate(Workload(10_000), planned_policy(Workload(10_000)))),
        ("After: the plan for 1M tasks/day (terraform/examples/production)",
         "min_replicas has room for most of the burst's first minutes; max_replicas drains the pile within "
         "the target.", simulate(Workload(1_000_000), planned_policy(Workload(1_000_000)))),
    ]
    from capacity.plan import BOOT_SECONDS, DECISION_SECONDS, METRIC_DELAY_SECONDS, METRIC_SAMPLE_SECONDS

    notes = [
        f"Metric sampled every {METRIC_SAMPLE_SECONDS} s and seen {METRIC_DELAY_SECONDS} s later; a decision every "
        f"{DECISION_SECONDS} s; a VM takes tasks {BOOT_SECONDS} s after it is created. These are documented or "
        "estimated, not measured: no VM was booted and no autoscaler observed here.",
        "Service times: the capacity plan's mix, from the compression benchmark's CPU per MB over the end-to-end "
        "efficiency (capacity/figures.py). One task per vCPU.",
        "Poisson arrivals, seed 21; 30 minutes at the mean before the burst, 75 minutes after its start.",
    ]
    path = write_simulation(args.out, scenarios, notes, args.command_line)
    for title, _, result in scenarios:
        summary = result.summary()
        print(f"{title}: p95 in the burst {summary['p95_burst_window_seconds']} s (target "
              f"{summary['target_p95_seconds']:g} s, {'met' if summary['meets_target'] else 'missed'}), "
              f"max {summary['max_vms']} VMs")
    print(f"report: {path}")

def command_fairness(args: argparse.Namespace) -> int:
    """``bench-fairness``: a fresh server per measurement (see ``capacity.fairbench``)."""
    from capacity import fairbench, targets

    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    summary = fairbench.run(args.serve, _server_settings(args), flood=args.flood, rounds=args.rounds,
                            file_size=args.file_size, fmt=args.format, fifo_revision=args.fifo_rev,
                            command=args.command_line, notes=args.note)
    targets.write(args.out, summary)
    return 0


def command_report(args: argparse.Namespace) -> int:
    from capacity import report

    print(report.write_report(args.folder))
    return 0


def command_summary(args: argparse.Namespace) -> int:
    from capacity.summary import write_summary

    print(write_summary(args.reports))
    return 0
