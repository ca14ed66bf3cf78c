"""``capacity/reports/README.md``: the headline figures of every report folder, side by side.

Reads ``<reports>/<backend>/<scenario>/summary.json`` (as written by ``run-all.sh``)
and ``<reports>/compression/summary.json``; no locust import.
"""

from __future__ import annotations

import json
from pathlib import Path

from capacity import report, targets

TARGET_REPORTS = ("e2e", "api", "auth", "upload")
BACKENDS = {"embedded": "embedded (SQLite)", "postgres": "PostgreSQL 15"}


def _load(folder: Path) -> dict | None:
    path = folder / "summary.json"
    return json.loads(path.read_text()) if path.exists() else None


def _link(backend: str, name: str, text: str) -> str:
    return f"[{text}]({backend}/{name}/report.html)"


def _ms(value) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def _load_average(found: dict) -> str:
    """The machine's 1-minute load average at start and end: how busy it was besides this run."""
    machine = found.get("machine", {})
    start, end = machine.get("load_average_at_start"), machine.get("load_average_at_end")
    if not start or not end:
        return ""
    return f"; load average {start[0]:.0f}→{end[0]:.0f}"


def _cell(backend: str, name: str, found: dict | None) -> str:
    if not found:
        return "not run"
    totals = found["totals"]
    errors = f"{totals['failures']} errors" if totals["failures"] else "0 errors"
    if name == "list-tasks-ramp":
        ramp = found["ramp"]
        held = ramp["capacity_users"]
        step = next((s for s in ramp["steps"] if s["users"] == held), None)
        detail = f" ({step['rps']:.0f} req/s, p95 {_ms(step['p95_ms'])})" if step else ""
        broke = next((s for s in ramp["steps"] if not s["passed"]), None)
        tail = (f"; breaks at {broke['users']} (p95 {_ms(broke['p95_ms'])}, {broke['failures']} errors)"
                if broke else "; no step broke")
        return _link(backend, name, f"**{held} users**") + detail + tail + _load_average(found)
    if name in ("login", "signup"):
        return (_link(backend, name, f"**{totals['rps']:.1f}/s**")
                + f" at {found['users']} users (p95 {_ms(totals['p95_ms'])}, {errors})")
    if name == "convert":
        conv = found["conversions"]
        return (_link(backend, name, f"**{conv['files_per_minute']:.0f} files/min**")
                + f" of {found['file']['bytes'] / 1e6:g} MB files ({', '.join(found['file']['formats'])}),"
                  f" {found['users']} users (upload→processed p50/p95/p99 {conv['p50_seconds']}/{conv['p95_seconds']}/"
                  f"{conv['p99_seconds']} s, {conv['failed']} failed, {errors})")
    text = f"**{totals['rps']:.0f} req/s**"
    extra = f", {found['conversions']['files_per_minute']:.0f} files/min" if found.get("conversions") else ""
    return _link(backend, name, text) + f" at {found['users']} users (p95 {_ms(totals['p95_ms'])}, {errors}{extra})"


ROWS = (
    ("list-tasks-ramp", "Users held on `list-tasks` (1–3 s think time) at p95 < 1 s with 0 errors"),
    ("list-tasks", "`list-tasks`, fixed users"),
    ("login", "Logins/s (`login`, no think time)"),
    ("signup", "Sign-ups/s (`signup`, no think time)"),
    ("convert", "Files/min processed end to end (`convert`, no think time)"),
    ("mixed", "`mixed` blend, fixed users"),
)


def write_summary(reports: Path) -> Path:
    """Write ``reports/README.md`` and return its path."""
    backends = [b for b in BACKENDS if (reports / b).is_dir()]
    lines = ["# Capacity reports", "",
             "Written by `python -m capacity summary capacity/reports` from the report folders "
             "below (`capacity/run-all.sh` reruns everything). How to read a report: "
             "[../README.md](../README.md).", ""]
    machine = None
    notes: set[str] = set()
    if backends:
        lines += ["## Headline figures (one machine runs load generator, web, worker and database)", "",
                  "| | " + " | ".join(BACKENDS[b] for b in backends) + " |",
                  "|---|" + "---|" * len(backends)]
        for name, label in ROWS:
            cells = []
            for backend in backends:
                found = _load(reports / backend / name)
                machine = machine or (found or {}).get("machine")
                notes.update((found or {}).get("notes", []))
                cells.append(_cell(backend, name, found))
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines += ["", "The PostgreSQL `convert` and `mixed` runs and the second PostgreSQL ramp ran last, against a "
                  "work tree whose compression core held an uncommitted rewrite (plain zlib instead of zlib-ng for "
                  "zip and tar.gz, a new 7z writer); the other runs measured the core as committed.", ""]
        lines += ["The load average (1-minute, at start → end, on 2 cores) shows how busy the machine "
                  "was with other work; compare backends only at similar load. Log-ins and sign-ups "
                  "cost an argon2 hash each (64 MiB, 3 passes, 4 lanes, by design): in `mixed` they are "
                  "13% of the requests but most of the CPU, which slows every route (see each report's "
                  "endpoint table).", ""]
        first = _load(reports / backends[0] / "list-tasks-ramp") or _load(reports / backends[0] / "list-tasks")
        if first:
            service = first["service"]
            web = (f"{service['web_threads']} threads" if service.get("web_worker_class", "gthread") == "gthread"
                   else service["web_worker_class"])
            lines += [f"Service: `comprimemelo serve` with {service.get('web_workers')} gunicorn web "
                      f"workers ({web}), worker concurrency "
                      f"{service.get('worker_concurrency')}, local file storage, database-backed queue, "
                      f"argon2 {service.get('argon2')}.", ""]
    if machine:
        facts = {key: machine.get(key, "?") for key in
                 ("cores", "cpu_model", "memory_gib", "os", "python", "locust", "git_commit")}
        lines += ["Machine: {cores} cores ({cpu_model}), {memory_gib} GiB, {os}, Python {python}, "
                  "locust {locust}, commit {git_commit}.".format(**facts), ""]
    bench = _load(reports / "compression")
    if bench:
        lines += ["## Compression core vs. command-line tools", "",
                  f"[compression/report.html](compression/report.html): median of {bench['repeats']} runs, "
                  f"{bench['threads']} threads, 64 MiB corpora; speed core/ref ≥ target is the goal, "
                  "size core/ref ≤ 1.02.", "", report.bench_markdown(bench)]
        notes.update(bench.get("notes", []))
    target_lines = []
    for name in TARGET_REPORTS:
        found = _load(reports / name)
        if found and found.get("checks"):
            target_lines += [f"### [{found['title']}]({name}/report.html)", "",
                             f"`{found['command']}`; load average {_load_average(found).removeprefix('; load average ')}",
                             "", targets.checks_markdown(found["checks"])]
    soak = _load(reports / "soak")
    if soak and soak.get("soak"):
        memory = soak["soak"]["memory"]
        target_lines += [f"### [Soak: `mixed`, {soak['users']} users, {soak['duration_seconds'] / 60:.0f} min]"
                         "(soak/report.html)", "",
                         f"{soak['soak']['requests']} requests, {soak['soak']['errors']} errors; "
                         + "; ".join(f"{role} RSS {m['start_mb']} → {m['end_mb']} MB ({m['slope_mb_per_min']} MB/min)"
                                     for role, m in memory.items())
                         + f"; verdict **{soak['soak']['verdict']}**" + _load_average(soak) + ".", ""]
    if target_lines:
        lines += ["## Service benchmarks (issue 8 targets 2–5) and soak (issue 7)", "", *target_lines]
    if notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in sorted(notes)] + [""]
    path = reports / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path
