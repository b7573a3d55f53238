"""Request body parsing with bounds (SPEC §5): a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, JSON
nested deeper than MAX_JSON_DEPTH (or otherwise unparsable) is a 400 — never a 500.

DRF's JSONParser lets RecursionError escape (a 10,000-deep body was a 500) and reads any length.
"""

from __future__ import annotations

import codecs

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from apps.core.bounded_json import loads_bounded


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # Imported here: errors imports rest_framework.views, whose APIView loads this parser from settings.
        from apps.core.api.errors import PayloadTooLarge

        parser_context = parser_context or {}
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = parser_context.get("request")
        declared = _content_length(request)
        if limit is not None and declared is not None and declared > limit:
            raise PayloadTooLarge(f"The request body is {declared} bytes; the limit is {limit} bytes.")
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(body, encoding)
            return loads_bounded(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def _content_length(request) -> int | None:
    if request is None:
        return None
    meta = request.META
    try:
        return int(meta.get("CONTENT_LENGTH") or meta.get("HTTP_CONTENT_LENGTH") or 0) or None
    except (TypeError, ValueError):
        return None
