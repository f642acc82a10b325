"""Celery tasks: thin wrappers that take ids, re-load, and call one domain function."""
