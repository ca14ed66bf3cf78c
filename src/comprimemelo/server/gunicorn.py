"""Run the Flask app under gunicorn from Python, with no config file.

The app is created in each worker after the fork (no preload), so every
process gets its own database pool, storage client and Cloud SQL connector.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from comprimemelo.settings import Settings


class GunicornApp(BaseApplication):
    def __init__(self, settings: Settings, options: dict) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        from comprimemelo import logs
        from comprimemelo.bootstrap import build_web

        if self._settings.web_worker_class == "gevent" and self._settings.queue_url.startswith("pubsub:"):
            # gRPC (the Pub/Sub publisher) must wait on gevent's loop, not block it.
            # Only then: importing gRPC costs each process about 15 MB.
            from grpc.experimental import gevent as grpc_gevent

            grpc_gevent.init_gevent()
        logs.configure(self._settings)
        return build_web(self._settings)
