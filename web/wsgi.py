"""WSGI entry for gunicorn: `gunicorn -w 1 --threads 200 web.wsgi:app` (Flask-SocketIO
threading mode with simple-websocket, per its deployment docs)."""

from web import create_app

app = create_app({"SOCKETIO_EMBEDDED_QUEUE": True})
