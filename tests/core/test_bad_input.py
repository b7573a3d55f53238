"""Bad input is a 400 or 413 in the envelope, never a 500 (SPEC §5, issue 17)."""

from __future__ import annotations

import json

import pytest

from apps.core.bounded_json import MAX_JSON_DEPTH, json_depth_exceeds, loads_bounded

pytestmark = pytest.mark.django_db


def _in_envelope(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


def test_depth_check_is_iterative_and_exact():
    nested: object = 1
    for _ in range(MAX_JSON_DEPTH):
        nested = [nested]
    assert not json_depth_exceeds(nested, MAX_JSON_DEPTH)
    assert json_depth_exceeds([nested], MAX_JSON_DEPTH)
    assert not json_depth_exceeds({"a": [1, {"b": 2}]}, 3) and json_depth_exceeds({"a": [1, {"b": [2]}]}, 3)
    with pytest.raises(ValueError, match="nested deeper"):
        loads_bounded("[" * 50_000 + "]" * 50_000)  # far past the C parser's recursion limit


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 10_000])
def test_json_nested_too_deep_is_400(coordinator_client, depth):
    body = '{"query": "forklift", "filters": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    response = coordinator_client.generic("POST", "/api/v1/workers/search", body, content_type="application/json")
    assert response.status_code == 400
    error = _in_envelope(response)
    assert error["code"] == "parse_error"
    assert "nested deeper" in error["message"]


def test_unparsable_json_is_400(coordinator_client):
    response = coordinator_client.generic("POST", "/api/v1/workers/search", '{"query": ', content_type="application/json")
    assert response.status_code == 400
    assert _in_envelope(response)["code"] == "parse_error"


def test_a_json_body_over_the_upload_limit_is_413_in_the_envelope(coordinator_client, settings):
    body = json.dumps({"query": "x" * (20 * 1024 * 1024)})  # 20 MB, over DATA_UPLOAD_MAX_MEMORY_SIZE (10 MB)
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = coordinator_client.generic("POST", "/api/v1/workers/search", body, content_type="application/json")
    assert response.status_code == 413
    assert _in_envelope(response)["code"] == "too_large"


def test_a_form_body_over_the_limit_is_413_in_the_envelope(staff_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = staff_client.post("/api/v1/ingest/", {"path": "x" * 4096}, format="multipart")
    assert response.status_code == 413
    assert _in_envelope(response)["code"] == "too_large"


def _schema_paths(client) -> list[str]:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = []
    for template in schema["paths"]:
        # Any value fills a path parameter: OPTIONS describes the endpoint, it does not look the object up.
        paths.append(template.replace("{", "").replace("}", "").replace("_id", "1").replace("name", "workers"))
    return paths


@pytest.mark.parametrize("role", ["staff_client", "coordinator_client"])
def test_options_works_on_every_endpoint(request, role):
    client = request.getfixturevalue(role)
    paths = _schema_paths(client)
    assert "/api/v1/replay/batches/" in paths  # the view without a serializer_class that was a 500
    for path in paths:
        response = client.options(path)
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        if response.status_code == 200:
            assert response.json()["name"], path
        else:
            _in_envelope(response)
