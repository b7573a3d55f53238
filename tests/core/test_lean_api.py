"""The lean API path (issue 18): orjson renders what DRF's encoder rendered, request serializers reuse
their fields without changing a 400, content negotiation answers as DRF's does, and API requests skip
the messages middleware."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.core.api.negotiation import FirstRendererContentNegotiation
from apps.core.api.renderers import OrjsonRenderer
from apps.search.api.serializers import SearchRequestSerializer


def test_orjson_renders_byte_for_byte_what_drf_rendered():
    data = {
        "at": dt.datetime(2026, 11, 30, 8, 1, 2, 345678, tzinfo=dt.timezone.utc),
        "naive": dt.datetime(2026, 11, 30, 8, 1, 2),
        "day": dt.date(2026, 12, 1),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "amount": Decimal("1.25"),
        "label": gettext_lazy("café"),
        "nested": [{"score": 0.83, "ok": True, "none": None}],
    }

    assert OrjsonRenderer().render(data) == JSONRenderer().render(data)
    assert OrjsonRenderer().render(None) == b""


def test_a_reused_request_serializer_gives_the_same_400s_and_values_in_any_order_and_thread():
    bad = {"query": "  ", "k": 0, "filters": {"colour": "red"}, "near": {"zip": "00000", "radius_miles": 1000}}
    good = {"query": " forklift ", "k": 3, "filters": {"city": "Columbus"}}

    def errors() -> dict:
        serializer = SearchRequestSerializer(data=bad)
        assert not serializer.is_valid()
        return serializer.errors

    def validated() -> dict:
        serializer = SearchRequestSerializer(data=good)
        assert serializer.is_valid(), serializer.errors
        return dict(serializer.validated_data)

    first_errors, first_values = errors(), validated()
    assert set(first_errors) == {"query", "k", "filters", "near"}
    assert first_values["query"] == "forklift" and first_values["k"] == 3 and first_values["exclude_ids"] == []
    seen: list[tuple[dict, dict]] = []
    threads = [threading.Thread(target=lambda: seen.append((errors(), validated()))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors() == first_errors and validated() == first_values
    assert seen == [(first_errors, first_values)] * 4
    # Each serializer still owns its bound fields: the root of a nested field is the serializer asked.
    serializer = SearchRequestSerializer(data=good)
    assert serializer.fields["filters"].root is serializer


@pytest.mark.django_db
def test_api_requests_skip_the_messages_middleware_and_admin_pages_keep_it(staff_client, admin_client):
    api = staff_client.get("/api/v1/jobs/")
    assert api.status_code == 200 and api["Content-Type"] == "application/json"
    assert not hasattr(api.wsgi_request, "_messages")

    page = admin_client.get("/admin/")
    assert page.status_code == 200 and hasattr(page.wsgi_request, "_messages")


def _wsgi_get(path: str, token: str) -> tuple[str, dict]:
    import io
    import json
    import sys

    from lakehouse.wsgi import application

    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "testserver", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
        "HTTP_AUTHORIZATION": f"Token {token}", "HTTP_HOST": "testserver", "REMOTE_ADDR": "127.0.0.1",
    }
    status: list[str] = []
    body = b"".join(application(environ, lambda s, headers, exc_info=None: status.append(s)))
    return status[0], json.loads(body)


@pytest.mark.django_db(transaction=True)  # the real handler opens and closes connections like a server
def test_the_wsgi_handler_resolves_each_api_path_once_and_still_routes_every_path():
    from apps.core.services import issue_api_token
    from apps.workers.models import Worker
    from lakehouse.wsgi import _api_match

    _, token = issue_api_token(username="operator", staff=True)
    for worker_id in ("W-1", "W-2"):
        Worker.objects.create(worker_id=worker_id, first_name=worker_id, city="Columbus", state="OH", role="welder")
    _api_match.cache_clear()

    assert _wsgi_get("/api/v1/workers/W-1/", token)[1]["worker_id"] == "W-1"
    assert _wsgi_get("/api/v1/workers/W-2/", token)[1]["worker_id"] == "W-2"  # its own match, not W-1's
    assert _wsgi_get("/api/v1/workers/W-1", token)[1]["worker_id"] == "W-1"  # the other slash form
    status, again = _wsgi_get("/api/v1/workers/W-1/", token)
    assert status.startswith("200") and again["worker_id"] == "W-1"
    assert _api_match.cache_info().hits >= 2
    status, missing = _wsgi_get("/api/v1/no-such-thing/", token)
    assert status.startswith("404") and missing["error"]["code"] == "not_found"
    assert _wsgi_get("/healthz", token)[0][:3] in ("200", "503")  # outside /api/: Django's own resolving


def _negotiated(negotiation, accept: str | None, query: str) -> tuple[type, str]:
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    request = Request(APIRequestFactory().get(f"/api/v1/workers/?{query}", **headers))
    renderer, media_type = negotiation.select_renderer(request, [OrjsonRenderer(), BrowsableAPIRenderer()])
    return type(renderer), media_type


@pytest.mark.parametrize(
    "accept, query",
    [
        (None, ""),
        ("*/*", ""),
        ("application/json", ""),
        ("application/json; indent=4", ""),
        ("application/*", ""),
        ("text/html", ""),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", ""),  # a browser
        ("*/*", "format=api"),
        ("*/*", "format=json"),
        (None, "page=2&format=api"),
        (None, "page=2"),
    ],
)
def test_content_negotiation_answers_as_drf_does(accept, query):
    assert _negotiated(FirstRendererContentNegotiation(), accept, query) == _negotiated(DefaultContentNegotiation(), accept, query)


def test_content_negotiation_parses_the_accept_header_only_when_the_answer_is_not_known(monkeypatch):
    parsed: list[str] = []
    parse = DefaultContentNegotiation.get_accept_list
    monkeypatch.setattr(DefaultContentNegotiation, "get_accept_list", lambda self, request: parsed.append(request.path) or parse(self, request))
    negotiation = FirstRendererContentNegotiation()

    assert _negotiated(negotiation, None, "") == (OrjsonRenderer, "application/json")
    assert _negotiated(negotiation, "*/*", "page=2") == (OrjsonRenderer, "application/json")
    assert _negotiated(negotiation, "application/json", "") == (OrjsonRenderer, "application/json")
    assert parsed == []
    assert _negotiated(negotiation, "text/html", "") == (BrowsableAPIRenderer, "text/html")
    assert _negotiated(negotiation, "*/*", "format=api") == (BrowsableAPIRenderer, "text/html")
    assert len(parsed) == 2
