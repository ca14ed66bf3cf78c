"""The report and statistics code of ``capacity``, from small synthetic inputs (no locust, no server)."""

from __future__ import annotations

import argparse
import csv
import json

import pytest

from capacity import report, stats
from capacity.cli import parse_duration, parse_size, parse_steps, parse_wait

T0 = 1_700_000_000.0


def _load_summary(**extra) -> dict:
    summary = {
        "scenario": "list-tasks", "description": "signed-in users listing their tasks", "mode": "run",
        "command": "python -m capacity run --scenario list-tasks --users 3", "host": "http://127.0.0.1:8000",
        "started_at": "2026-01-01T00:00:00Z", "duration_seconds": 4.0, "users": 3, "spawn_rate": 3,
        "wait_seconds": [1, 3], "setup": {"accounts": 2, "tasks_per_account": 20, "seconds": 1.0},
        "file": None, "machine": {"cores": 2, "cpu_model": "Test CPU", "memory_gib": 4.0},
        "service": {"web_workers": 2, "web_threads": 8, "database": {"kind": "SQLite"}},
        "load_generator": "locust", "user_exceptions": 0, "notes": ["synthetic <input>"],
    }
    samples = [stats.Sample(T0 + i * 0.5, "GET", "/api/tasks", 10.0 + i, failed=(i == 7)) for i in range(8)]
    summary["totals"] = stats.summarize(samples, 4.0)
    summary["endpoints"] = stats.by_endpoint(samples, 4.0)
    summary.update(extra)
    return summary, samples


def _write_folder(folder, summary, samples, conversions=()):
    rows = stats.per_second(samples, [(T0, 0), (T0 + 0.5, 3)], T0, T0 + 4.0,
                            [c["finished"] for c in conversions])
    (folder / "summary.json").write_text(json.dumps(summary))
    with open(folder / "timeseries.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    if conversions:
        with open(folder / "conversions.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(conversions[0]))
            writer.writeheader()
            writer.writerows(conversions)
    return rows


def test_percentile_is_nearest_rank_and_none_when_empty():
    values = list(range(1, 101))
    assert stats.percentile(values, 50) == 50
    assert stats.percentile(values, 95) == 95
    assert stats.percentile(values, 99) == 99
    assert stats.percentile([7], 99) == 7
    assert stats.percentile([], 50) is None


def test_summarize_counts_failures_and_throughput():
    _, samples = _load_summary()
    totals = stats.summarize(samples, 4.0)
    assert totals["requests"] == 8
    assert totals["failures"] == 1
    assert totals["error_rate"] == pytest.approx(1 / 8)
    assert totals["rps"] == 2.0
    assert totals["p50_ms"] == 13.0


def test_per_second_buckets_requests_users_and_files():
    _, samples = _load_summary()
    rows = stats.per_second(samples, [(T0, 0), (T0 + 0.5, 3)], T0, T0 + 4.0, [T0 + 1.2, T0 + 1.9])
    assert [r["requests"] for r in rows] == [2, 2, 2, 2]
    assert [r["users"] for r in rows] == [3, 3, 3, 3]
    assert [r["files_finished"] for r in rows] == [0, 2, 0, 0]
    assert rows[3]["failures"] == 1


def test_capacity_is_the_last_step_holding_before_the_first_break():
    steps = [{"users": 10, "passed": True}, {"users": 20, "passed": True},
             {"users": 40, "passed": False}, {"users": 80, "passed": True}]
    assert stats.capacity_from_steps(steps) == 20
    assert stats.capacity_from_steps([{"users": 10, "passed": False}]) == 0


def test_conversion_summary_reports_files_per_minute_and_latency():
    conversions = [
        {"status": "processed", "started": 0.0, "finished": float(i + 1), "bytes_in": 1_000_000,
         "server_seconds": 0.5, "format": "zip"} for i in range(10)
    ] + [{"status": "failed", "started": 0.0, "finished": 1.0, "bytes_in": 1, "server_seconds": None,
          "format": "7z"}]
    summary = stats.conversion_summary(conversions, 30.0)
    assert summary["processed"] == 10
    assert summary["failed"] == 1
    assert summary["files_per_minute"] == 20.0
    assert summary["input_mb_per_minute"] == 20.0
    assert summary["p50_seconds"] == 5.0
    assert summary["p99_seconds"] == 10.0
    assert summary["by_format"] == {"zip": 10}


def test_run_report_is_one_self_contained_html_file(tmp_path):
    summary, samples = _load_summary()
    _write_folder(tmp_path, summary, samples)
    page = report.write_report(tmp_path).read_text()
    assert page.count('src="data:image/png;base64,') >= 4
    assert "list-tasks" in page and "Test CPU" in page and "web_threads" in page
    assert summary["command"] in page
    assert "synthetic &lt;input&gt;" in page
    for external in ('src="http', "href=\"http", "<script", "<link"):
        assert external not in page


def test_ramp_and_convert_report_shows_capacity_steps_and_files_per_minute(tmp_path):
    steps = [
        {"users": 2, "passed": True, "requests": 4, "failures": 0, "rps": 2.0, "p50_ms": 10.0, "p95_ms": 20.0,
         "p99_ms": 20.0, "from_second": 0.0, "to_second": 2.0},
        {"users": 4, "passed": False, "requests": 4, "failures": 1, "rps": 2.0, "p50_ms": 10.0,
         "p95_ms": 1500.0, "p99_ms": 1600.0, "from_second": 2.0, "to_second": 4.0},
    ]
    conversions = [{"started": T0, "finished": T0 + 1.5, "format": "zip", "bytes_in": 1000, "bytes_out": 400,
                    "status": "processed", "server_seconds": 1.0}]
    summary, samples = _load_summary(
        mode="ramp", scenario="convert",
        ramp={"steps": steps, "p95_threshold_ms": 1000, "capacity_users": 2, "rule": "0 errors, p95 < 1 s"},
        conversions=stats.conversion_summary(conversions, 4.0),
        file={"bytes": 1000, "formats": ["zip"], "level": None},
    )
    _write_folder(tmp_path, summary, samples, [
        {**c, "started": 0.0, "finished": 1.5} for c in conversions
    ])
    page = report.write_report(tmp_path).read_text()
    assert "Capacity: <b>2</b> users" in page
    assert "files/min" in page
    assert page.count('src="data:image/png;base64,') >= 5


def test_bench_report_has_the_side_by_side_table_and_chart(tmp_path):
    row = {"corpus": "text", "format": "tar.gz", "level": 6, "core_seconds": 1.0, "core_mb_s": 67.1,
           "core_ratio": 0.25, "core_bytes": 100, "reference": "tar -cf - FILE | pigz -6 -p2 > OUT",
           "ref_seconds": 2.0, "ref_mb_s": 33.5, "ref_ratio": 0.25, "ref_bytes": 100, "speed_vs_ref": 2.0,
           "size_vs_ref": 1.0, "target": 1.0}
    summary = {"mode": "bench-compression", "repeats": 3, "threads": 2, "rows": [row, {**row, "format": "tar.zst",
               "speed_vs_ref": 0.5, "target": 0.9}], "corpora": {"folder": "/tmp"},
               "tools": {"pigz": "pigz 2.8"}, "command": "python -m capacity bench-compression",
               "machine": {"cores": 2}, "notes": []}
    markdown = report.bench_markdown(summary)
    assert "| text | tar.gz | 6 | 67.1 |" in markdown
    assert "\\| pigz" in markdown  # the pipe in the command does not split the cell
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    page = report.write_report(tmp_path).read_text()
    assert "data:image/png;base64," in page and "2.00×" in page and "0.50×" in page


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [(parse_size, "5MB", 5_000_000), (parse_size, "64KiB", 65536), (parse_duration, "2m", 120.0),
     (parse_duration, "30s", 30.0), (parse_wait, "1-3", (1.0, 3.0)), (parse_wait, "0", (0.0, 0.0)),
     (parse_steps, "50,100,200", [50, 100, 200])],
)
def test_command_line_values_are_parsed(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize(("parse", "text"), [(parse_size, "5 parsecs"), (parse_steps, "200,100"),
                                             (parse_wait, "3-1"), (parse_duration, "soon")])
def test_malformed_command_line_values_are_rejected(parse, text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)


def test_reports_overview_lists_the_headline_figure_of_each_folder(tmp_path):
    from capacity.summary import write_summary

    summary, samples = _load_summary(
        mode="ramp",
        ramp={"steps": [{"users": 50, "passed": True, "rps": 25.0, "p95_ms": 300.0, "failures": 0},
                        {"users": 100, "passed": False, "rps": 30.0, "p95_ms": 1500.0, "failures": 2}],
              "p95_threshold_ms": 1000, "capacity_users": 50, "rule": ""},
    )
    folder = tmp_path / "embedded" / "list-tasks-ramp"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(summary))
    login = tmp_path / "embedded" / "login"
    login.mkdir()
    (login / "summary.json").write_text(json.dumps({**_load_summary(scenario="login")[0]}))
    convert = tmp_path / "embedded" / "convert"
    convert.mkdir()
    conversions = [{"status": "processed", "started": 0.0, "finished": 2.0, "bytes_in": 5_000_000,
                    "server_seconds": 1.0, "format": "zip"}] * 3
    (convert / "summary.json").write_text(json.dumps(_load_summary(
        scenario="convert", conversions=stats.conversion_summary(conversions, 60.0),
        file={"bytes": 5_000_000, "formats": ["zip", "tar.gz"], "level": None})[0]))
    text = write_summary(tmp_path).read_text()
    assert "[**3 files/min**](embedded/convert/report.html) of 5 MB files (zip, tar.gz), 3 users" in text
    assert "[**50 users**](embedded/list-tasks-ramp/report.html) (25 req/s, p95 300 ms); breaks at 100" in text
    assert "[**2.0/s**](embedded/login/report.html) at 3 users" in text
    assert "| Sign-ups/s (`signup`, no think time) | not run |" in text
