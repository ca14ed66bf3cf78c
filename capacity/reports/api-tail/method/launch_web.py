"""comprimemelo web with a chosen gunicorn worker class (measurement only)."""
import sys
import comprimemelo.bootstrap as bootstrap
choice = sys.argv.pop(1)
if choice == "fair":
    bootstrap.gunicorn_worker_class = lambda settings: "comprimemelo.server.gunicorn_gevent.FairGeventWorker"
from comprimemelo.cli import main
sys.argv = ["comprimemelo", "web", "--no-migrate"]
sys.exit(main())
