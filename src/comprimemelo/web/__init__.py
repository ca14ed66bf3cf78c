"""The Flask application: REST API, system endpoints and (later) the web UI."""

from __future__ import annotations

from flask import Flask, g

from comprimemelo.bootstrap import Services, build_services
from comprimemelo.settings import Settings


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
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        JSON_SORT_KEYS=False,
    )
    app.extensions["comprimemelo"] = services

    from comprimemelo.web import api_auth, api_tasks, errors, observability, system

    errors.init_app(app)
    observability.init_app(app)
    app.register_blueprint(system.bp)
    app.register_blueprint(api_auth.bp)
    app.register_blueprint(api_tasks.bp)

    from comprimemelo.web import ui

    app.register_blueprint(ui.bp)

    @app.teardown_appcontext
    def _close_session(_error=None):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    return app
