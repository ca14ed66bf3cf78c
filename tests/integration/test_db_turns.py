"""Each request takes a turn at the database and gives it back, whatever happens;
a request that cannot get one is a 503 the client may retry, never a 500."""

from comprimemelo.db import turns


def gate_of(app) -> turns.FairGate:
    return app.extensions[turns.EXTENSION]


def test_every_request_gives_its_turn_back(app, make_user):
    user = make_user()
    gate = gate_of(app)
    permits = gate.free
    user.upload("a.txt", b"x" * 100, "zip")  # a turn released mid-request, then taken again
    task_id = user.client.get("/api/tasks", headers=user.headers).json[0]["id"]
    user.client.get(f"/api/tasks/{task_id}", headers=user.headers)
    user.client.get("/api/tasks/999999", headers=user.headers)  # 404
    user.client.get("/api/tasks", headers={"Authorization": "Bearer forged"})  # 401
    user.client.delete(f"/api/tasks/{task_id}", headers=user.headers)
    assert (gate.free, gate.waiting) == (permits, 0)


def test_no_turn_at_the_database_is_503_with_retry_after(app, make_user, monkeypatch):
    user = make_user()
    gate = gate_of(app)
    monkeypatch.setattr(turns, "WAIT_SECONDS", 0.05)
    held = gate.free
    for _ in range(held):
        assert gate.acquire(timeout=0)
    try:
        response = user.client.get("/api/tasks", headers=user.headers)
    finally:
        for _ in range(held):
            gate.release()
    assert response.status_code == 503 and response.json["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"]
    assert user.client.get("/api/tasks", headers=user.headers).status_code == 200
