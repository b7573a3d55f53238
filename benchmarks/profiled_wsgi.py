"""The WSGI application with the stages of a search request timed (for `benchmarks.profile_search`).

Serve it as the web server serves `lakehouse.wsgi:application`. Each request's stages are summed per
request (a stage called twice, like a widened walk's second kNN, counts both calls), and
`GET /__stages__` answers the requests recorded since the last such call, as JSON, and forgets them.
Only a benchmark serves this module: the wrappers cost a few microseconds per stage.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from typing import Any, Callable

from lakehouse.wsgi import application as django_application  # first: it sets Django up

from apps.interactions import services as interaction_services
from apps.search import services as search_services
from apps.search.api import views as search_views
from apps.workers import selectors as worker_selectors

_local = threading.local()
_lock = threading.Lock()
_recorded: list[dict[str, float]] = []


def _timed(stage: str, function: Callable) -> Callable:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            stages = getattr(_local, "stages", None)
            if stages is not None:
                stages[stage] = stages.get(stage, 0.0) + (time.perf_counter() - started) * 1000

    return timed


# Each name is patched where its caller looks it up, so the call inside the request goes through the timer.
for module, name, stage in (
    (search_services, "search_and_log", "search_and_log"),  # the view calls it through the module
    (search_services, "search_workers", "search_workers"),
    (search_services, "_read_redis", "redis read (MGET)"),
    (search_services, "embed_query", "query embedding"),
    (search_services, "nearest_workers", "nearest_workers"),
    (worker_selectors, "_knn", "kNN query"),
    (search_services, "log_interaction", "interaction log"),
    (interaction_services, "_enqueue", "redis write (log + caches)"),
):
    setattr(module, name, _timed(stage, getattr(module, name)))
search_views.WorkerSearchView.post = _timed("view", search_views.WorkerSearchView.post)


def application(environ: dict[str, Any], start_response: Callable) -> Any:
    if environ.get("PATH_INFO") == "/__stages__":
        with _lock:
            body = json.dumps(_recorded).encode()
            _recorded.clear()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    _local.stages = {}
    started = time.perf_counter()
    try:
        return django_application(environ, start_response)
    finally:
        stages, _local.stages = _local.stages, None
        stages["wsgi application"] = (time.perf_counter() - started) * 1000
        if environ.get("PATH_INFO", "").rstrip("/").endswith("/workers/search"):
            with _lock:
                _recorded.append(stages)
