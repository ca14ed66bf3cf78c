"""The seed implementation itself against capacity.seedapp (the stand-in bench-api runs),
interleaved, wrk at 1000 connections: how far the stand-in is from the real seed.

Not part of `python -m capacity` (the seed's code stays out of this repository): run it
from a checkout of aguerrero10/Desarrollo-cloud-grupal (commit b8c9af3, `backend/`) with
a venv holding the seed's pinned web dependencies (Flask 2.2.2, Flask-RESTful 0.3.9,
Flask-JWT-Extended 4.4.4, Flask-SQLAlchemy 3.0.3, SQLAlchemy 2.0.1, marshmallow 3.19.0,
marshmallow-sqlalchemy 0.28.1, Flask-Cors, Flask-Mail, APScheduler, celery 5.2.7, py7zr,
psycopg2-binary, gunicorn):

    python capacity/reports/api-tail/method/real_seed.py SEED_BACKEND_DIR SEED_VENV OUT.json [ROUNDS]
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from capacity import wrk
from capacity.baseline import seed_server
from capacity.server import _free_port

backend, venv, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 2
CONNECTIONS, SECONDS = 1000, int(os.environ.get("REAL_SEED_SECONDS", "20"))


def start_real_seed() -> tuple[subprocess.Popen, str, str]:
    database = backend / "instance" / "tareas.db"
    database.unlink(missing_ok=True)
    # Each of the seed's workers creates the tables at import; four at once can race
    # ("table user already exists") and the master stops. Created once first, they are left as they are.
    subprocess.run([str(venv / "bin" / "python"), "-c", "import flaskr.app"], cwd=backend, check=True,
                   capture_output=True)
    port = _free_port()
    process = subprocess.Popen(
        [str(venv / "bin" / "gunicorn"), "--workers", "4", "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
         "flaskr.app:app"], cwd=backend, stdout=open(out.with_suffix(".seed.log"), "ab"), stderr=subprocess.STDOUT,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.get(url + "/api/tasks", timeout=2)
            break
        except requests.RequestException:
            time.sleep(0.2)
    body = {"username": "seed", "email": "seed@example.com", "password1": "pw", "password2": "pw"}
    requests.post(url + "/api/auth/signup", json=body, timeout=10).raise_for_status()
    token = requests.post(url + "/api/auth/login", json={"username": "seed", "password": "pw"},
                          timeout=10).json()["token_de_acceso"]
    with sqlite3.connect(database) as connection:
        connection.executemany(
            "insert into task (fileName, newFormat, status, timeStamp, pathOriginal, pathConverted, user) "
            "values (?, 'ZIP', 'PROCESSED', datetime('now'), './', './', 1)",
            [(f"seed-{i:03d}.txt",) for i in range(20)])
    listed = requests.get(url + "/api/tasks", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert listed.status_code == 200 and len(listed.json()) == 20, listed.text[:300]
    return process, url, token


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(30)


results = {"real_seed": [], "stand_in": [], "loadavg": [os.getloadavg()[0]]}
for index in range(rounds):
    for side in (("real_seed", "stand_in") if index % 2 == 0 else ("stand_in", "real_seed")):
        if side == "real_seed":
            process, url, token = start_real_seed()
            try:
                results[side].append(wrk.measure(url + "/api/tasks", token, CONNECTIONS, SECONDS))
            finally:
                stop(process)
        else:
            with seed_server() as (url, _process, token):
                results[side].append(wrk.measure(url + "/api/tasks", token, CONNECTIONS, SECONDS))
        print(side, {k: v for k, v in results[side][-1].items() if k != "per_connection"}, flush=True)
        time.sleep(3)
results["loadavg"].append(os.getloadavg()[0])
out.write_text(json.dumps(results, indent=2) + "\n")
