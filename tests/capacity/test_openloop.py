"""bench-api's open-loop generator: loadtest's result read into percentiles,
errors and unanswered requests, and a real short run. Nothing here is timed."""

from __future__ import annotations

import pytest

from capacity import openloop
from tests.conftest import require_or_skip

RESULT = {  # a real loadtest 8.2.1 result (500 req/s for 3 s against capacity.bareapp), trimmed
    "requestsPerSecond": 500, "clients": 5, "elapsedSeconds": 3, "totalRequests": 1499, "totalErrors": 0,
    "errorCodes": {}, "histogramMs": {"0": 1250, "1": 176, "2": 27, "3": 16, "4": 13, "5": 6, "6": 5, "7": 1,
                                      "8": 3, "9": 1, "15": 1},
}


def test_percentiles_come_from_the_histogram_by_nearest_rank():
    figures = openloop.figures(RESULT, 500)
    assert (figures["p50_ms"], figures["p90_ms"], figures["p99_ms"], figures["p99_9_ms"]) == (0, 1, 5, 9)
    assert (figures["max_ms"], figures["rps"], figures["connections"]) == (15, 499.7, 5)


def test_requests_the_schedule_called_for_but_never_answered_are_counted():
    late = {**RESULT, "totalRequests": 1200, "totalErrors": 7, "errorCodes": {"-1": 7}}
    figures = openloop.figures(late, 500)
    # p99 of the 1,200 answers is 0 ms: none may be excused as still on its way.
    assert (figures["unanswered"], figures["in_flight_at_stop"]) == (300, 0)
    assert (figures["errors"], figures["error_kinds"]) == (7, {"-1": 7})


def test_requests_in_flight_when_the_generator_stops_are_not_failures():
    """loadtest stops at its deadline: the last rate x p99 of requests are not late, only unfinished."""
    stopped = {**RESULT, "totalRequests": 1497}  # p99 5 ms at 500 req/s: up to 3 on their way
    figures = openloop.figures(stopped, 500)
    assert (figures["unanswered"], figures["in_flight_at_stop"]) == (0, 3)


@pytest.mark.parametrize("result", [{}, {**RESULT, "histogramMs": {}}, {**RESULT, "elapsedSeconds": 0}])
def test_a_result_without_answers_is_refused(result):
    with pytest.raises(openloop.OpenLoopOutputError):
        openloop.figures(result, 500)


def test_a_real_open_loop_run_sends_the_rate_it_was_asked_for():
    if not openloop.installed():
        require_or_skip("node or loadtest is missing (tests/install-system-deps.sh runs npm ci in capacity/)")
    from capacity.baseline import bare_server

    with bare_server({"web_workers": 1, "web_threads": 2, "web_worker_class": "gevent"}) as (url, _process):
        figures = openloop.measure(url + "/api/tasks", "some-token", rate=200, duration=3)
    assert figures["errors"] == 0 and figures["unanswered"] <= 2
    assert 190 <= figures["rps"] <= 210
    assert figures["requests"] >= 590
