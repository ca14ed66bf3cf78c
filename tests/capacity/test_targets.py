"""The pure parts of the service benchmarks and the soak: ratios, verdicts, RSS
trends, time parsing and the report text. Nothing here is timed."""

from __future__ import annotations

import pytest

from capacity import bench, targets
from capacity.e2e import files_per_minute, parse_timestamp
from capacity.procs import memory_trend, role_of, slope_per_minute
from capacity.soak import soak_markdown, soak_section
from capacity.uploadbench import multipart_parts


def test_slope_per_minute_of_a_steady_climb():
    seconds = [0, 30, 60, 90, 120]
    assert slope_per_minute(seconds, [100, 101, 102, 103, 104]) == pytest.approx(2.0)


def test_slope_of_flat_or_too_few_points():
    assert slope_per_minute([0, 5, 10], [50, 50, 50]) == pytest.approx(0.0)
    assert slope_per_minute([0], [50]) is None
    assert slope_per_minute([3, 3], [1, 2]) is None


def test_memory_trend_takes_medians_of_start_middle_and_end():
    samples = [{"t": i * 5.0, "web_rss_mb": 100 + (50 if i == 0 else 0) + i * 0.1} for i in range(100)]
    trend = memory_trend(samples, "web_rss_mb")
    assert trend["samples"] == 100
    assert trend["start_mb"] == pytest.approx(100.5, abs=0.1)  # the median ignores the first spike
    assert trend["end_mb"] == pytest.approx(109.5, abs=0.1)
    assert trend["max_mb"] == 150.0
    assert 0 < trend["slope_mb_per_min"] < 1.2  # the climb, pulled down by the early spike


def test_role_of_the_children_of_serve():
    assert role_of(["/venv/bin/python3", "-m", "comprimemelo", "web", "--no-migrate"]) == "web"
    assert role_of(["python", "-m", "comprimemelo", "worker"]) == "worker"
    assert role_of(["python", "-m", "comprimemelo", "db", "upgrade"]) is None


def test_ratio_and_checks():
    assert targets.ratio(50, 100) == 0.5
    assert targets.ratio(None, 100) is None and targets.ratio(5, 0) is None
    assert targets.check("x", 1, "s", target="≤ 2", met=True)["verdict"] == "met"
    assert targets.check("x", 3, "s", target="≤ 2", met=False)["verdict"] == "missed"
    assert targets.check("x", None, "s", target="≤ 2", met=targets.at_most(None, 2))["verdict"] == "not measured"


def test_target_document_shows_machine_checks_and_configuration():
    summary = {
        "title": "API", "command": "python -m capacity bench-api",
        "machine": {"cores": 2, "load_average_at_start": [1.0, 1, 1], "load_average_at_end": [2.5, 1, 1]},
        "checks": [targets.check("req/s", 400.0, "req/s", baseline=1000.0, baseline_name="bare",
                                 ratio_value=0.4, target="≥ 0.5×", met=False)],
        "configuration": {"users": 1000}, "results": {"rps": 400}, "notes": ["noisy"],
    }
    text = targets.document(summary)
    assert "1.00 → 2.50" in text and "| req/s | 400.0 req/s | 1,000.0 (bare) | 0.400 | ≥ 0.5× | **missed** |" in text
    assert "- users: 1000" in text and "- noisy" in text
    assert "data:" not in targets.render(summary) and "missed" in targets.render(summary)


def test_compression_verdict_names_what_is_missed():
    row = {"speed_vs_ref": 0.85, "target": 1.0, "size_vs_ref": 1.03}
    assert bench.verdict(row) == "missed: speed 0.85x < 1.0x, size 1.030 > 1.02"
    assert bench.verdict({"speed_vs_ref": 1.1, "target": 1.0, "size_vs_ref": 1.0}) == "met"


def test_e2e_helpers():
    assert parse_timestamp("1970-01-01T00:01:00.500000Z") == pytest.approx(60.5)
    assert files_per_minute(30, 15.0) == 120.0
    assert files_per_minute(3, 0) == 0.0


def test_soak_section_is_met_only_when_flat_and_error_free():
    samples = [{"t": i * 5.0, "web_rss_mb": 200.0, "worker_rss_mb": 80.0 + i * 0.01} for i in range(120)]
    summary = {"totals": {"requests": 1000, "failures": 0}, "conversions": {"failed": 0}}
    soak = soak_section(summary, samples, 5.0)
    assert soak["verdict"] == "met" and soak["memory"]["web"]["slope_mb_per_min"] == 0.0
    leaking = [{**row, "worker_rss_mb": 80.0 + row["t"] / 10} for row in samples]
    assert soak_section(summary, leaking, 5.0)["verdict"] == "missed"
    failing = {"totals": {"requests": 1000, "failures": 3}, "conversions": {}}
    assert soak_section(failing, samples, 5.0)["verdict"] == "missed"
    text = soak_markdown({"scenario": "mixed", "duration_seconds": 600, "users": 50, "command": "c",
                          "machine": {"load_average_at_start": [1, 1, 1], "load_average_at_end": [2, 1, 1]},
                          "soak": soak})
    assert "| web | 200.0 | 200.0 | 200.0 |" in text and "errors: 0" in text


def test_multipart_parts_frame_the_streamed_file():
    head, tail, content_type = multipart_parts(10, "tar.zst")
    boundary = content_type.split("boundary=")[1]
    assert head.startswith(f"--{boundary}\r\n".encode()) and b'name="newFormat"\r\n\r\ntar.zst' in head
    assert head.endswith(b"\r\n\r\n") and tail == f"\r\n--{boundary}--\r\n".encode()


def test_auth_window_counts_only_calls_ending_inside_it():
    from capacity.authbench import window_count

    assert window_count([0.5, 1.0, 1.5, 2.0, 9.0], 1.0, 2.0) == 2
