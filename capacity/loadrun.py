"""Run a scenario with locust as a library (headless, bounded), or a ramp of steps,
and write the report folder.

Imports locust: run in the ``python -m capacity`` process only.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import gevent
from locust import between
from locust.env import Environment
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV, StatsCSVFileWriter

from capacity import report, stats
from capacity.accounts import PoolSpec, create_pool
from capacity.machine import machine_facts
from capacity.scenarios import SCENARIOS, ScenarioContext, make_content

log = logging.getLogger("capacity")

USER_SAMPLE_SECONDS = 1.0
SPAWN_WAIT_EXTRA_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10
LOCUST_CSV_PREFIX = "locust"


@dataclass
class RunConfig:
    """Everything that decides a run; recorded in ``summary.json``."""

    host: str
    scenario: str
    out: Path
    users: int = 10
    spawn_rate: float = 10
    duration: float = 30
    steps: list[int] = field(default_factory=list)  # ramp mode when not empty
    step_duration: float = 30
    p95_ms: float = 1000
    keep_going: bool = False
    wait: tuple[float, float] | None = None
    file_size: int | None = None
    formats: tuple[str, ...] = ("zip", "tar.gz", "tar.zst")
    level: int | None = None
    accounts: int | None = None
    tasks_per_account: int | None = None
    command: str = ""
    service: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class Recorder:
    """Keeps every request and the user count over time, for exact per-window statistics."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.samples: list[stats.Sample] = []
        self.users: list[tuple[float, int]] = []
        env.events.request.add_listener(self._on_request)

    def _on_request(self, request_type, name, response_time, exception=None, **_kwargs) -> None:
        self.samples.append(stats.Sample(time.time(), request_type, name, float(response_time or 0),
                                         exception is not None))

    def sample_users(self) -> None:
        while True:
            self.users.append((time.time(), self.env.runner.user_count))
            gevent.sleep(USER_SAMPLE_SECONDS)

    def window(self, start: float, end: float) -> list[stats.Sample]:
        return [s for s in self.samples if start <= s.time < end]


def execute(config: RunConfig) -> dict:
    """Set up the account pool, run the load, write the report folder; return the summary."""
    scenario = SCENARIOS[config.scenario]
    user_class = scenario.user_class
    wait = config.wait if config.wait is not None else scenario.wait
    user_class.wait_time = between(*wait)
    config.out.mkdir(parents=True, exist_ok=True)
    tag = f"cap{uuid.uuid4().hex[:8]}"
    pool = PoolSpec(
        config.accounts if config.accounts is not None else scenario.pool.accounts,
        config.tasks_per_account if config.tasks_per_account is not None else scenario.pool.tasks_per_account,
    )
    machine = machine_facts()
    setup_started = time.time()
    accounts = create_pool(config.host, tag, pool)
    setup_seconds = time.time() - setup_started
    file_size = config.file_size if config.file_size is not None else scenario.default_file_size
    context = ScenarioContext(
        tag=tag, accounts=accounts, file_size=file_size, formats=config.formats, level=config.level,
        content=make_content(file_size) if file_size else b"",
    )

    env = Environment(user_classes=[user_class], host=config.host)
    env.capacity = context
    runner = env.create_local_runner()
    recorder = Recorder(env)
    csv_writer = StatsCSVFileWriter(env, PERCENTILES_TO_REPORT, str(config.out / LOCUST_CSV_PREFIX))
    greenlets = [gevent.spawn(csv_writer.stats_writer), gevent.spawn(recorder.sample_users)]

    started = time.time()
    steps = []
    try:
        if config.steps:
            steps = _ramp(config, runner, recorder)
        else:
            runner.start(config.users, spawn_rate=config.spawn_rate)
            gevent.sleep(config.duration)
    finally:
        ended = time.time()
        runner.quit()
        gevent.killall(greenlets, timeout=STOP_TIMEOUT_SECONDS)
        csv_writer.close_files()
        _final_locust_csvs(env, config.out)

    summary = _summary(config, scenario, pool, setup_seconds, recorder, context, started, ended, steps,
                       machine, user_exceptions=len(runner.exceptions))
    _write_outputs(config.out, summary, recorder, context, started, ended)
    report.write_report(config.out)
    return summary


def _ramp(config: RunConfig, runner, recorder: Recorder) -> list[dict]:
    """Step the users up; measure each step after its users have all started."""
    steps = []
    for users in config.steps:
        runner.start(users, spawn_rate=config.spawn_rate)
        deadline = time.monotonic() + users / config.spawn_rate + SPAWN_WAIT_EXTRA_SECONDS
        while runner.user_count < users and time.monotonic() < deadline:
            gevent.sleep(0.2)
        start = time.time()
        gevent.sleep(config.step_duration)
        end = time.time()
        window = stats.summarize(recorder.window(start, end), end - start)
        passed = (
            window["requests"] > 0
            and window["failures"] == 0
            and window["p95_ms"] is not None
            and window["p95_ms"] < config.p95_ms
        )
        steps.append({"users": users, "start": start, "end": end, "passed": passed, **window})
        log.info(
            "step %d users: %.1f req/s, p95 %s ms, %d failures -> %s",
            users, window["rps"], window["p95_ms"], window["failures"], "holds" if passed else "BREAKS",
        )
        if not passed and not config.keep_going:
            break
    return steps


def _final_locust_csvs(env: Environment, out: Path) -> None:
    """Rewrite locust's totals CSVs once more after the users stopped."""
    writer = StatsCSV(env, PERCENTILES_TO_REPORT)
    for suffix, method in (("stats", writer.requests_csv), ("failures", writer.failures_csv),
                           ("exceptions", writer.exceptions_csv)):
        with open(out / f"{LOCUST_CSV_PREFIX}_{suffix}.csv", "w", newline="") as handle:
            method(csv.writer(handle))


def _summary(config, scenario, pool, setup_seconds, recorder, context, started, ended, steps,
             machine, user_exceptions) -> dict:
    seconds = ended - started
    conversions = [dataclasses.asdict(c) for c in context.conversions]
    summary = {
        "scenario": config.scenario,
        "description": scenario.description,
        "mode": "ramp" if config.steps else "run",
        "command": config.command,
        "host": config.host,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_seconds": round(seconds, 1),
        "users": config.steps[-1] if config.steps else config.users,
        "spawn_rate": config.spawn_rate,
        "wait_seconds": list(config.wait if config.wait is not None else scenario.wait),
        "setup": {"accounts": pool.accounts, "tasks_per_account": pool.tasks_per_account,
                  "seconds": round(setup_seconds, 1)},
        "file": {"bytes": context.file_size, "formats": list(context.formats), "level": context.level}
        if context.file_size else None,
        "machine": {**machine, "load_average_at_end": list(os.getloadavg())},
        "service": config.service,
        "load_generator": "locust (one process, gevent, FastHttpUser) on the same machine as the service",
        "totals": stats.summarize(recorder.samples, seconds),
        "endpoints": stats.by_endpoint(recorder.samples, seconds),
        "user_exceptions": user_exceptions,
        "notes": list(config.notes),
    }
    if conversions or scenario.default_file_size:
        summary["conversions"] = stats.conversion_summary(conversions, seconds)
    if config.steps:
        summary["ramp"] = {
            "steps_requested": config.steps,
            "step_duration_seconds": config.step_duration,
            "p95_threshold_ms": config.p95_ms,
            "rule": "a step holds with 0 failed requests and p95 below the threshold, "
                    "measured after all its users have started",
            "steps": [{k: v for k, v in step.items() if k not in ("start", "end")}
                      | {"from_second": round(step["start"] - started, 1),
                         "to_second": round(step["end"] - started, 1)} for step in steps],
            "capacity_users": stats.capacity_from_steps(steps),
        }
    return summary


def _write_outputs(out: Path, summary: dict, recorder: Recorder, context, started: float, ended: float) -> None:
    finished = [c.finished for c in context.conversions if c.status == "processed"]
    rows = stats.per_second(recorder.samples, recorder.users, started, ended, finished)
    _write_csv(out / "timeseries.csv", rows)
    if context.conversions:
        _write_csv(out / "conversions.csv", [
            {**dataclasses.asdict(c), "started": round(c.started - started, 3),
             "finished": round(c.finished - started, 3)} for c in context.conversions
        ])
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
