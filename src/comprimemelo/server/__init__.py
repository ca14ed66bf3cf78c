"""The web role's server: gunicorn run from Python, its gevent worker class,
and what keeps blocking calls off that worker's event loop."""
