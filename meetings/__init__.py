"""giaoban domain: models and actions. Never imports Flask, aiortc or Celery."""
