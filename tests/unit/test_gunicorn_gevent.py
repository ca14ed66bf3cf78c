"""The gevent worker accepts waiting connections while it is busy (see comprimemelo.server.gunicorn_gevent)."""

from gunicorn.util import load_class

from comprimemelo import cli
from comprimemelo.server.gunicorn_gevent import ACCEPT_PER_TURN, GeventWorker, _StreamServer


def test_gunicorns_one_connection_per_turn_is_not_taken():
    server = _StreamServer(("127.0.0.1", 0), handle=lambda *_: None)
    try:
        server.max_accept = 1  # what gunicorn's run() sets when there are several workers
        assert server.max_accept == ACCEPT_PER_TURN > 1
    finally:
        server.close()


def test_the_gevent_setting_runs_our_worker_and_gthread_gunicorns():
    loaded = load_class(cli.gunicorn_worker_class("gevent"), default="gevent", section="gunicorn.workers")
    assert loaded is GeventWorker
    assert cli.gunicorn_worker_class("gthread") == "gthread"
