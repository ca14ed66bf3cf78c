"""The Flask application: the REST API, the web UI and the system endpoints.

``create_app`` only wires Flask around what the composition root built
(``bootstrap.build_web``): extensions, middleware, blueprints.
"""

from __future__ import annotations

import dataclasses

from flask import Flask
from flask.sessions import SessionInterface
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from comprimemelo import metrics
from comprimemelo.bootstrap import Backends
from comprimemelo.db import turns
from comprimemelo.services.passwords import Passwords
from comprimemelo.services.tokens import Tokens
from comprimemelo.web import context, tasklists
from comprimemelo.web.api import account, auth, notifications, system, tasks, uploads
from comprimemelo.web.middleware import bodies, errors, multipart, observability, ratelimit
from comprimemelo.web.middleware.fastlist import ListFastPath
from comprimemelo.web.middleware.jsonprovider import OrjsonProvider, SafeJsonProvider
from comprimemelo.web.ui import pages

# CORS: bearer tokens only; cookies (and so the forms' CSRF scheme) never cross origins.
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"]
CORS_EXPOSED = ["Retry-After", "X-Request-Id", "Location"]
CORS_MAX_AGE_SECONDS = 600


@dataclasses.dataclass(frozen=True)
class WebTuning:
    """Which of the web's tunings apply (``comprimemelo.tuning``); all off: the plain path."""

    list_fast_path: bool = False
    orjson_responses: bool = False
    large_multipart_reads: bool = False


class NoSessions(SessionInterface):
    """Every request gets Flask's null session (writing to it raises): our own
    cookie carries the JWT, and opening Flask's cost a tenth of a task list."""

    def open_session(self, app, request):
        return None

    def save_session(self, app, session, response) -> None:
        return None


def create_app(backends: Backends, *, passwords: Passwords, tokens: Tokens, tune: WebTuning = WebTuning()) -> Flask:
    settings = backends.settings
    app = Flask(__name__, template_folder="ui/templates", static_folder="ui/static")
    app.json = (OrjsonProvider if tune.orjson_responses else SafeJsonProvider)(app)
    app.session_interface = NoSessions()
    app.request_class = multipart.LargeReadRequest if tune.large_multipart_reads else multipart.UploadRequest
    app.config.update(SECRET_KEY=settings.secret_key)
    app.extensions[context.BACKENDS] = backends
    app.extensions[context.PASSWORDS] = passwords
    app.extensions[context.TOKENS] = tokens
    app.extensions[metrics.EXTENSION] = metrics.registry(metrics.state_collector(backends.sessions, backends.queue))
    app.extensions[tasklists.EXTENSION] = tasklists.TaskLists()
    app.extensions[turns.EXTENSION] = turns.FairGate(settings.effective_db_pool_size)

    bodies.init_app(app, settings)  # first: later hooks may read the body
    errors.init_app(app)
    observability.init_app(app)
    ratelimit.init_app(app, settings)
    if settings.cors_origin_list:
        CORS(app, resources={r"/api/*": {"origins": settings.cors_origin_list}}, supports_credentials=False,
             allow_headers=CORS_HEADERS, expose_headers=CORS_EXPOSED, max_age=CORS_MAX_AGE_SECONDS)
    elif tune.list_fast_path:  # with CORS, the headers are flask-cors's to add
        app.wsgi_app = ListFastPath(app, app.wsgi_app)
    if settings.proxy_hops:
        # The client address is the one the first trusted proxy saw.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=1)
    for blueprint in (system.bp, auth.bp, tasks.bp, uploads.bp, notifications.bp, account.bp, pages.bp):
        app.register_blueprint(blueprint)
    app.teardown_appcontext(lambda _error=None: context.close_request_connections())
    return app
