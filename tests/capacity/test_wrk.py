"""bench-api reads wrk's ``--latency`` report (outputs captured from real runs at
1000 connections on this machine, capacity/reports/api-tail) and the per-connection
lines of ``wrk_connections.lua``, from a real short run too. Nothing here is timed."""

from __future__ import annotations

from pathlib import Path

import pytest

from capacity import wrk
from tests.conftest import require_or_skip

CAPTURED = Path(__file__).resolve().parents[2] / "capacity" / "reports" / "api-tail" / "wrk"
STARVED_RUN = (CAPTURED / "wrk-0-service-current.txt").read_text()
FAIR_RUN = (CAPTURED / "wrk-0-service-fair.txt").read_text()


def test_percentiles_in_every_unit_are_read_as_milliseconds_with_the_timeouts():
    assert wrk.parse(STARVED_RUN) == {
        "requests": 145001, "seconds": 20.06, "rps": 7229.47,
        "p50_ms": 0.268, "p75_ms": 260.18, "p90_ms": 2190.0, "p99_ms": 4840.0,
        "timeouts": 87, "socket_errors": 0, "non_2xx": 0,
    }


def test_a_run_without_socket_errors_or_non_2xx_answers_counts_none():
    figures = wrk.parse(FAIR_RUN)
    assert (figures["rps"], figures["p99_ms"], figures["timeouts"], figures["non_2xx"]) == (6214.59, 225.69, 0, 0)


def test_non_2xx_answers_and_socket_errors_are_counted():
    output = FAIR_RUN.replace("Requests/sec:", "  Socket errors: connect 3, read 2, write 0, timeout 0\n"
                                               "  Non-2xx or 3xx responses: 12\nRequests/sec:")
    figures = wrk.parse(output)
    assert (figures["socket_errors"], figures["non_2xx"]) == (5, 12)


def test_a_run_without_the_latency_distribution_is_refused():
    without = "\n".join(line for line in FAIR_RUN.splitlines() if "%  " not in line or "Latency" in line)
    with pytest.raises(wrk.WrkOutputError):
        wrk.parse(without)


def test_each_connection_counts_its_answers_and_its_unanswered_wait():
    lines = "\n".join([
        "-1 10 20 30",        # three answers, none pending
        "2500.5 40",          # one answer, then waited 2.5 s unanswered
        "9000",               # never answered in the whole run
        "-1 " + " ".join(["5"] * 97),
    ])
    figures = wrk.connection_figures(lines)
    assert figures["connections"] == 4 and figures["starved"] == 1
    assert (figures["fewest_requests"], figures["requests_p1"]) == (0, 0)
    assert figures["mean_ms_max"] == 9000.0 and figures["worst_ms_max"] == 9000.0
    assert figures["mean_ms_p50"] == 20.0  # the connections' means are 20, 1270.25, 9000 and 5


def test_an_empty_connections_file_is_refused():
    with pytest.raises(wrk.WrkOutputError):
        wrk.connection_figures("\n")


@pytest.fixture(scope="module")
def bare_url():
    from capacity.baseline import bare_server

    with bare_server({"web_workers": 1, "web_threads": 2, "web_worker_class": "gevent"}) as (url, _process):
        yield url


def test_a_real_wrk_run_reports_every_connection(bare_url):
    if wrk.shutil.which(wrk.WRK) is None:
        require_or_skip("wrk is not installed (tests/install-system-deps.sh installs it)")
    figures = wrk.measure(bare_url + "/api/tasks", "some-token", connections=8, duration=2)
    per_connection = figures["per_connection"]
    assert per_connection["connections"] == 8 and per_connection["starved"] == 0
    assert figures["requests"] > 0 and figures["non_2xx"] == 0
    assert per_connection["fewest_requests"] >= 1
    assert 0 < per_connection["mean_ms_p50"] <= per_connection["worst_ms_max"]
