"""What the service benchmarks (``bench-e2e``, ``bench-api``, ``bench-auth``,
``bench-upload``) share: a measured figure against a baseline measured in the same
run, the verdict against issue 8's target, and the report folder.

A report folder holds ``summary.json`` (everything), ``bench.md`` (the same, for
people) and ``report.html`` (self-contained).
"""

from __future__ import annotations

import html
import json
import os
import statistics
from collections.abc import Sequence
from pathlib import Path

from capacity import report


def ratio(measured: float | None, baseline: float | None) -> float | None:
    """``measured / baseline``, or ``None`` when either is missing or the baseline is 0."""
    if measured is None or not baseline:
        return None
    return measured / baseline


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def check(name: str, measured: float | None, unit: str, *, target: str, met: bool | None,
          baseline: float | None = None, baseline_name: str = "", ratio_value: float | None = None) -> dict:
    """One row of the verdict table; ``met`` is ``None`` when it could not be measured."""
    return {
        "name": name, "measured": measured, "unit": unit, "baseline": baseline, "baseline_name": baseline_name,
        "ratio": ratio_value, "target": target,
        "verdict": "not measured" if met is None else ("met" if met else "missed"),
    }


def at_least(value: float | None, floor: float) -> bool | None:
    return None if value is None else value >= floor


def at_most(value: float | None, ceiling: float) -> bool | None:
    return None if value is None else value <= ceiling


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def checks_markdown(checks: Sequence[dict]) -> str:
    lines = ["| figure | measured | baseline (same run) | ratio | target | verdict |",
             "|---|---:|---|---:|---|---|"]
    for row in checks:
        baseline = f"{_cell(row['baseline'])} ({row['baseline_name']})" if row["baseline"] is not None else "–"
        lines.append(f"| {row['name']} | {_cell(row['measured'])} {row['unit']} | {baseline} | "
                     f"{_cell(row['ratio'])} | {row['target']} | **{row['verdict']}** |")
    return "\n".join(lines) + "\n"


def _facts(mapping: dict) -> list[str]:
    return [f"- {key}: {json.dumps(value) if isinstance(value, dict | list) else value}"
            for key, value in mapping.items()]


def document(summary: dict) -> str:
    """``bench.md``."""
    machine = summary["machine"]
    lines = [f"# {summary['title']}", "", f"Command: `{summary['command']}`", "",
             f"Machine: {machine.get('cores')} cores ({machine.get('cpu_model')}), {machine.get('memory_gib')} GiB, "
             f"{machine.get('os')}, Python {machine.get('python')}, commit {machine.get('git_commit')}; "
             f"load average (1 min) {machine['load_average_at_start'][0]:.2f} → "
             f"{machine['load_average_at_end'][0]:.2f}.", "",
             "## Verdict", "", checks_markdown(summary["checks"]),
             "## Configuration", "", *_facts(summary["configuration"]), "",
             "## Measurements", "", *_facts(summary["results"]), ""]
    if summary.get("notes"):
        lines += ["## Notes", "", *[f"- {note}" for note in summary["notes"]], ""]
    return "\n".join(lines) + "\n"


def render(summary: dict) -> str:
    """``report.html``: the same content as ``bench.md``, self-contained."""
    title = summary["title"]
    checks = report._table(
        ["figure", "measured", "baseline (same run)", "ratio", "target", "verdict"],
        [[html.escape(row["name"]), f"{_cell(row['measured'])} {html.escape(row['unit'])}",
          html.escape(f"{_cell(row['baseline'])} ({row['baseline_name']})" if row["baseline"] is not None else "–"),
          _cell(row["ratio"]), html.escape(row["target"]),
          f'<span class="{"ok" if row["verdict"] == "met" else "bad"}">{html.escape(row["verdict"])}</span>']
         for row in summary["checks"]],
    )
    sections = [f"<h1>{html.escape(title)}</h1>", "<h2>Verdict</h2>", checks]
    sections += summary.get("charts", [])
    sections += ["<h2>Configuration</h2>" + report._kv_table(summary["configuration"]),
                 "<h2>Measurements</h2><pre>" + html.escape(json.dumps(summary["results"], indent=2)) + "</pre>",
                 "<h2>Command</h2><pre>" + html.escape(summary["command"]) + "</pre>",
                 "<h2>Machine</h2>" + report._kv_table(summary["machine"])]
    if summary.get("notes"):
        sections.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in summary["notes"])
                        + "</ul>")
    return report._page(title, sections)


def write(out: Path, summary: dict) -> None:
    """Write ``summary.json``, ``bench.md`` and ``report.html`` into ``out`` and print ``bench.md``."""
    out.mkdir(parents=True, exist_ok=True)
    summary["machine"]["load_average_at_end"] = list(os.getloadavg())
    charts = summary.pop("charts", [])
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "bench.md").write_text(document(summary))
    (out / "report.html").write_text(render({**summary, "charts": charts}))
    print(document(summary))
    print(f"report: {out / 'report.html'}")
