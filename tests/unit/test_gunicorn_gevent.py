"""The gevent worker accepts waiting connections while it is busy (see comprimemelo.server.gunicorn_gevent)."""

from gunicorn.util import load_class

from comprimemelo.bootstrap import gunicorn_worker_class
from comprimemelo.settings import Settings
from comprimemelo.server.gunicorn_gevent import ACCEPT_PER_TURN, FairGeventWorker, _StreamServer


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
