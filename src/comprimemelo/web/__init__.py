"""The Flask application: REST API, system endpoints and (later) the web UI."""

from __future__ import annotations

from flask import Flask
from flask.sessions import SessionInterface

from comprimemelo.bootstrap import Services, build_services
from comprimemelo.settings import Settings
from comprimemelo.web.context import close_request_connections


class NoSessions(SessionInterface):
    """Every request gets Flask's null session (writing to it raises)."""

    def open_session(self, app, request):
        return None

    def save_session(self, app, session, response) -> None:
        return None


def create_app(
    settings: Settings | None = None, *, services: Services | None = None, **adapters
) -> Flask:
    """Build the app from ``settings`` (or ready-made ``services``, for tests).

    ``adapters`` (``storage=``, ``queue=``, ``engine=``) replace the ones the
    settings would select.
    """
    if services is None:
        if settings is None:
            from comprimemelo.settings import load_settings

            settings = load_settings()
        services = build_services(settings, **adapters)
    settings = services.settings
    from comprimemelo.web.middleware.jsonprovider import OrjsonProvider

    app = Flask(__name__, template_folder="ui/templates", static_folder="ui/static")
    app.json = OrjsonProvider(app)
    # Our own cookie carries the JWT; Flask's signed session is never used,
    # and opening one cost a tenth of a task list.
    app.session_interface = NoSessions()
    from comprimemelo.web.middleware.multipart import UploadRequest

    app.request_class = UploadRequest
    app.config.update(SECRET_KEY=settings.secret_key)
    app.extensions["comprimemelo"] = services
    from comprimemelo import metrics

    app.extensions["comprimemelo.metrics"] = metrics.registry(metrics.state_collector(services.sessions, services.queue))
    from comprimemelo.web import tasklists

    app.extensions[tasklists.EXTENSION] = tasklists.TaskLists()
    from comprimemelo.db import turns

    app.extensions[turns.EXTENSION] = turns.FairGate(settings.effective_db_pool_size)

    from comprimemelo.web.api import auth, system, tasks, uploads
    from comprimemelo.web.middleware import bodies, errors, observability, ratelimit

    bodies.init_app(app, settings)
    errors.init_app(app)
    observability.init_app(app)
    ratelimit.init_app(app, settings)
    if settings.cors_origin_list:
        from flask_cors import CORS

        # Bearer tokens only: cookies (and so the forms' CSRF scheme) never cross origins.
        CORS(
            app,
            resources={r"/api/*": {"origins": settings.cors_origin_list}},
            supports_credentials=False,
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
            expose_headers=["Retry-After", "X-Request-Id", "Location"],
            max_age=600,
        )
    if not settings.cors_origin_list:  # CORS headers are flask-cors's to add
        from comprimemelo.web.middleware.fastlist import ListFastPath

        app.wsgi_app = ListFastPath(app, app.wsgi_app)
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client address is the one the first trusted proxy saw.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=1)
    app.register_blueprint(system.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(uploads.bp)
    from comprimemelo.web.api import account, notifications

    app.register_blueprint(notifications.bp)
    app.register_blueprint(account.bp)

    from comprimemelo.web.ui import pages

    app.register_blueprint(pages.bp)

    @app.teardown_appcontext
    def _close_connections(_error=None):
        close_request_connections()

    return app
