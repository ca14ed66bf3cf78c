"""Seed-style: Flask + sqlite3 per request, gunicorn sync workers."""
import json, sqlite3, os
from flask import Flask, request, Response
DB = os.environ["SEED_DB"]
app = Flask(__name__)
@app.get("/api/tasks")
def tasks():
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return {"error": "unauthorized"}, 401
    con = sqlite3.connect(DB)
    try:
        rows = con.execute("select id, filename, status, size_original from tasks where user_id = 1").fetchall()
    finally:
        con.close()
    return Response(json.dumps([dict(id=r[0], filename=r[1], status=r[2], size_original=r[3]) for r in rows]),
                    mimetype="application/json")
