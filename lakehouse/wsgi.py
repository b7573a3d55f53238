"""WSGI entry point (granian, or gunicorn: `lakehouse.wsgi:application`)."""
import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")
application = get_wsgi_application()

# Load every view now and take what is loaded out of the cyclic collector's reach: a full collection
# otherwise walks the whole framework and app each time, a pause of several ms in whichever request
# triggers it. Objects created by requests are collected as before.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns
gc.collect()
gc.freeze()
