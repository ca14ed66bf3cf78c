"""The baseline of ``bench-api``: a bare Flask app whose ``GET /api/tasks`` returns a
JSON list shaped like the service's (20 tasks), with no database, no
authentication and no middleware. Served by gunicorn with the service's settings.
"""

from __future__ import annotations

from flask import Flask, jsonify

TASKS_PER_USER = 20


def _task(task_id: int) -> dict:
    return {
        "id": task_id, "filename": f"seed-{task_id:03d}.txt", "new_format": "tar.zst", "level": None,
        "status": "processed", "size_original": 4096, "size_compressed": 231,
        "created_at": "2026-01-01T00:00:00.000000Z", "processed_at": "2026-01-01T00:00:01.000000Z",
        "attempts": 1, "error": None, "files": [{"filename": f"seed-{task_id:03d}.txt", "size": 4096}],
        "original_url": f"/api/tasks/{task_id}/original", "compressed_url": f"/api/tasks/{task_id}/compressed",
    }


def create_app() -> Flask:
    app = Flask(__name__)
    tasks = [_task(task_id) for task_id in range(1, TASKS_PER_USER + 1)]

    @app.get("/api/tasks")
    def list_tasks():
        return jsonify(tasks)

    @app.post("/upload")
    def upload():
        from flask import request

        total = 0
        while chunk := request.stream.read(1024 * 1024):
            total += len(chunk)
        return jsonify({"bytes": total}), 201

    return app


app = create_app()
