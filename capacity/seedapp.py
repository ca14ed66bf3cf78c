"""A stand-in with the seed implementation's shape for ``GET /api/tasks``, the
baseline issue 20 asks throughput against: Flask, a JWT checked per request, an
ORM reading the user and then its tasks on SQLite (two queries), each task turned
into a dict, served by gunicorn with 4 sync workers. Written here, not copied: the
seed itself (Flask-RESTful, flask-jwt-extended, Flask-SQLAlchemy, marshmallow)
measured 790–816 req/s in the issue; this stand-in, with fewer layers, is an
upper bound on it, so a ratio against it understates ours.

``prepare`` makes the database and a token; gunicorn loads ``app`` with the
database and secret from ``CAPACITY_SEED_DB`` and ``CAPACITY_SEED_SECRET``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import jwt
import sqlalchemy as sa
from flask import Flask, jsonify, request
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

TASKS = 20
WORKERS = 4
GUNICORN_OPTIONS = ["--workers", str(WORKERS), "--worker-class", "sync"]


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str]
    email: Mapped[str]
    password: Mapped[str]
    tasks = relationship("Task", lazy="dynamic")


class Task(Base):
    __tablename__ = "task"
    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str]
    new_format: Mapped[str]
    status: Mapped[str]
    time_stamp: Mapped[dt.datetime]
    path_original: Mapped[str]
    path_converted: Mapped[str]
    user: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))


def prepare(database: Path, secret: str) -> str:
    """A database with one user and their ``TASKS`` processed tasks; that user's token."""
    engine = sa.create_engine(f"sqlite:///{database}")
    Base.metadata.create_all(engine)
    now = dt.datetime.now()
    with Session(engine) as session:
        user = User(username="seed", email="seed@example.com", password="not used")
        session.add(user)
        session.flush()
        session.add_all(Task(file_name=f"seed-{i:03d}.txt", new_format="zip", status="PROCESSED", time_stamp=now,
                             path_original="./", path_converted="./", user=user.id) for i in range(TASKS))
        session.commit()
        token = jwt.encode({"sub": str(user.id), "exp": now + dt.timedelta(days=1)}, secret, algorithm="HS256")
    engine.dispose()
    return token


def _dump(task: Task) -> dict:
    return {"id": task.id, "fileName": task.file_name, "newFormat": task.new_format, "status": task.status,
            "timeStamp": task.time_stamp.isoformat(), "pathOriginal": task.path_original,
            "pathConverted": task.path_converted, "user": task.user}


def create_app() -> Flask:
    engine = sa.create_engine(f"sqlite:///{os.environ['CAPACITY_SEED_DB']}")
    secret = os.environ["CAPACITY_SEED_SECRET"]
    app = Flask(__name__)

    @app.get("/api/tasks")
    def list_tasks():
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            identity = int(jwt.decode(token, secret, algorithms=["HS256"])["sub"]) if scheme == "Bearer" else None
        except (jwt.InvalidTokenError, ValueError):
            identity = None
        if identity is None:
            return jsonify(msg="Missing or invalid token"), 401
        with Session(engine) as session:
            user = session.get(User, identity)
            if user is None:
                return jsonify(msg="not found"), 404
            return jsonify([_dump(task) for task in user.tasks.order_by(Task.id)])

    return app


app = create_app() if "CAPACITY_SEED_DB" in os.environ else None
