"""WSGI entry for gunicorn: `gunicorn -w 1 --threads 200 web.wsgi:app` (Flask-SocketIO
threading mode with simple-websocket, per its deployment docs)."""

from core import health
from core.settings import load_settings
from web import create_app

# Stop at once, naming what is unreachable, rather than answer 500s (supervisor or systemd
# starts the process again).
health.require(load_settings(), "web")
app = create_app({"SOCKETIO_EMBEDDED_QUEUE": True})
