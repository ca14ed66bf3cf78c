"""The gevent worker accepts waiting connections while it is busy (see comprimemelo.server.gunicorn_gevent)."""

import re

import pytest
from gunicorn.util import load_class

from comprimemelo.bootstrap import gunicorn_worker_class
from comprimemelo.server.gunicorn_gevent import (
    ACCEPT_PER_TURN,
    JOIN_BODY_BYTES,
    FairGeventWorker,
    OneSendResponse,
    _StreamServer,
)
from comprimemelo.settings import Settings


def test_gunicorns_one_connection_per_turn_is_not_taken():
    server = _StreamServer(("127.0.0.1", 0), handle=lambda *_: None)
    try:
        server.max_accept = 1  # what gunicorn's run() sets when there are several workers
        assert server.max_accept == ACCEPT_PER_TURN > 1
    finally:
        server.close()


def test_the_gevent_setting_runs_our_worker_and_gthread_gunicorns():
    ours = gunicorn_worker_class(Settings(web_worker_class="gevent"))
    assert load_class(ours, default="gevent", section="gunicorn.workers") is FairGeventWorker
    assert gunicorn_worker_class(Settings(web_worker_class="gthread")) == "gthread"


def test_with_the_tuning_off_gevent_is_gunicorns_own_worker():
    assert gunicorn_worker_class(Settings(web_worker_class="gevent", tuning="off")) == "gevent"


class Sends:
    """A socket that records each ``sendall``."""

    def __init__(self) -> None:
        self.sends: list[bytes] = []

    def sendall(self, data) -> None:
        self.sends.append(bytes(data))


def answer(response_class, request: bytes, headers: list, body: list[bytes]) -> list[bytes]:
    import socket

    from gunicorn.config import Config
    from gunicorn.http.parser import RequestParser

    cfg = Config()
    client, server = socket.socketpair()
    with client, server:
        client.sendall(request)
        req = next(RequestParser(cfg, server, ("127.0.0.1", 1)))
        sock = Sends()
        response = response_class(req, sock, cfg)
        response.start_response("200 OK", headers)
        for piece in body:
            response.write(piece)
        response.close()
    return sock.sends


GET = b"GET /api/tasks HTTP/1.1\r\nHost: h\r\n\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "headers", "body"),
    [
        (GET, [("Content-Type", "application/json"), ("Content-Length", "7")], [b'{"a":1}']),
        (GET, [("Content-Length", "0")], []),
        (b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", [("Content-Length", "7")], [b'{"a":1}']),
        (GET, [("Content-Type", "text/plain")], [b"chunk one", b"chunk two"]),  # chunked
        (GET, [("Content-Length", str(2 * JOIN_BODY_BYTES))], [b"x" * (2 * JOIN_BODY_BYTES)]),
    ],
    ids=["small body", "no body", "HEAD", "chunked", "large body"],
)
def test_a_response_sends_the_same_bytes_as_gunicorns(request_bytes, headers, body):
    from gunicorn.http.wsgi import Response

    ours, gunicorns = (answer(cls, request_bytes, headers, body) for cls in (OneSendResponse, Response))
    # The Date header may tick between the two answers.
    strip_date = lambda data: re.sub(rb"Date: [^\r]*\r\n", b"", data)  # noqa: E731
    assert strip_date(b"".join(ours)) == strip_date(b"".join(gunicorns))
    assert len(ours) <= len(gunicorns)


def test_a_small_answer_leaves_in_one_send_where_gunicorn_uses_two():
    from gunicorn.http.wsgi import Response

    headers, body = [("Content-Type", "application/json"), ("Content-Length", "7")], [b'{"a":1}']
    ours, gunicorns = (answer(cls, GET, headers, body) for cls in (OneSendResponse, Response))
    assert len(ours) == 1 and ours[0].endswith(b'\r\n\r\n{"a":1}')
    assert len(gunicorns) == 2


def test_a_large_body_is_not_copied_to_join_the_headers():
    sends = answer(OneSendResponse, GET, [("Content-Length", str(2 * JOIN_BODY_BYTES))],
                   [b"x" * (2 * JOIN_BODY_BYTES)])
    assert len(sends) == 2 and sends[0].endswith(b"\r\n\r\n") and sends[1] == b"x" * (2 * JOIN_BODY_BYTES)


def test_the_date_header_is_gunicorns_formatted_once_a_second(monkeypatch):
    from gunicorn import util

    from comprimemelo.server import gunicorn_gevent

    calls = []
    http_date = gunicorn_gevent._HttpDate(lambda timestamp: calls.append(timestamp) or util.http_date(timestamp))
    now = [1_700_000_000.25]
    monkeypatch.setattr(gunicorn_gevent.time, "time", lambda: now[0])
    assert http_date() == util.http_date(1_700_000_000.25) == "Tue, 14 Nov 2023 22:13:20 GMT"
    now[0] = 1_700_000_000.99
    assert http_date() == "Tue, 14 Nov 2023 22:13:20 GMT" and len(calls) == 1  # the same second: not formatted again
    now[0] = 1_700_000_001.0
    assert http_date() == "Tue, 14 Nov 2023 22:13:21 GMT" and len(calls) == 2
    assert http_date(86_400) == util.http_date(86_400) == "Fri, 02 Jan 1970 00:00:00 GMT"  # a given time: as asked
