"""WSGI entry for gunicorn: `gunicorn -w 1 --threads 200 web.wsgi:app` (Flask-SocketIO
threading mode with simple-websocket, per its deployment docs)."""

from core import health
from core.process import die_with_parent
from core.settings import load_settings
from web import create_app

# Imported in gunicorn's worker (no --preload): the worker dies with its master.
die_with_parent()

# Stop at once, naming what is unreachable, rather than answer 500s (supervisor or systemd
# starts the process again).
health.require(load_settings(), "web")
app = create_app({"SOCKETIO_EMBEDDED_QUEUE": True})
