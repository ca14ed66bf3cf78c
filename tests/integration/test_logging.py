"""Log lines: JSON with request and task ids in production, never a secret."""

from __future__ import annotations

import json
import logging
import re
import threading

import pytest

from comprimemelo import logs
from comprimemelo.logs import ContextFilter, JsonFormatter
from tests.conftest import PASSWORD, TEST_SECRET_KEY


def json_lines(records) -> list[dict]:
    formatter, context = JsonFormatter(), ContextFilter()
    lines = []
    for record in records:
        context.filter(record)
        lines.append(json.loads(formatter.format(record)))
    return lines


def test_a_task_threads_lines_carry_its_task_id():
    record_box = []

    def task_thread():
        logs.current_task_id.set(42)
        record = logging.LogRecord("comprimemelo.worker", logging.INFO, __file__, 1, "compressing", None, None)
        ContextFilter().filter(record)  # at emit time, in the task's thread
        record_box.append(record)

    thread = threading.Thread(target=task_thread)
    thread.start()
    thread.join()
    outside = logging.LogRecord("comprimemelo.worker", logging.INFO, __file__, 1, "idle", None, None)
    inside_line, outside_line = json_lines([record_box[0], outside])
    assert inside_line["task_id"] == 42 and inside_line["severity"] == "INFO"
    assert "task_id" not in outside_line


def test_every_line_of_a_request_carries_its_request_id(app, caplog):
    @app.get("/api/boom-for-test")
    def boom():
        logging.getLogger("comprimemelo.test").warning("inside the request")
        raise RuntimeError("unexpected")

    caplog.handler.addFilter(ContextFilter())  # as logs.configure() installs it
    with caplog.at_level(logging.INFO):
        response = app.test_client().get("/api/boom-for-test", headers={"X-Request-Id": "req-12345678"})
    assert response.status_code == 500
    assert "unexpected" not in response.get_data(as_text=True)  # the stack stays in the log
    lines = json_lines(caplog.records)
    ours = [line for line in lines if line.get("request_id") == "req-12345678"]
    messages = {line["message"] for line in ours}
    assert "inside the request" in messages
    assert any("stack_trace" in line and "RuntimeError" in line["stack_trace"] for line in ours)
    assert any(line.get("path") == "/api/boom-for-test" and line.get("status") == 500 for line in ours)


def test_no_password_token_or_key_reaches_the_logs(client, caplog):
    with caplog.at_level(logging.DEBUG):
        client.post(
            "/api/auth/signup",
            json={"username": "quiet", "email": "quiet@example.com", "password1": PASSWORD, "password2": PASSWORD},
        )
        client.post("/api/auth/login", json={"username": "quiet", "password": "wrong " + PASSWORD})
        token = client.post("/api/auth/login", json={"username": "quiet", "password": PASSWORD}).json[
            "access_token"
        ]
        headers = {"Authorization": f"Bearer {token}"}
        client.get("/api/tasks?access_token=" + token, headers=headers)
        client.get("/api/tasks/999999", headers=headers)
        client.post("/api/auth/logout", headers=headers)
        client.get("/api/tasks", headers=headers)  # revoked
    text = "\n".join(json.dumps(line) for line in json_lines(caplog.records))
    assert "/api/tasks" in text  # the requests were logged...
    for secret in (PASSWORD, token, token.split(".")[2], TEST_SECRET_KEY):
        assert secret not in text  # ...without what they carried


def test_configured_logging_writes_json_lines_from_its_writer_thread(capsys):
    import logging as stdlib_logging

    from comprimemelo.settings import Settings

    root = stdlib_logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(Settings(log_format="json"))
        worker_log = stdlib_logging.getLogger("comprimemelo.worker")

        def task_thread():
            logs.current_task_id.set(99)
            try:
                raise ValueError("bad input")
            except ValueError:
                worker_log.exception("task %s failed", 99)

        thread = threading.Thread(target=task_thread)
        thread.start()
        thread.join()
        logs._listener.stop()  # flush the queue, as at exit
        logs._listener = None
        (line,) = [json.loads(text) for text in capsys.readouterr().err.splitlines() if '"task 99' in text]
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    assert line["message"] == "task 99 failed" and line["task_id"] == 99 and line["severity"] == "ERROR"
    assert "ValueError: bad input" in line["stack_trace"]


def test_a_gevent_process_writes_each_line_where_it_is_logged(capsys):
    import logging as stdlib_logging

    from comprimemelo.settings import Settings

    root = stdlib_logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(Settings(log_format="json"), cooperative=True)
        assert logs._listener is None  # no writer thread to hand lines to
        token = logs.current_task_id.set(7)
        try:
            stdlib_logging.getLogger("comprimemelo.worker").warning("task %s slow", 7)
        finally:
            logs.current_task_id.reset(token)
        # Written before the call returned: nothing to flush.
        (line,) = [json.loads(text) for text in capsys.readouterr().err.splitlines() if '"task 7' in text]
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    assert line["message"] == "task 7 slow" and line["task_id"] == 7 and line["severity"] == "WARNING"


def test_only_a_gevent_patched_process_counts_as_cooperative():
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from comprimemelo.server.event_loop import threads_are_greenlets\n"
        "before = threads_are_greenlets()\n"
        "from gevent import monkey\n"
        "monkey.patch_all()\n"
        "print(before, threads_are_greenlets())\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == ["False", "True"]


def test_a_text_log_line_cannot_be_split_by_what_a_client_sends():
    import io
    import logging

    from comprimemelo.logs import TEXT_FORMAT, TextFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter(TEXT_FORMAT))
    logger = logging.getLogger("test.forged")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("GET %s 404", "/x\n2026-01-01 00:00:00 INFO forged\r\u2028\u2029\x85\u202e")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert len(text.splitlines()) == 1
    assert "\\n2026-01-01" in text and "\\u2028" in text and "\\u202e" in text


@pytest.mark.parametrize("datefmt", [None, "%Y-%m-%dT%H:%M:%S"])
def test_timestamps_formatted_once_a_second_read_as_loggings_own(datefmt):
    from comprimemelo.logs import TEXT_FORMAT, TextFormatter

    ours, plain = TextFormatter(TEXT_FORMAT, datefmt), logging.Formatter(TEXT_FORMAT, datefmt)
    for created in (1_700_000_000.001, 1_700_000_000.999, 1_700_000_001.5, 1_700_000_000.5, 1_800_000_000.0):
        record = logging.LogRecord("comprimemelo.test", logging.INFO, __file__, 1, "at %s", (created,), None)
        record.created, record.msecs = created, (created - int(created)) * 1000
        assert ours.format(record) == plain.format(record)


def test_the_request_id_made_for_a_request_is_128_random_bits_in_hex():
    from comprimemelo.web.middleware.observability import request_id_for

    made = {request_id_for("") for _ in range(1000)}
    assert len(made) == 1000 and all(re.fullmatch("[0-9a-f]{32}", made_id) for made_id in made)
    assert request_id_for("client-id-123") == "client-id-123"
    assert re.fullmatch("[0-9a-f]{32}", request_id_for("bad id\r\nX-Injected: 1"))


def test_gunicorns_own_line_format_still_formats_after_configure():
    """gunicorn's error log shows the process id: configure() must keep it on every record."""
    import os

    from gunicorn.glogging import Logger as GunicornLogger

    from comprimemelo.settings import Settings

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(Settings(log_format="text"))
        record = logging.getLogger("gunicorn.error").makeRecord("gunicorn.error", logging.INFO, "f", 1, "Booting",
                                                                (), None)
        line = logging.Formatter(GunicornLogger.error_fmt).format(record)
        assert f"[{os.getpid()}] [INFO] Booting" in line
    finally:
        if logs._listener is not None:
            logs._listener.stop()
            logs._listener = None
        root.handlers[:], level = saved
        root.setLevel(level)
