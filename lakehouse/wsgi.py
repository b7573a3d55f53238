"""WSGI entry point (granian, or gunicorn: `lakehouse.wsgi:application`)."""
import gc
import os
from functools import lru_cache

# Before numpy loads: a web process already runs its requests on threads, and BLAS's own threads for a
# search's one matrix-vector product (apps.workers.walk_floor) only contended with them (114 µs of CPU
# per product with them, 83 µs without).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import django
from django.core.handlers.wsgi import WSGIHandler
from django.urls import ResolverMatch, get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")


@lru_cache(maxsize=4096)
def _api_match(path: str) -> ResolverMatch:
    return get_resolver().resolve(path)  # a 404 raises and is not remembered


class LakehouseWSGIHandler(WSGIHandler):
    """Django's handler, with API paths resolved once per process: the URL patterns never change while
    it runs, and walking the nested API includes was ~3 % of an API request's CPU (issue 18). The match
    is only read by the handler (the view gets a copy of its kwargs). Other paths resolve as usual."""

    def resolve_request(self, request):
        if not hasattr(request, "urlconf") and request.path_info.startswith("/api/"):
            request.resolver_match = _api_match(request.path_info)
            return request.resolver_match
        return super().resolve_request(request)


django.setup(set_prefix=False)  # what get_wsgi_application does before building its handler
application = LakehouseWSGIHandler()

# Load every view now and take what is loaded out of the cyclic collector's reach: a full collection
# otherwise walks the whole framework and app each time, a pause of several ms in whichever request
# triggers it. Objects created by requests are collected as before.
get_resolver().url_patterns
gc.collect()
gc.freeze()
