"""The self-contained ``report.html`` of a run folder (and of the compression benchmark).

Input: ``summary.json``, ``timeseries.csv`` and, for conversions, ``conversions.csv``.
Charts are matplotlib (Agg) PNGs embedded as base64 ``data:`` URIs: no external asset,
one file to share.
No locust import, so it can be re-run (``python -m capacity report DIR``) and tested alone.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({"font.size": 9})
CHART_DPI = 90
FIGSIZE = (9, 3.2)
ROLLING_SECONDS = 10
STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:72rem;margin:1.5rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f4f4f6}td.l,th.l{text-align:left}code,pre{background:#f4f4f6;border-radius:4px;padding:.1rem .3rem}
pre{padding:.6rem;white-space:pre-wrap}.ok{color:#176b2c;font-weight:600}.bad{color:#a31515;font-weight:600}
.big{font-size:1.2rem}figure{margin:.5rem 0}"""


def _read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _num(value) -> float | None:
    if value in (None, "", "None"):
        return None
    return float(value)


def _fmt(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return html.escape(f"{value:,}" if isinstance(value, int) else str(value))


def _png(fig) -> str:
    """The figure as an ``<img>`` with the PNG inlined (base64), then closed."""
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=CHART_DPI)
    plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<figure><img alt="chart" style="max-width:100%" src="data:image/png;base64,{encoded}"></figure>'


def _table(headers: list[str] | None, rows: list[list], left: int = 1) -> str:
    head = "".join(f'<th class="{"l" if i < left else ""}">{html.escape(h)}</th>' for i, h in enumerate(headers or []))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{cell}</td>' for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table>{f'<tr>{head}</tr>' if head else ''}{body}</table>"


def _kv_table(mapping: dict) -> str:
    rows = []
    for key, value in mapping.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "–"
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        rows.append([html.escape(str(key)), html.escape(str(value))])
    return _table(None, rows, left=2)


def _series(rows: list[dict], key: str) -> list[float | None]:
    return [_num(r.get(key)) for r in rows]


def _shade_steps(axis, steps: list[dict]) -> None:
    for step in steps:
        axis.axvspan(step["from_second"], step["to_second"], color="#2a7" if step["passed"] else "#d44", alpha=0.08)


def load_charts(summary: dict, rows: list[dict], conversions: list[dict]) -> list[tuple[str, str]]:
    """(title, inline PNG) for each chart of a load run."""
    charts = []
    steps = (summary.get("ramp") or {}).get("steps", [])
    seconds = [int(r["second"]) for r in rows]
    requests = _series(rows, "requests")
    failures = _series(rows, "failures")
    users = _series(rows, "users")

    fig, axis = plt.subplots(figsize=FIGSIZE)
    axis.plot(seconds, requests, color="#1f77b4", label="requests/s")
    axis.set_xlabel("seconds since start")
    axis.set_ylabel("requests/s")
    other = axis.twinx()
    other.plot(seconds, users, color="#777", linestyle="--", label="users")
    other.set_ylabel("users")
    _shade_steps(axis, steps)
    axis.legend(loc="upper left")
    other.legend(loc="upper right")
    charts.append(("Requests per second and users over time", _png(fig)))

    fig, axis = plt.subplots(figsize=FIGSIZE)
    for pct, color in ((50, "#2ca02c"), (95, "#ff7f0e"), (99, "#d62728")):
        axis.plot(seconds, _series(rows, f"p{pct}_ms"), color=color, label=f"p{pct}")
    if summary.get("ramp"):
        axis.axhline(summary["ramp"]["p95_threshold_ms"], color="#ff7f0e", linestyle=":", label="p95 threshold")
    axis.set_yscale("log")
    axis.set_xlabel("seconds since start")
    axis.set_ylabel("latency (ms, log)")
    _shade_steps(axis, steps)
    axis.legend(loc="upper left")
    charts.append(("Latency percentiles over time (requests ending in each second)", _png(fig)))

    fig, axis = plt.subplots(figsize=FIGSIZE)
    rates = [100 * f / r if r else 0 for f, r in zip(failures, requests)]
    axis.plot(seconds, rates, color="#d62728")
    axis.set_ylim(bottom=0, top=max(1.0, max(rates, default=0) * 1.1))
    axis.set_xlabel("seconds since start")
    axis.set_ylabel("errors (% of requests)")
    _shade_steps(axis, steps)
    charts.append(("Error rate over time", _png(fig)))

    fig, (left, right) = plt.subplots(1, 2, figsize=FIGSIZE)
    if steps:
        xs = [s["users"] for s in steps]
        left.plot(xs, [s["rps"] for s in steps], marker="o")
        right.plot(xs, [s["p95_ms"] for s in steps], marker="o", color="#ff7f0e", label="p95")
        right.plot(xs, [s["p99_ms"] for s in steps], marker="o", color="#d62728", label="p99")
        right.axhline(summary["ramp"]["p95_threshold_ms"], color="#ff7f0e", linestyle=":", label="p95 threshold")
        right.legend()
    else:
        left.scatter(users, requests, s=8)
        right.scatter(users, _series(rows, "p95_ms"), s=8, color="#ff7f0e", label="p95 per second")
        right.legend()
    left.set_xlabel("users")
    left.set_ylabel("requests/s")
    right.set_xlabel("users")
    right.set_ylabel("latency (ms)")
    charts.append(("Throughput and latency against the number of users"
                   + (" (one point per ramp step)" if steps else " (one point per second)"), _png(fig)))

    if conversions or summary.get("conversions"):
        finished = _series(rows, "files_finished")
        rolling = []
        for index in range(len(finished)):
            window = [v or 0 for v in finished[max(0, index - ROLLING_SECONDS + 1): index + 1]]
            rolling.append(sum(window) * 60 / max(1, len(window)))
        fig, (left, right) = plt.subplots(1, 2, figsize=FIGSIZE)
        left.plot(seconds, rolling, color="#9467bd")
        left.set_xlabel("seconds since start")
        left.set_ylabel(f"files/min ({ROLLING_SECONDS} s rolling)")
        durations = sorted(float(c["finished"]) - float(c["started"]) for c in conversions
                           if c["status"] == "processed")
        if durations:
            right.plot(durations, [100 * (i + 1) / len(durations) for i in range(len(durations))], color="#9467bd")
        right.set_xlabel("upload to processed (s)")
        right.set_ylabel("% of files")
        charts.append(("Files processed per minute, and time from upload to processed (CDF)", _png(fig)))
    return charts


def _headline(summary: dict) -> str:
    totals = summary["totals"]
    parts = [
        f"<b>{_fmt(totals['requests'])}</b> requests in {_fmt(summary['duration_seconds'], 1)} s "
        f"(<b>{_fmt(totals['rps'], 1)} req/s</b>), "
        f"p50 {_fmt(totals['p50_ms'])} ms, p95 <b>{_fmt(totals['p95_ms'])} ms</b>, p99 {_fmt(totals['p99_ms'])} ms, "
        f'<span class="{"ok" if totals["failures"] == 0 else "bad"}">{_fmt(totals["failures"])} failed '
        f"({100 * totals['error_rate']:.2f}%)</span>."
    ]
    ramp = summary.get("ramp")
    if ramp:
        held = ramp["capacity_users"]
        parts.append(
            f'<p class="big">Capacity: <b>{held}</b> users hold p95 &lt; {_fmt(ramp["p95_threshold_ms"])} ms '
            f"with 0 errors{' (no step held)' if not held else ''}.</p>"
        )
    conv = summary.get("conversions")
    if conv:
        parts.append(
            f'<p class="big"><b>{_fmt(conv["files_per_minute"], 1)} files/min</b> processed end to end '
            f"({_fmt(conv['input_mb_per_minute'], 1)} MB/min in); upload to processed p50 "
            f"{_fmt(conv['p50_seconds'], 1)} s, p95 {_fmt(conv['p95_seconds'], 1)} s, "
            f"p99 {_fmt(conv['p99_seconds'], 1)} s; {conv['failed']} failed, {conv['timed_out']} timed out.</p>"
        )
    return "<p>" + parts[0] + "</p>" + "".join(parts[1:])


def _soak_section(soak: dict, rss_rows: list[dict]) -> str:
    table = _table(
        ["role", "start MB", "middle MB", "end MB", "min MB", "max MB", "slope MB/min", "floor first → last MB",
         "floor slope MB/min", "floor slope, 2nd half", "samples"],
        [[role, _fmt(t["start_mb"], 1), _fmt(t["middle_mb"], 1), _fmt(t["end_mb"], 1), _fmt(t["min_mb"], 1),
          _fmt(t["max_mb"], 1), _fmt(t["slope_mb_per_min"], 3),
          f'{_fmt(t.get("floor_first_mb"), 1)} → {_fmt(t.get("floor_last_mb"), 1)}',
          _fmt(t.get("floor_slope_mb_per_min"), 3), _fmt(t.get("floor_slope_second_half_mb_per_min"), 3),
          _fmt(t["samples"])]
         for role, t in soak["memory"].items()])
    verdict = f'<span class="{"ok" if soak["verdict"] == "met" else "bad"}">{html.escape(soak["verdict"])}</span>'
    text = (f"<h2>Soak: memory and errors</h2><p class=big>{_fmt(soak['requests'])} requests, "
            f"{_fmt(soak['errors'])} errors, {_fmt(soak['conversions_failed'])} conversions failed; {verdict} "
            f"({html.escape(soak['flat_rule'])}, 0 errors). RSS sampled every {soak['sample_interval_seconds']} s.</p>"
            + table)
    if rss_rows:
        fig, axis = plt.subplots(figsize=FIGSIZE)
        times = [float(r["t"]) / 60 for r in rss_rows]
        for role in soak["memory"]:
            axis.plot(times, [float(r[f"{role}_rss_mb"]) for r in rss_rows], label=f"{role} RSS")
        axis.set_xlabel("minutes since start")
        axis.set_ylabel("MB")
        axis.set_ylim(bottom=0)
        axis.legend()
        text += _png(fig)
    return text


def render_load(summary: dict, rows: list[dict], conversions: list[dict], rss_rows: list[dict] = ()) -> str:
    title = f"comprimemelo capacity: {summary['scenario']} ({summary['mode']})"
    sections = [f"<h1>{html.escape(title)}</h1>",
                f"<p>{html.escape(summary.get('description', ''))}. Started {summary['started_at']} "
                f"against <code>{html.escape(summary['host'])}</code>.</p>", _headline(summary)]
    if summary.get("ramp"):
        ramp = summary["ramp"]
        sections.append("<h2>Ramp steps</h2><p>" + html.escape(ramp["rule"]) + ".</p>")
        sections.append(_table(
            ["users", "req/s", "requests", "failures", "p50 ms", "p95 ms", "p99 ms", "holds"],
            [[_fmt(s["users"]), _fmt(s["rps"], 1), _fmt(s["requests"]), _fmt(s["failures"]), _fmt(s["p50_ms"]),
              _fmt(s["p95_ms"]), _fmt(s["p99_ms"]),
              '<span class="ok">yes</span>' if s["passed"] else '<span class="bad">no</span>']
             for s in ramp["steps"]]))
    if summary.get("soak"):
        sections.append(_soak_section(summary["soak"], rss_rows))
    for chart_title, image in load_charts(summary, rows, conversions):
        sections.append(f"<h2>{html.escape(chart_title)}</h2>{image}")
    sections.append("<h2>Endpoints (whole run)</h2>")
    sections.append(_table(
        ["endpoint", "requests", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        [[html.escape(f"{e['method']} {e['name']}"), _fmt(e["requests"]), _fmt(e["failures"]), _fmt(e["rps"], 1),
          _fmt(e["p50_ms"]), _fmt(e["p95_ms"]), _fmt(e["p99_ms"]), _fmt(e["max_ms"])]
         for e in summary["endpoints"]]))
    conv = summary.get("conversions")
    if conv:
        sections.append("<h2>Conversions</h2>" + _kv_table({
            "processed": conv["processed"], "failed": conv["failed"], "timed out": conv["timed_out"],
            "files/min": round(conv["files_per_minute"], 1),
            "upload→processed p50/p95/p99 (s, client)":
                "/".join(_fmt(conv[f"p{p}_seconds"], 1) for p in (50, 95, 99)),
            "created→processed p50/p95/p99 (s, server clock)":
                "/".join(_fmt(conv[f"server_p{p}_seconds"], 1) for p in (50, 95, 99)),
            "by format": conv["by_format"], "file": summary.get("file") or {},
        }))
    sections.append("<h2>Run</h2>" + _kv_table({
        "users": summary["users"], "spawn rate (users/s)": summary["spawn_rate"],
        "think time (s)": "–".join(str(w) for w in summary["wait_seconds"]),
        "set-up (before measuring)": summary["setup"], "load generator": summary["load_generator"],
        "user exceptions": summary.get("user_exceptions", 0),
    }))
    sections.append("<h2>Command</h2><pre>" + html.escape(summary["command"]) + "</pre>")
    sections.append("<h2>Machine</h2>" + _kv_table(summary["machine"]))
    sections.append("<h2>Service configuration</h2>" + _kv_table(summary["service"] or {"service": "unknown"}))
    if summary.get("notes"):
        sections.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in summary["notes"])
                        + "</ul>")
    sections.append("<p>Files: <code>summary.json</code>, <code>timeseries.csv</code> (per second), "
                    "<code>conversions.csv</code>, <code>locust_*.csv</code> (locust's own statistics).</p>")
    return _page(title, sections)


def _page(title: str, sections: list[str]) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style>'
            f"</head><body>{''.join(sections)}</body></html>\n")


def write_report(folder: Path) -> Path:
    """(Re)write ``folder/report.html`` from the folder's ``summary.json`` and CSVs."""
    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text())
    if summary.get("mode") == "bench-compression":
        page = render_bench(summary)
    else:
        page = render_load(summary, _read_csv(folder / "timeseries.csv"), _read_csv(folder / "conversions.csv"),
                           _read_csv(folder / "rss.csv"))
    path = folder / "report.html"
    path.write_text(page)
    return path


# --- compression benchmark -------------------------------------------------


def bench_markdown(summary: dict) -> str:
    """The side-by-side table: core vs. each reference tool, per corpus and format."""
    lines = [
        "| corpus | format | level | core MB/s | core ratio | reference | ref MB/s | ref ratio "
        "| speed core/ref | target | size core/ref | CPU s ref/core | load 1m | verdict |",
        "|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in summary["rows"]:
        reference = row["reference"].replace("|", "\\|")  # a pipe would end the table cell
        load = "→".join(f"{value:.1f}" for value in row.get("load_average_1m", [])) or "–"
        cpu = f"{row['cpu_efficiency_vs_ref']:.2f}×" if row.get("cpu_efficiency_vs_ref") else "–"
        lines.append(
            f"| {row['corpus']} | {row['format']} | {row['level']} | {row['core_mb_s']:.1f} | "
            f"{row['core_ratio']:.3f} | `{reference}` | {row['ref_mb_s']:.1f} | {row['ref_ratio']:.3f} | "
            f"{row['speed_vs_ref']:.2f}× | ≥{row['target']:.1f}× | {row['size_vs_ref']:.3f} | {cpu} | {load} | "
            f"{row.get('verdict', '–')} |"
        )
    return "\n".join(lines) + "\n"


def bench_document(summary: dict) -> str:
    """``bench.md``: how it was measured, on what, the table, and the notes."""
    machine = summary.get("machine", {})
    start, end = machine.get("load_average_at_start"), machine.get("load_average_at_end")
    load = f"{start[0]:.2f} → {end[0]:.2f}" if start and end else "–"
    process = summary.get("measured") == "process"
    lines = [
        "# Compression: the `comprimemelo compress` command vs. command-line tools, whole processes"
        if process else "# Compression core vs. command-line tools", "",
        f"Command: `{summary.get('command', '')}`", "",
        f"Machine: {machine.get('cores')} cores ({machine.get('cpu_model')}), {machine.get('memory_gib')} GiB, "
        f"{machine.get('os')}, Python {machine.get('python')}, commit {machine.get('git_commit')}; "
        f"load average (1 min) {load}.", "",
        (f"Configuration: `comprimemelo compress FILE --format F --level L --threads {summary['threads']} -o OUT` "
         "as a whole process (Python start-up, imports of the package byte-compiled as pip installs it, "
         "the archive fsynced; the tools do not fsync) and every tool at "
         if process else f"Configuration: core `compress(..., threads={summary['threads']})` and every tool at ")
        + f"{summary['threads']} threads, same level; median of {summary['repeats']} runs, core and tools "
        "interleaved (alternating which runs first); MB/s is input bytes (10^6) per second of wall time; "
        "ratio is compressed/input; CPU s ref/core is the CPU seconds (all threads and processes) the tool "
        "used over the core's: above 1 the core does the same work with less CPU, a figure that load from "
        "other processes distorts far less than wall time. Core libraries: "
        + ", ".join(f"{k} {v}" for k, v in summary.get("core_libraries", {}).items()) + ".", "",
        "Tools: " + "; ".join(f"{k}: {v}" for k, v in summary.get("tools", {}).items()), "",
        bench_markdown(summary),
    ]
    if summary.get("startup"):
        lines += ["## Start-up: `comprimemelo compress` on an empty file", "",
                  "| format | median ms | fastest ms | bare `python -S -c pass` ms | target | verdict |",
                  "|---|---:|---:|---:|---:|---|"]
        lines += [f"| {row['format']} | {row['median_ms']:.1f} | {row['min_ms']:.1f} | {row['python_bare_ms']:.1f} "
                  f"| ≤{row['target_ms']} ms | {row['verdict']} |" for row in summary["startup"]] + [""]
    if summary.get("notes"):
        lines += ["## Notes", ""] + [f"- {note}" for note in summary["notes"]] + [""]
    return "\n".join(lines) + "\n"


def bench_chart(summary: dict) -> str:
    rows = summary["rows"]
    labels = [f"{r['corpus']}\n{r['format']}\nvs {r['reference'].split()[0]}" for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(9, 0.6 * len(rows)), 6), sharex=True)
    positions = range(len(rows))
    top.bar([p - 0.2 for p in positions], [r["core_mb_s"] for r in rows], 0.4, label="core")
    top.bar([p + 0.2 for p in positions], [r["ref_mb_s"] for r in rows], 0.4, label="reference CLI")
    top.set_ylabel("input MB/s")
    top.set_yscale("log")
    top.legend()
    bottom.bar(positions, [r["speed_vs_ref"] for r in rows], 0.6,
               color=["#2a7" if r["speed_vs_ref"] >= r["target"] else "#d44" for r in rows])
    bottom.scatter(positions, [r["target"] for r in rows], marker="_", s=300, color="#000", label="target")
    bottom.set_ylabel("speed core / CLI")
    bottom.legend()
    bottom.set_xticks(list(positions))
    bottom.set_xticklabels(labels, fontsize=7)
    return _png(fig)


def render_bench(summary: dict) -> str:
    title = "comprimemelo compression core vs. command-line tools"
    rows = summary["rows"]
    table = _table(
        ["corpus", "format", "level", "core MB/s", "core ratio", "reference", "ref MB/s", "ref ratio",
         "speed core/ref", "target", "size core/ref", "runs core / ref (s)", "load 1m", "verdict"],
        [[r["corpus"], r["format"], _fmt(r["level"]), _fmt(r["core_mb_s"], 1), _fmt(r["core_ratio"], 3),
          f"<code>{html.escape(r['reference'])}</code>", _fmt(r["ref_mb_s"], 1), _fmt(r["ref_ratio"], 3),
          f'<span class="{"ok" if r["speed_vs_ref"] >= r["target"] else "bad"}">{r["speed_vs_ref"]:.2f}×</span>',
          f"≥{r['target']:.1f}×",
          f'<span class="{"ok" if r["size_vs_ref"] <= 1.02 else "bad"}">{r["size_vs_ref"]:.3f}</span>',
          html.escape(" ".join(map(str, r.get("core_runs_seconds", [])))) + " / "
          + html.escape(" ".join(map(str, r.get("ref_runs_seconds", [])))),
          "→".join(f"{v:.1f}" for v in r.get("load_average_1m", [])) or "–",
          html.escape(r.get("verdict", "–"))]
         for r in rows],
        left=2,
    )
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Each measurement is the median of {summary['repeats']} runs; MB/s is input bytes (10^6) per "
        f"second of wall time; ratio is compressed/input (smaller is better); the core runs with "
        f"threads={summary['threads']}. Targets: speed core/CLI at least the target, size within 2%.</p>",
        table, "<h2>Chart</h2>", bench_chart(summary),
        "<h2>Corpora</h2>" + _kv_table(summary["corpora"]),
        "<h2>Command</h2><pre>" + html.escape(summary["command"]) + "</pre>",
        "<h2>Machine</h2>" + _kv_table(summary["machine"]),
        "<h2>Tools</h2>" + _kv_table(summary["tools"]),
        "<h2>Core libraries</h2>" + _kv_table(summary.get("core_libraries", {})),
    ]
    if summary.get("notes"):
        sections.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in summary["notes"])
                        + "</ul>")
    return _page(title, sections)
