"""What the web app, the Celery tasks and the media node share (settings)."""
