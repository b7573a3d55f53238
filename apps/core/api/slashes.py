"""Every API endpoint answers with and without its trailing slash (SPEC §5).

A POST cannot follow a redirect, so APPEND_SLASH's 301 is no answer for an API: when a path under
/api/ does not resolve but its other form does, the request is routed to that form's view in place.
The URL patterns keep one form each, which is the one the schema lists.
"""

from __future__ import annotations

from typing import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver

API_PREFIX = "/api/"


def other_slash_form(path: str) -> str:
    return path[:-1] if path.endswith("/") else path + "/"


class BothSlashFormsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(API_PREFIX) and path != API_PREFIX:
            resolver = get_resolver(getattr(request, "urlconf", None))
            try:
                resolver.resolve(path)
            except Resolver404:
                other = other_slash_form(path)
                try:
                    resolver.resolve(other)
                except Resolver404:
                    pass
                else:
                    request.path_info = other
                    request.path = request.path[: len(request.path) - len(path)] + other
        return self.get_response(request)
