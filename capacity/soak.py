"""``soak``: the ``mixed`` scenario for a long while against a local server, with the
RSS of its web (gunicorn master and workers) and worker processes sampled every
few seconds (issue 7: no errors, flat memory).

The report folder is a ``run`` folder plus ``rss.csv`` (one row per sample) and a
``soak`` section in ``summary.json``: errors, requests, and each role's memory at
start, middle and end with its least-squares slope in MB per minute.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

from capacity import report
from capacity.procs import ROLES, RssSampler, memory_trend

log = logging.getLogger("capacity")

# What "flat" means over a 10-minute soak: less than this growth per minute.
FLAT_SLOPE_MB_PER_MIN = 1.0


def soak_section(summary: dict, samples: list[dict], interval: float) -> dict:
    """The soak verdict from a run's summary and its RSS samples (those taken while
    the accounts were being set up, before the load, are left out)."""
    totals = summary["totals"]
    setup = (summary.get("setup") or {}).get("seconds", 0)
    loaded = [row for row in samples if row["t"] >= setup] or samples
    memory = {role: memory_trend(loaded, f"{role}_rss_mb") for role in ROLES}
    flat = all((memory[role].get("floor_slope_second_half_mb_per_min") or 0) < FLAT_SLOPE_MB_PER_MIN
               for role in ROLES)
    conversions = summary.get("conversions") or {}
    return {
        "requests": totals["requests"],
        "errors": totals["failures"],
        "conversions_failed": conversions.get("failed", 0),
        "sample_interval_seconds": interval,
        "memory": memory,
        "flat_rule": f"over the second half, the floor (lowest RSS of each minute) rises < {FLAT_SLOPE_MB_PER_MIN} "
                     "MB/min for each role",
        "verdict": "met" if flat and totals["failures"] == 0 and not conversions.get("failed") else "missed",
    }


def soak_markdown(summary: dict) -> str:
    soak = summary["soak"]
    machine = summary["machine"]
    lines = [f"# Soak: `{summary['scenario']}` for {summary['duration_seconds'] / 60:.1f} min, "
             f"{summary['users']} users", "",
             f"Command: `{summary['command']}`", "",
             f"Machine: {machine.get('cores')} cores ({machine.get('cpu_model')}), {machine.get('memory_gib')} GiB, "
             f"commit {machine.get('git_commit')}; load average (1 min) {machine['load_average_at_start'][0]:.2f} → "
             f"{machine['load_average_at_end'][0]:.2f}.", "",
             f"Requests: {soak['requests']}, errors: {soak['errors']}, conversions failed: "
             f"{soak['conversions_failed']}; verdict: **{soak['verdict']}** ({soak['flat_rule']}, 0 errors).", "",
             "| role | start MB | middle MB | end MB | min | max | slope MB/min | floor first → last MB "
             "| floor slope MB/min | floor slope, 2nd half | samples |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for role, trend in soak["memory"].items():
        lines.append(f"| {role} | {trend['start_mb']} | {trend['middle_mb']} | {trend['end_mb']} | "
                     f"{trend['min_mb']} | {trend['max_mb']} | {trend['slope_mb_per_min']} | "
                     f"{trend['floor_first_mb']} → {trend['floor_last_mb']} | {trend['floor_slope_mb_per_min']} | "
                     f"{trend['floor_slope_second_half_mb_per_min']} | {trend['samples']} |")
    lines += ["", f"RSS is the sum over each role's processes (web: gunicorn master and workers; worker: the worker "
              f"process), sampled every {soak['sample_interval_seconds']} s from the end of the set-up; "
              "start/middle/end are medians of the first, middle and last tenth of the samples; slope is the "
              "least-squares fit of all samples; the floor is the lowest sample of each minute (requests in "
              "flight, such as an argon2 hash holding 64 MiB, swing the web RSS by hundreds of MB; a leak "
              "raises the floor). Service: "
              + json.dumps(summary.get("service", {})), ""]
    return "\n".join(lines) + "\n"


def write_soak(out: Path, samples: list[dict], interval: float) -> dict:
    """Add the soak section to the run folder ``out``; return the updated summary."""
    summary = json.loads((out / "summary.json").read_text())
    summary["soak"] = soak_section(summary, samples, interval)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    with open(out / "rss.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(samples[0]))
        writer.writeheader()
        writer.writerows(samples)
    (out / "soak.md").write_text(soak_markdown(summary))
    report.write_report(out)
    return summary


def run_soak(config, interval: float) -> dict:
    """Run ``config`` (a ``loadrun.RunConfig`` against a ``local_server``) while sampling RSS."""
    from capacity.loadrun import execute

    with RssSampler(config.service["serve_pid"], interval) as sampler:
        execute(config)
    return write_soak(config.out, sampler.samples, interval)
