"""The client's retries and redirects against a real local HTTP server that
answers from a script: what is retried, after how long, and where the token goes."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from comprimemelo.client import ApiError, Client, NetworkError, RetryPolicy
from tests.processes import free_port


class ScriptedServer:
    """Answers each request with the next ``(status, headers, body)`` of ``script``
    (the last one repeats) and keeps what it received."""

    def __init__(self, script: list[tuple[int, dict, object]]) -> None:
        self.script = script
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                server.requests.append({"method": self.command, "path": self.path,
                                        "headers": dict(self.headers), "body": self.rfile.read(length)})
                status, headers, body = server.script[min(len(server.requests), len(server.script)) - 1]
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Length": str(len(data)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer  # noqa: N815 - http.server's naming

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def scripted():
    made: list[ScriptedServer] = []

    def make(script):
        made.append(ScriptedServer(script))
        return made[-1]

    yield make
    for server in made:
        server.close()


def error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


TASK = {"id": 7, "filename": "a.txt", "new_format": "zip", "status": "processed", "files": []}


def client_of(url: str, waits: list[float], token: str = "the-token") -> Client:
    return Client(url, token, retry=RetryPolicy(attempts=4, base_seconds=0.01), sleep=waits.append)


def test_busy_answers_are_retried_after_their_retry_after(scripted):
    server = scripted([(503, {"Retry-After": "2"}, error("unavailable", "down")),
                       (429, {"Retry-After": "1"}, error("too_many_requests", "slow down")), (200, {}, TASK)])
    waits: list[float] = []
    assert client_of(server.url, waits).task(7).id == 7
    assert waits == [2.0, 1.0] and len(server.requests) == 3


def test_a_long_retry_after_is_reported_at_once(scripted):
    server = scripted([(429, {"Retry-After": "3600"}, {**error("quota_exceeded", "an hour"), "quota": "x"})])
    waits: list[float] = []
    with pytest.raises(ApiError) as raised:
        client_of(server.url, waits).task(7)
    assert raised.value.code == "quota_exceeded" and raised.value.retry_after == 3600
    assert waits == [] and len(server.requests) == 1


def test_a_refusal_is_not_retried_and_keeps_the_servers_message(scripted):
    server = scripted([(404, {}, error("not_found", "task 7 not found"))])
    with pytest.raises(ApiError, match=r"task 7 not found \(HTTP 404 not_found\)"):
        client_of(server.url, []).task(7)
    assert len(server.requests) == 1


def test_a_gateway_error_is_retried_only_for_a_request_safe_to_repeat(scripted):
    server = scripted([(502, {}, b"bad gateway"), (200, {}, TASK)])
    waits: list[float] = []
    assert client_of(server.url, waits).task(7).status == "processed"
    assert len(waits) == 1
    posting = scripted([(502, {}, b"bad gateway")])
    with pytest.raises(ApiError):
        client_of(posting.url, []).http.request("POST", "/api/auth/logout", idempotent=False, expect=(204,))
    assert len(posting.requests) == 1


def test_a_creating_request_repeats_its_idempotency_key(scripted, tmp_path):
    server = scripted([(503, {"Retry-After": "0"}, error("unavailable", "down")), (201, {}, TASK)])
    source = tmp_path / "a.txt"
    source.write_bytes(b"hello " * 100)
    client_of(server.url, []).submit([source], "zip")
    first, second = server.requests
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert first["body"] == second["body"] and b"hello hello" in second["body"]


def test_an_unreachable_server_is_a_network_error_after_the_retries():
    waits: list[float] = []
    with pytest.raises(NetworkError, match="Connection refused"):
        client_of(f"http://127.0.0.1:{free_port()}", waits).task(7)
    assert len(waits) == 3  # four tries


def test_a_download_follows_the_redirect_without_the_token(scripted, tmp_path):
    storage = scripted([(200, {"Content-Disposition": "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.zip"},
                         b"archive bytes")])
    api = scripted([(302, {"Location": f"{storage.url}/signed?X-Goog-Signature=abc"}, b"")])
    saved = client_of(api.url, []).download(7, tmp_path)
    assert saved == tmp_path / "résumé.zip" and saved.read_bytes() == b"archive bytes"
    assert api.requests[0]["headers"]["Authorization"] == "Bearer the-token"
    assert "Authorization" not in storage.requests[0]["headers"]


def test_a_served_file_name_cannot_leave_the_folder(scripted, tmp_path):
    server = scripted([(200, {"Content-Disposition": 'attachment; filename="../../etc/evil"'}, b"x")])
    assert client_of(server.url, []).download(7, tmp_path) == tmp_path / "evil"
