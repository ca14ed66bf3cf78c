"""The measured figures the capacity plan rests on, read from the committed reports.

Each figure carries where it comes from (report file and field), so the plan
can say which measurement each of its outputs rests on. Re-running a
benchmark rewrites its report, and the plan follows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

REPORTS = Path(__file__).resolve().parent / "reports"
MB = 10**6


@dataclass(frozen=True)
class Figure:
    """One measured number and where it was measured."""

    value: float
    unit: str
    source: str  # report path (relative to capacity/reports) and field


@dataclass(frozen=True)
class FormatCost:
    """A format at the level the benchmark measured: CPU per input MB on one core, and output/input size."""

    level: int
    cpu_seconds_per_mb: Figure
    ratio: Figure


@dataclass(frozen=True)
class MeasuredFigures:
    formats: dict[str, FormatCost]
    corpus: str
    worker_efficiency: Figure  # files/min through the service / through the bare core
    web_cpu_ms: dict[str, Figure]  # per endpoint, in process
    db_statements: dict[str, Figure]  # per endpoint
    worker_statements_per_task: Figure
    http_overhead_ms: Figure  # whole cost of one fast-path request over HTTP, per core
    upload_cpu_seconds_per_mb: Figure  # web CPU per uploaded MB beyond the first (streaming)
    db_statements_per_vcpu: Figure  # PostgreSQL simple statements/s per vCPU (lower bound)
    machine: str = ""
    notes: list[str] = field(default_factory=list)

    def all(self) -> dict[str, Figure]:
        """Every figure by a stable key, for the report's "rests on" table."""
        found = {f"compression[{name}].cpu_seconds_per_mb": cost.cpu_seconds_per_mb for name, cost in self.formats.items()}
        found.update({f"compression[{name}].ratio": cost.ratio for name, cost in self.formats.items()})
        found.update({f"web_cpu_ms[{name}]": figure for name, figure in self.web_cpu_ms.items()})
        found.update({f"db_statements[{name}]": figure for name, figure in self.db_statements.items()})
        found.update({
            "worker_efficiency": self.worker_efficiency,
            "worker_statements_per_task": self.worker_statements_per_task,
            "http_overhead_ms": self.http_overhead_ms,
            "upload_cpu_seconds_per_mb": self.upload_cpu_seconds_per_mb,
            "db_statements_per_vcpu": self.db_statements_per_vcpu,
        })
        return found


def _load(reports: Path, name: str) -> dict:
    return json.loads((reports / name / "summary.json").read_text())


def _check(summary: dict, prefix: str) -> dict:
    return next(check for check in summary["checks"] if check["name"].startswith(prefix))


def load_figures(reports: Path = REPORTS, corpus: str = "mixed") -> MeasuredFigures:
    """The figures of the committed reports; ``corpus`` picks the compression corpus (text, binary, mixed).

    :raise FileNotFoundError: if a report the plan needs is missing.
    """
    compression = _load(reports, "compression")
    formats: dict[str, FormatCost] = {}
    for row in compression["rows"]:
        if row["corpus"] != corpus or row["format"] in formats:
            continue
        input_mb = row["core_mb_s"] * row["core_seconds"]
        where = f"compression/summary.json rows[corpus={corpus}, format={row['format']}]"
        formats[row["format"]] = FormatCost(
            level=row["level"],
            cpu_seconds_per_mb=Figure(row["core_cpu_seconds"] / input_mb, "CPU s/MB",
                                      f"{where}: core_cpu_seconds / (core_mb_s x core_seconds)"),
            ratio=Figure(row["core_ratio"], "output/input", f"{where}: core_ratio"),
        )

    e2e = _load(reports, "e2e")
    files = _check(e2e, "files/min")
    worker_efficiency = Figure(files["ratio"], "x the bare core", "e2e/summary.json checks['files/min through the "
                               "service'].ratio (web, worker and database on the same cores)")

    requests = _load(reports, "requests")
    web_cpu_ms, db_statements = {}, {}
    for endpoint, row in requests["results"]["endpoints"].items():
        where = f"requests/summary.json results.endpoints['{endpoint}']"
        web_cpu_ms[endpoint] = Figure(row["cpu_ms_median"], "CPU ms", f"{where}.cpu_ms_median")
        db_statements[endpoint] = Figure(row["statements_median"], "statements", f"{where}.statements_median")
    worker = requests["results"]["worker_per_task"]
    worker_statements = Figure(worker["statements_median"], "statements",
                               "requests/summary.json results.worker_per_task.statements_median")

    api = _load(reports, "api")
    rps = api["results"]["service_rps_median"]
    cores = api["machine"]["cores"]
    generator_cores = max(run["load_generator_cpu_percent"] for run in api["results"]["service_runs"]) / 100
    http_overhead = Figure(1000 * (cores - generator_cores) / rps, "CPU ms",
                           "api/summary.json: (machine.cores - load generator CPU) / results.service_rps_median")

    upload = _load(reports, "upload")
    speed = _check(upload, "upload speed")
    upload_cpu = Figure(1 / speed["measured"], "CPU s/MB",
                        "upload/summary.json checks['upload speed on loopback']: 1 / measured MB/s (one core)")

    postgres = _load(reports, "api-postgres")
    per_vcpu = postgres["results"]["service_rps_median"] / postgres["machine"]["cores"]
    db_rate = Figure(per_vcpu, "statements/s per vCPU",
                     "api-postgres/summary.json results.service_rps_median / machine.cores (one statement per "
                     "cached list; PostgreSQL shared the cores with locust and the web)")
    machine = compression["machine"]
    return MeasuredFigures(
        formats=formats, corpus=corpus, worker_efficiency=worker_efficiency, web_cpu_ms=web_cpu_ms,
        db_statements=db_statements, worker_statements_per_task=worker_statements, http_overhead_ms=http_overhead,
        upload_cpu_seconds_per_mb=upload_cpu, db_statements_per_vcpu=db_rate,
        machine=f"{machine['cores']} cores ({machine['cpu_model']}), commit {machine.get('git_commit')}",
    )
