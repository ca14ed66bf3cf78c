"""bench-api reads wrk's ``--latency`` report (outputs captured from real runs at
1000 connections on this machine, capacity/reports/api-tail). Nothing here is timed."""

from __future__ import annotations

from pathlib import Path

import pytest

from capacity import wrk

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
