"""Middleware that API requests do not need, skipped for them."""

from __future__ import annotations

from django.contrib.messages.middleware import MessageMiddleware

from apps.core.api.slashes import API_PREFIX


class NonApiMessageMiddleware(MessageMiddleware):
    """Django's messages for the admin and console pages only: no API view uses them, and building the
    cookie storage on every API request cost about 5 % of the API's CPU (issue 18). A subclass, so the
    admin's check for MessageMiddleware still passes; process_response already skips a request that
    has no storage."""

    def process_request(self, request) -> None:
        if not request.path_info.startswith(API_PREFIX):
            super().process_request(request)
