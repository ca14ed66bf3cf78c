"""Short bounded ``python -m capacity run``s (list-tasks, and convert) against a real
``comprimemelo serve`` (SQLite): requests were made, none failed, and the report folder
is complete and self-contained.

The runs are separate processes (locust monkey-patches whatever imports it) and run at
the same time against one server, to keep the module within a few seconds of load.
The other scenarios share the same user base class and client; they are exercised by
the report runs in ``capacity/reports``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import serving

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_SECONDS = 120
# A few users for a few seconds; small pools and files so that set-up takes about a second.
COMMON = ["--spawn-rate", "10", "--accounts", "2", "--tasks-per-account", "3",
          "--file-size", "64KB", "--wait", "0.05-0.2"]
RUNS = {
    "list-tasks": ["run", "--scenario", "list-tasks", "--users", "4", "--duration", "4s"],
    "convert": ["run", "--scenario", "convert", "--users", "3", "--duration", "4s", "--formats", "zip,tar.zst"],
}
EXTERNAL_ASSET = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?\s*https?://""", re.IGNORECASE)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("capacity-server")
    with serving(folder) as (base_url, _process):
        yield base_url


@pytest.fixture(scope="module")
def results(server, tmp_path_factory) -> dict[str, Path]:
    """Run every scenario at once; the report folder of each, by scenario name."""
    root = tmp_path_factory.mktemp("capacity-reports")
    running = {}
    for name, args in RUNS.items():
        out = root / name
        log = root / f"{name}.log"
        with open(log, "wb") as handle:
            running[name] = (out, log, subprocess.Popen(
                [sys.executable, "-m", "capacity", *args, *COMMON, "--host", server, "--out", str(out)],
                cwd=REPO, stdout=handle, stderr=subprocess.STDOUT,
            ))
    folders = {}
    for name, (out, log, process) in running.items():
        process.wait(timeout=RUN_TIMEOUT_SECONDS)
        assert process.returncode == 0, f"{name} failed:\n{log.read_text(errors='replace')[-5000:]}"
        folders[name] = out
    return folders


def _summary(folder: Path) -> dict:
    for name in ("report.html", "summary.json", "timeseries.csv", "locust_stats.csv",
                 "locust_stats_history.csv", "locust_failures.csv"):
        assert (folder / name).is_file(), f"{name} missing from {folder}"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["totals"]["requests"] > 0, summary["totals"]
    assert summary["totals"]["failures"] == 0, summary["endpoints"]
    assert summary["user_exceptions"] == 0
    page = (folder / "report.html").read_text()
    assert "data:image/png;base64," in page
    assert not EXTERNAL_ASSET.search(page), EXTERNAL_ASSET.search(page)
    assert "<script" not in page and "<link" not in page
    return summary


def test_list_tasks_run_makes_requests_without_errors(results):
    summary = _summary(results["list-tasks"])
    assert [e["name"] for e in summary["endpoints"]] == ["/api/tasks"]
    assert summary["setup"]["tasks_per_account"] == 3
    assert summary["machine"]["cores"] and summary["command"].startswith("python -m capacity run")


def test_convert_scenario_reports_files_per_minute(results):
    summary = _summary(results["convert"])
    conversions = summary["conversions"]
    assert conversions["processed"] > 0 and conversions["failed"] == 0
    assert conversions["files_per_minute"] > 0
    assert conversions["p95_seconds"] > 0
    assert (results["convert"] / "conversions.csv").is_file()
