"""Every API endpoint answers with and without its trailing slash (SPEC §5).

A POST cannot follow a redirect, so APPEND_SLASH's 301 is no answer for an API: when a path under
/api/ does not resolve but its other form does, the request is routed to that form's view in place.
The URL patterns keep one form each, which is the one the schema lists.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver

API_PREFIX = "/api/"


def other_slash_form(path: str) -> str:
    return path[:-1] if path.endswith("/") else path + "/"


def _match(resolver, path: str):
    try:
        return resolver.resolve(path)
    except Resolver404:
        return None


# Remembered per (resolver, path): the URL patterns do not change while a process runs, and resolving
# every API path twice (here and in the handler) showed in the profile (issue 18).
@lru_cache(maxsize=4096)
def api_path_for(resolver, path: str) -> str:
    """The form of `path` to route: itself, unless only the other form resolves, or the other form
    names a literal route where this one fills a parameter ("workers/search/" is the search, not the
    worker "search")."""
    match = _match(resolver, path)
    if match is not None and not match.kwargs:
        return path
    other = other_slash_form(path)
    other_match = _match(resolver, other)
    if other_match is not None and (match is None or len(other_match.kwargs) < len(match.kwargs)):
        return other
    return path


class BothSlashFormsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(API_PREFIX) and path != API_PREFIX:
            routed = api_path_for(get_resolver(getattr(request, "urlconf", None)), path)
            if routed != path:
                request.path = request.path[: len(request.path) - len(path)] + routed
                request.path_info = routed
        return self.get_response(request)
