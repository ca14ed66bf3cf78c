"""The capacity plan: from a workload to the Google Cloud deployment's sizes and monthly cost.

``python -m capacity plan --tasks-per-day 1000000`` prints and writes the
plan. Every size comes from figures measured by this repository's benchmarks
(capacity/figures.py; the report names the figure each output rests on) and
every cost from the price table (capacity/prices.toml, or ``--prices``).

The model, in short:

- a task costs the worker ``size x CPU s/MB(format)`` on one core, divided by
  the end-to-end efficiency of the service against the bare core;
- worker VMs run one task per vCPU (``COMPRIMEMELO_WORKER_CONCURRENCY``
  defaults to the cores) and are sized so that the peak keeps them at
  ``WORKER_UTILISATION`` and p95 of upload -> processed (a bound: p95 of the
  service time plus p95 of the M/M/c queueing wait) within the target; the
  most is what the burst needs;
- web VMs are sized on CPU per request (in-process CPU plus the HTTP cost of a
  request), at the autoscaler's CPU target;
- Cloud SQL on statements per second (per endpoint, measured) against the
  statements per vCPU PostgreSQL served here, at ``DATABASE_UTILISATION``, and
  on the connections the pools may open;
- Pub/Sub, Cloud Storage, the load balancer, Cloud Armor, NAT and logging on
  the request and byte volumes that follow.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from capacity.figures import MB, MeasuredFigures, load_figures

PRICES = Path(__file__).resolve().parent / "prices.toml"
SECONDS_PER_DAY = 86_400
DAYS_PER_MONTH = 30.4
GIB = 2**30

WORKER_UTILISATION = 0.75  # worker cores busy at the daily peak
BURST_DRAIN_UTILISATION = 0.9  # at max_replicas the burst's arrivals fill this much of the workers
WEB_CPU_TARGET = 0.6  # the web autoscaler's CPU target (terraform web_autoscaling.cpu_target)
WEB_LB_TARGET = 0.8  # the web autoscaler's load-balancing target
DATABASE_UTILISATION = 0.5  # of the measured statement rate: writes and HA replication cost more than the reads measured
MIN_WEB_VMS = 2  # one per zone at least: the load balancer keeps serving when a zone fails
MIN_WORKER_VMS = 2
MAX_GROUP_SIZE = 50  # a bigger machine type is chosen before a group grows past this
DIRECT_UPLOAD_BYTES = 64 * 2**20  # larger files go in chunks straight to Cloud Storage (docs/uploads.md)
WEB_MACHINE_TYPES = ("e2-standard-2", "e2-standard-4", "e2-standard-8")
WORKER_MACHINE_TYPES = ("c2d-standard-2", "c2d-standard-4", "c2d-standard-8", "c2d-standard-16")
WEB_DISK_GB = 20
WORKER_DISK_GB = 50
WEB_THREADS = 8  # COMPRIMEMELO_WEB_THREADS default: sets the pool size per process
POOL_OVERFLOW = 10  # COMPRIMEMELO_DB_MAX_OVERFLOW default
DATABASE_ROW_BYTES = 2_000  # task, file and webhook rows of one task, with indexes (estimate)
DATABASE_ROWS_KEPT_DAYS = 365  # task rows stay (status expired) after their files are deleted
MIN_DATABASE_DISK_GB = 10
PUBSUB_REQUESTS_PER_TASK = 3  # publish, delivery, acknowledgement (each billed at >= 1,000 bytes)
STORAGE_CLASS_A_PER_TASK = 2  # the upload's write, the archive's write
STORAGE_CLASS_B_PER_TASK = 3  # the worker's read, metadata reads, the download
LOG_BYTES_PER_REQUEST = 2_000  # the load balancer's request log and the app's access log (estimate)
ARMOR_RULES = 4  # terraform/modules/load_balancer: Log4j canary, auth rate limit, default, plus one spare
FORWARDING_RULES = 2  # HTTPS and the HTTP redirect
# The worker autoscaler's reaction (capacity/simulation.py models each step):
METRIC_SAMPLE_SECONDS = 60  # Pub/Sub's num_undelivered_messages is sampled every minute ...
METRIC_DELAY_SECONDS = 120  # ... and seen by the autoscaler up to 2 minutes later (documented, not measured)
DECISION_SECONDS = 60  # the autoscaler acts on the newest sample about once a minute (modelled)
BOOT_SECONDS = 90  # a worker VM from creation to its first task (estimate: no VM was booted here)
REACTION_SECONDS = METRIC_DELAY_SECONDS + DECISION_SECONDS + BOOT_SECONDS
BURST_WINDOW_AFTER_SECONDS = 15 * 60  # the latency of a burst is judged on tasks arriving in it and 15 min after
WORKER_COOLDOWN_SECONDS = 180  # the initialization period: longer than a boot, so a booting VM is not judged idle

UPLOAD = "POST /api/tasks (1 MB file)"
TASK = "GET /api/tasks/<id>"
LIST = "GET /api/tasks (list, unchanged: 304)"
LOGIN = "POST /api/auth/login"


def parse_mix(text: str, parse_key=str) -> tuple[tuple, ...]:
    """``"zip:0.4,tar.zst:0.6"`` -> ((zip, 0.4), (tar.zst, 0.6)), weights normalised to 1.

    :raise ValueError: on a malformed entry or no positive weight.
    """
    entries = []
    for part in text.split(","):
        key, sep, weight = part.strip().rpartition(":")
        if not sep or not key:
            raise ValueError(f"expected KEY:WEIGHT, got {part!r}")
        entries.append((parse_key(key), float(weight)))
    total = sum(weight for _, weight in entries)
    if total <= 0 or any(weight < 0 for _, weight in entries):
        raise ValueError(f"weights must be >= 0 and not all 0: {text!r}")
    return tuple((key, weight / total) for key, weight in entries)


@dataclass(frozen=True)
class Workload:
    """What the deployment must carry. Defaults: a plausible mix of everyday files."""

    tasks_per_day: int
    peak_to_mean: float = 3.0  # busiest hour's rate over the daily mean
    burst_factor: float = 10.0  # the burst the autoscaler must absorb: this times the mean
    burst_minutes: float = 15.0
    file_sizes: tuple = ((200_000, 0.5), (2_000_000, 0.35), (20_000_000, 0.13), (200_000_000, 0.02))
    formats: tuple = (("zip", 0.35), ("tar.gz", 0.2), ("tar.zst", 0.3), ("7z", 0.1), ("tar.xz", 0.05))
    latency_target_p95_seconds: float = 120.0  # upload 201 -> processed
    api_users_at_peak: int = 0  # 0: one per 1,000 tasks a day, at least 50
    poll_interval_seconds: float = 1.0  # the dashboard's list poll while a task is on its way
    download_fraction: float = 1.0  # archives downloaded once each
    retention_days: float = 7.0

    @property
    def users_at_peak(self) -> int:
        return self.api_users_at_peak or max(50, self.tasks_per_day // 1000)

    def rate(self, factor: float) -> float:
        """Tasks per second at ``factor`` times the daily mean."""
        return self.tasks_per_day / SECONDS_PER_DAY * factor

    def mix(self) -> list[tuple[int, str, float]]:
        """(size in bytes, format, probability) of every combination."""
        return [(size, fmt, ws * wf) for size, ws in self.file_sizes for fmt, wf in self.formats]


@dataclass
class Sizing:
    """One group's or service's size, and the measured figures it rests on."""

    values: dict
    basis: list[str]
    reasoning: str


@dataclass
class Plan:
    workload: Workload
    workers: Sizing
    web: Sizing
    database: Sizing
    volumes: Sizing
    costs: dict[str, float]
    cost_basis: dict[str, str]
    prices: dict
    figures: dict[str, dict] = field(default_factory=dict)

    @property
    def monthly_cost(self) -> float:
        return sum(self.costs.values())

    def to_json(self) -> dict:
        return {
            "workload": asdict(self.workload),
            "workers": asdict(self.workers), "web": asdict(self.web), "database": asdict(self.database),
            "volumes": asdict(self.volumes), "monthly_cost": {"total": round(self.monthly_cost, 2),
                                                               **{k: round(v, 2) for k, v in self.costs.items()}},
            "cost_basis": self.cost_basis, "prices_meta": self.prices["meta"], "figures": self.figures,
        }


def load_prices(path: Path = PRICES) -> dict:
    with open(path, "rb") as handle:
        return tomllib.load(handle)


# --- workers -------------------------------------------------------------------


def service_seconds(figures: MeasuredFigures, size: int, fmt: str) -> float:
    """One task's time on one worker core: bare-core CPU over the service's measured efficiency."""
    return size / MB * figures.formats[fmt].cpu_seconds_per_mb.value / figures.worker_efficiency.value


def service_time_distribution(workload: Workload, figures: MeasuredFigures) -> list[tuple[float, float]]:
    """(seconds, probability) of one task's service time, ascending."""
    return sorted((service_seconds(figures, size, fmt), p) for size, fmt, p in workload.mix())


def quantile(distribution: list[tuple[float, float]], q: float) -> float:
    cumulative = 0.0
    for value, probability in distribution:
        cumulative += probability
        if cumulative >= q - 1e-12:
            return value
    return distribution[-1][0]


def erlang_c(servers: int, offered: float) -> float:
    """Probability that an arrival waits, in M/M/c with ``offered`` = arrival rate x mean service time."""
    if offered >= servers:
        return 1.0
    term, total = 1.0, 1.0
    for k in range(1, servers):
        term *= offered / k
        total += term
    term *= offered / servers
    last = term * servers / (servers - offered)
    return last / (total + last)


def p95_wait(servers: int, arrival_rate: float, mean_service: float) -> float:
    """p95 of the queueing wait in M/M/c (0 when fewer than 5% of arrivals wait)."""
    offered = arrival_rate * mean_service
    if offered >= servers:
        return math.inf
    waiting = erlang_c(servers, offered)
    if waiting <= 0.05:
        return 0.0
    return math.log(waiting / 0.05) * mean_service / (servers - offered)


def _machine(prices: dict, name: str) -> dict:
    return prices["compute"]["machine_types"][name]


def size_workers(workload: Workload, figures: MeasuredFigures, prices: dict) -> Sizing:
    """Worker group: machine type, min/max, the autoscaler's target.

    max_replicas must carry the burst *and* drain, within the latency target,
    what piled up while the autoscaler reacted (REACTION_SECONDS: the metric's
    delay, a decision, a boot) with only min_replicas working.
    """
    distribution = service_time_distribution(workload, figures)
    mean_service = sum(s * p for s, p in distribution)
    p95_service = quantile(distribution, 0.95)
    mean, peak, burst = workload.rate(1), workload.rate(workload.peak_to_mean), workload.rate(workload.burst_factor)
    target = workload.latency_target_p95_seconds
    for machine in WORKER_MACHINE_TYPES:
        vcpus = _machine(prices, machine)["vcpus"]
        at_mean = max(MIN_WORKER_VMS, math.ceil(mean * mean_service / (WORKER_UTILISATION * vcpus)))
        # Tasks that arrive while the autoscaler reacts wait the reaction out; those arriving in its first
        # (reaction - target) seconds miss the target unless min_replicas has room for them. At most 5% of
        # the burst window's tasks may: min_replicas is raised until they are that few.
        window_tasks = burst * workload.burst_minutes * 60 + mean * BURST_WINDOW_AFTER_SECONDS
        late_seconds = max(0.0, REACTION_SECONDS - target)
        if late_seconds:
            headroom_rate = burst - 0.05 * window_tasks / late_seconds
            at_mean = max(at_mean, math.ceil(headroom_rate * mean_service / vcpus))
        at_peak = max(at_mean, math.ceil(peak * mean_service / (WORKER_UTILISATION * vcpus)))
        while p95_service + p95_wait(at_peak * vcpus, peak, mean_service) > target:
            at_peak += 1
        piled_up = max(0.0, burst - at_mean * vcpus / mean_service) * REACTION_SECONDS
        drain_rate = burst + piled_up / target  # the pile gone within the target once capacity is there
        maximum = max(at_peak, math.ceil(drain_rate * mean_service / (BURST_DRAIN_UTILISATION * vcpus)))
        if maximum <= MAX_GROUP_SIZE or machine == WORKER_MACHINE_TYPES[-1]:
            break
    latency = p95_service + p95_wait(at_peak * vcpus, peak, mean_service)
    return Sizing(
        values={
            "machine_type": machine, "vcpus": vcpus, "concurrency": vcpus,
            "min_replicas": at_mean, "vms_at_peak": at_peak, "max_replicas": maximum,
            "messages_per_instance": vcpus * WORKER_UTILISATION, "cooldown_period": WORKER_COOLDOWN_SECONDS,
            "mean_service_seconds": round(mean_service, 3), "p95_service_seconds": round(p95_service, 3),
            "p95_latency_bound_at_peak_seconds": round(latency, 1),
            "cores_busy_at_mean": round(mean * mean_service, 2),
            "cores_busy_at_peak": round(peak * mean_service, 2),
            "cores_busy_in_burst": round(burst * mean_service, 2),
            "tasks_piled_up_in_reaction": round(piled_up),
        },
        basis=[*(f"compression[{fmt}].cpu_seconds_per_mb" for fmt, _ in workload.formats), "worker_efficiency"],
        reasoning=(f"one task per vCPU; peak {peak:.2f} tasks/s x {mean_service:.2f} s mean service = "
                   f"{peak * mean_service:.1f} cores at {WORKER_UTILISATION:.0%}; min_replicas carries the daily "
                   "mean, and enough of the burst that at most 5% of its tasks wait out the reaction; "
                   f"max_replicas carries the {workload.burst_factor:g}x burst and drains the "
                   f"{piled_up:.0f} tasks that pile up in the autoscaler's {REACTION_SECONDS} s reaction; the "
                   f"target is {WORKER_UTILISATION:.0%} of one undelivered message per worker slot (the metric "
                   "counts messages being processed too, so a target of one per slot would run the group full)"),
    )


# --- web -----------------------------------------------------------------------


def web_cpu_per_task(workload: Workload, figures: MeasuredFigures, latency_seconds: float) -> float:
    """Web CPU seconds one task costs: its upload, the polls while it is on its way, reads and the download."""
    overhead = figures.http_overhead_ms.value / 1000
    cpu = figures.web_cpu_ms
    upload = 0.0
    for size, probability in workload.file_sizes:
        if size <= DIRECT_UPLOAD_BYTES:
            streamed = max(0, size - MB) / MB * figures.upload_cpu_seconds_per_mb.value
            upload += probability * (cpu[UPLOAD].value / 1000 + streamed + overhead)
        else:  # a resumable session: create and complete through the web, the bytes go to Cloud Storage
            upload += probability * 2 * (cpu[UPLOAD].value / 1000 + overhead)
    polls = latency_seconds / workload.poll_interval_seconds * (cpu[LIST].value / 1000 + overhead)
    reads = 2 * (cpu[TASK].value / 1000 + overhead)  # the task, and the download's redirect to a signed URL
    return upload + polls + reads


def size_web(workload: Workload, figures: MeasuredFigures, prices: dict, latency_seconds: float) -> Sizing:
    per_task = web_cpu_per_task(workload, figures, latency_seconds)
    logins = workload.users_at_peak / 3600 * (figures.web_cpu_ms[LOGIN].value / 1000 + figures.http_overhead_ms.value
                                              / 1000)  # a token lasts an hour
    peak = workload.rate(workload.peak_to_mean) * per_task + logins
    burst = workload.rate(workload.burst_factor) * per_task + logins
    mean = workload.rate(1) * per_task + logins / workload.peak_to_mean
    for machine in WEB_MACHINE_TYPES:
        vcpus = _machine(prices, machine)["vcpus"]
        maximum = max(MIN_WEB_VMS + 1, math.ceil(burst / (WEB_CPU_TARGET * vcpus)))
        if maximum <= MAX_GROUP_SIZE or machine == WEB_MACHINE_TYPES[-1]:
            break
    return Sizing(
        values={
            "machine_type": machine, "vcpus": vcpus, "gunicorn_processes": vcpus,
            "min_replicas": max(MIN_WEB_VMS, math.ceil(mean / (WEB_CPU_TARGET * vcpus))),
            "vms_at_peak": max(MIN_WEB_VMS, math.ceil(peak / (WEB_CPU_TARGET * vcpus))),
            "max_replicas": maximum, "cpu_target": WEB_CPU_TARGET, "load_balancing_target": WEB_LB_TARGET,
            "cpu_ms_per_task": round(1000 * per_task, 2),
            "cores_busy_at_peak": round(peak, 2), "cores_busy_in_burst": round(burst, 2),
            "users_at_peak": workload.users_at_peak,
        },
        basis=[f"web_cpu_ms[{UPLOAD}]", f"web_cpu_ms[{LIST}]", f"web_cpu_ms[{TASK}]", f"web_cpu_ms[{LOGIN}]",
               "http_overhead_ms", "upload_cpu_seconds_per_mb"],
        reasoning=(f"{1000 * per_task:.1f} ms of web CPU per task (upload, a list poll every "
                   f"{workload.poll_interval_seconds:g} s for {latency_seconds:.0f} s, two reads), "
                   f"plus an argon2 login per user per hour; VMs at the {WEB_CPU_TARGET:.0%} CPU target; at least "
                   f"{MIN_WEB_VMS} for the zones"),
    )


# --- database ------------------------------------------------------------------


def statements_per_task(workload: Workload, figures: MeasuredFigures, latency_seconds: float) -> float:
    statements = figures.db_statements
    polls = latency_seconds / workload.poll_interval_seconds
    return (statements[UPLOAD].value + figures.worker_statements_per_task.value + 2 * statements[TASK].value
            + polls * statements[LIST].value)


def pool_connections(concurrency: int) -> int:
    """Connections one process may open: COMPRIMEMELO_DB_POOL_SIZE's default plus the overflow."""
    return max(WEB_THREADS, concurrency + 2) + POOL_OVERFLOW


def size_database(workload: Workload, figures: MeasuredFigures, prices: dict, web: Sizing, workers: Sizing,
                  latency_seconds: float) -> Sizing:
    per_task = statements_per_task(workload, figures, latency_seconds)
    logins = workload.users_at_peak / 3600 * figures.db_statements[LOGIN].value
    burst = workload.rate(workload.burst_factor) * per_task + logins
    peak = workload.rate(workload.peak_to_mean) * per_task + logins
    vcpus_needed = burst / (figures.db_statements_per_vcpu.value * DATABASE_UTILISATION)
    connections = (web.values["max_replicas"] * web.values["gunicorn_processes"] * pool_connections(1)
                   + workers.values["max_replicas"] * pool_connections(workers.values["concurrency"]))
    tiers = prices["cloudsql"]["tiers"]
    tier = next((t for t in tiers if t["vcpus"] >= vcpus_needed), tiers[-1])
    disk = max(MIN_DATABASE_DISK_GB, math.ceil(workload.tasks_per_day * DATABASE_ROWS_KEPT_DAYS
                                               * DATABASE_ROW_BYTES / 10**9))
    max_connections = None if connections <= tier["default_max_connections"] else int(math.ceil(connections / 50) * 50)
    return Sizing(
        values={
            "tier": tier["name"], "vcpus": tier["vcpus"], "memory_gib": tier["memory_gib"],
            "statements_per_task": round(per_task, 1), "statements_per_second_at_peak": round(peak, 1),
            "statements_per_second_in_burst": round(burst, 1), "vcpus_needed_in_burst": round(vcpus_needed, 2),
            "connections_at_max_replicas": connections, "default_max_connections": tier["default_max_connections"],
            "max_connections_flag": max_connections, "disk_gb": disk,
        },
        basis=[f"db_statements[{UPLOAD}]", f"db_statements[{TASK}]", f"db_statements[{LIST}]",
               "worker_statements_per_task", "db_statements_per_vcpu"],
        reasoning=(f"{per_task:.1f} statements per task; the burst's {burst:.0f} statements/s at "
                   f"{DATABASE_UTILISATION:.0%} of {figures.db_statements_per_vcpu.value:.0f} per vCPU; connections "
                   "are the pools' upper bound at max_replicas (the max_connections flag is raised above the "
                   "tier's default when they exceed it)"),
    )


# --- volumes and cost ----------------------------------------------------------


def volumes(workload: Workload, figures: MeasuredFigures, latency_seconds: float) -> Sizing:
    mean_size = sum(size * p for size, p in workload.file_sizes)
    mean_ratio = sum(figures.formats[fmt].ratio.value * p for fmt, p in workload.formats)
    input_gb_day = workload.tasks_per_day * mean_size / 10**9
    archive_gb_day = input_gb_day * mean_ratio
    through_web = sum(size * p for size, p in workload.file_sizes if size <= DIRECT_UPLOAD_BYTES)
    requests_per_task = 4 + latency_seconds / workload.poll_interval_seconds
    tasks_month = workload.tasks_per_day * DAYS_PER_MONTH
    return Sizing(
        values={
            "input_gb_per_day": round(input_gb_day, 2), "archive_gb_per_day": round(archive_gb_day, 2),
            "stored_gb": round((input_gb_day + archive_gb_day) * workload.retention_days, 1),
            "egress_gb_per_month": round(archive_gb_day * workload.download_fraction * DAYS_PER_MONTH, 1),
            "load_balancer_gb_per_month": round(workload.tasks_per_day * through_web / 10**9 * DAYS_PER_MONTH, 1),
            "pubsub_messages_per_month": round(tasks_month),
            "pubsub_billed_gb_per_month": round(tasks_month * PUBSUB_REQUESTS_PER_TASK * 1000 / 10**9, 2),
            "http_requests_per_month": round(tasks_month * requests_per_task),
            "storage_class_a_per_month": round(tasks_month * STORAGE_CLASS_A_PER_TASK),
            "storage_class_b_per_month": round(tasks_month * STORAGE_CLASS_B_PER_TASK),
        },
        basis=[*(f"compression[{fmt}].ratio" for fmt, _ in workload.formats)],
        reasoning="bytes from the file-size mix and the measured ratios; requests from the polls and reads per task",
    )


def monthly_costs(prices: dict, workers: Sizing, web: Sizing, database: Sizing, volume: Sizing,
                  workload: Workload) -> tuple[dict[str, float], dict[str, str]]:
    hours = prices["meta"]["hours_per_month"]
    machines = prices["compute"]["machine_types"]
    disk_price = prices["compute"]["disks"]["pd_balanced_gib_month"]
    # Groups spend the day between min_replicas and the peak: cost the mean of the two.
    worker_vms = (workers.values["min_replicas"] + workers.values["vms_at_peak"]) / 2
    web_vms = (web.values["min_replicas"] + web.values["vms_at_peak"]) / 2
    sql = prices["cloudsql"]
    v = volume.values
    costs = {
        "worker VMs": worker_vms * hours * machines[workers.values["machine_type"]]["hourly"],
        "web VMs": web_vms * hours * machines[web.values["machine_type"]]["hourly"],
        "boot disks": (worker_vms * WORKER_DISK_GB + web_vms * WEB_DISK_GB) * disk_price,
        "Cloud SQL": sql["ha_multiplier"] * (hours * (database.values["vcpus"] * sql["vcpu_hour"]
                                                      + database.values["memory_gib"] * sql["memory_gib_hour"])
                                             + database.values["disk_gb"] * sql["ssd_gib_month"])
        + database.values["disk_gb"] * sql["backup_gib_month"],
        "Cloud Storage (stored)": v["stored_gb"] * 10**9 / GIB * prices["storage"]["standard_gib_month"],
        "Cloud Storage (operations)": (v["storage_class_a_per_month"] * prices["storage"]["class_a_per_10k"]
                                       + v["storage_class_b_per_month"] * prices["storage"]["class_b_per_10k"]) / 10_000,
        "Internet egress (downloads)": v["egress_gb_per_month"] * 10**9 / GIB * prices["storage"]["egress_internet_gib"],
        "Load balancer": FORWARDING_RULES * hours * prices["load_balancer"]["forwarding_rule_hour"]
        + v["load_balancer_gb_per_month"] * 10**9 / GIB * prices["load_balancer"]["data_processing_gib"],
        "Cloud Armor": prices["cloud_armor"]["policy_month"] + ARMOR_RULES * prices["cloud_armor"]["rule_month"]
        + v["http_requests_per_month"] / 10**6 * prices["cloud_armor"]["per_million_requests"],
        "Pub/Sub": max(0.0, v["pubsub_billed_gb_per_month"] * 10**9 / GIB - prices["pubsub"]["free_gib_month"])
        / 1024 * prices["pubsub"]["throughput_tib"],
        "Cloud NAT": hours * min(prices["nat"]["max_gateway_hour"], (worker_vms + web_vms) * prices["nat"]["vm_hour"]),
        "Cloud Logging": max(0.0, v["http_requests_per_month"] * LOG_BYTES_PER_REQUEST / GIB
                             - prices["logging"]["free_gib_month"]) * prices["logging"]["ingestion_gib"],
        "Secret Manager": prices["secret_manager"]["version_month"],
    }
    basis = {
        "worker VMs": "compute.machine_types (mean of min_replicas and the VMs at peak)",
        "web VMs": "compute.machine_types (mean of min_replicas and the VMs at peak)",
        "boot disks": f"compute.disks.pd_balanced_gib_month ({WORKER_DISK_GB} GB worker, {WEB_DISK_GB} GB web)",
        "Cloud SQL": "cloudsql.vcpu_hour, memory_gib_hour, ssd_gib_month (x ha_multiplier), backup_gib_month",
        "Cloud Storage (stored)": f"storage.standard_gib_month ({workload.retention_days:g} days of inputs and archives)",
        "Cloud Storage (operations)": "storage.class_a_per_10k, class_b_per_10k",
        "Internet egress (downloads)": "storage.egress_internet_gib (each archive downloaded "
                                       f"{workload.download_fraction:g} times)",
        "Load balancer": "load_balancer.forwarding_rule_hour, data_processing_gib (uploads through the web)",
        "Cloud Armor": "cloud_armor.policy_month, rule_month, per_million_requests",
        "Pub/Sub": "pubsub.throughput_tib (3 requests of 1,000 bytes per task, less the free tier)",
        "Cloud NAT": "nat.vm_hour (capped at max_gateway_hour)",
        "Cloud Logging": f"logging.ingestion_gib ({LOG_BYTES_PER_REQUEST} bytes of logs per request, estimated)",
        "Secret Manager": "secret_manager.version_month",
    }
    return costs, basis


def make_plan(workload: Workload, figures: MeasuredFigures | None = None, prices: dict | None = None) -> Plan:
    figures = figures or load_figures()
    prices = prices or load_prices()
    workers = size_workers(workload, figures, prices)
    latency = workers.values["p95_latency_bound_at_peak_seconds"]
    web = size_web(workload, figures, prices, latency)
    database = size_database(workload, figures, prices, web, workers, latency)
    volume = volumes(workload, figures, latency)
    costs, cost_basis = monthly_costs(prices, workers, web, database, volume, workload)
    return Plan(workload=workload, workers=workers, web=web, database=database, volumes=volume, costs=costs,
                cost_basis=cost_basis, prices=prices,
                figures={key: asdict(figure) for key, figure in figures.all().items()})
