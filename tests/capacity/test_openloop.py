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
    "sentRequests": 1500, "waitingAtStopMs": [1],  # what openloop.mjs adds
}


def test_percentiles_come_from_the_histogram_by_nearest_rank():
    figures = openloop.figures(RESULT, 500)
    assert (figures["p50_ms"], figures["p90_ms"], figures["p99_ms"], figures["p99_9_ms"]) == (0, 1, 5, 9)
    assert (figures["max_ms"], figures["rps"], figures["connections"]) == (15, 499.7, 5)


def test_requests_still_waiting_at_the_deadline_count_with_their_wait():
    """A request the server holds cannot drop out of the percentiles: its wait so far is a lower bound."""
    held = {**RESULT, "totalRequests": 1480, "histogramMs": {"0": 1480}, "sentRequests": 1500,
            "waitingAtStopMs": [1] + [2500] * 19}
    figures = openloop.figures(held, 500)
    assert (figures["in_flight_at_stop"], figures["oldest_in_flight_ms"]) == (20, 2500)
    assert (figures["p90_ms"], figures["p99_ms"], figures["max_ms"]) == (0, 2500, 2500)
    assert figures["unanswered"] == 0  # none waited the whole request timeout


def test_a_request_waiting_past_the_timeout_at_the_deadline_is_unanswered():
    stuck = {**RESULT, "totalRequests": 1498, "sentRequests": 1500, "waitingAtStopMs": [3, 10_000]}
    assert openloop.figures(stuck, 500)["unanswered"] == 1


def test_requests_the_generator_never_sent_are_its_lag_not_the_servers():
    lagging = {**RESULT, "totalRequests": 1199, "sentRequests": 1200, "totalErrors": 7, "errorCodes": {"-1": 7}}
    figures = openloop.figures(lagging, 500)
    assert (figures["not_sent"], figures["unanswered"], figures["in_flight_at_stop"]) == (300, 0, 1)
    assert (figures["errors"], figures["error_kinds"]) == (7, {"-1": 7})


def test_requests_answered_just_in_time_leave_the_percentiles_as_they_were():
    figures = openloop.figures(RESULT, 500)
    assert (figures["not_sent"], figures["unanswered"], figures["in_flight_at_stop"]) == (0, 0, 1)


@pytest.mark.parametrize("result", [{}, {**RESULT, "histogramMs": {}}, {**RESULT, "elapsedSeconds": 0},
                                    {key: value for key, value in RESULT.items() if key != "sentRequests"}])
def test_a_result_without_answers_is_refused(result):
    with pytest.raises(openloop.OpenLoopOutputError):
        openloop.figures(result, 500)


def test_a_real_open_loop_run_sends_the_rate_it_was_asked_for():
    if not openloop.installed():
        require_or_skip("node or loadtest is missing (tests/install-system-deps.sh runs npm ci in capacity/)")
    from capacity.baseline import bare_server

    with bare_server({"web_workers": 1, "web_threads": 2, "web_worker_class": "gevent"}) as (url, _process):
        figures = openloop.measure(url + "/api/tasks", "some-token", rate=200, duration=3)
    assert figures["errors"] == 0 and figures["unanswered"] == 0
    assert 190 <= figures["rps"] <= 210
    assert figures["requests"] >= 590
    # Every request sent is answered or reported waiting; the 200/s schedule is kept.
    assert figures["not_sent"] <= 2 and figures["in_flight_at_stop"] <= 5
