"""JSON responses encoded with orjson (C): DRF's JSONRenderer spends a few per cent of a request's CPU in
the stdlib encoder (issue 18). Same output as DRF's, compact UTF-8: datetimes in ISO 8601 with `Z` for
UTC; anything orjson does not know natively (Decimal, lazy translations, generators…) goes through
DRF's own encoder, so no type renders differently."""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_FALLBACK = JSONEncoder()
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


class OrjsonRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        if data is None:
            return b""
        options = _OPTIONS
        if self.get_indent(accepted_media_type, renderer_context or {}):
            options |= orjson.OPT_INDENT_2
        return orjson.dumps(data, default=_FALLBACK.default, option=options)
