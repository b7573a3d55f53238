"""Lakehouse project package: settings, URLs, the Celery app and the embedded-services launcher."""

from lakehouse.celery import app as celery_app

__all__ = ["celery_app"]
