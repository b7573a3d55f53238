"""The schema's declarations match the findings of issue 15 (each of these was wrong before)."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _op(schema: dict, method: str, path: str) -> dict:
    return schema["paths"][path][method]


def _success(operation: dict) -> dict[str, dict]:
    return {code: body for code, body in operation["responses"].items() if code < "400"}


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("post", "/api/v1/playbooks/record", "201"),
        ("post", "/api/v1/indexes/{name}/rebuild/", "202"),
        ("post", "/api/v1/indexes/{name}/reembed/", "202"),
        ("delete", "/api/v1/indexes/{name}/", "200"),
        ("post", "/api/v1/workers/search", "200"),
        ("post", "/api/v1/validate/email", "200"),
        ("post", "/api/v1/validate/fill", "200"),
        ("post", "/api/v1/ingest/", "202"),
        ("post", "/api/v1/replay/batches/", "202"),
        ("post", "/api/v1/orders/{order_id}/proposals/", "201"),
        ("post", "/api/v1/jobs/{kind}/{job_id}/retry/", "202"),
    ],
)
def test_the_declared_success_status_is_the_real_one(schema, method, path, status):
    assert list(_success(_op(schema, method, path))) == [status]


def test_every_success_with_a_body_declares_its_shape_and_every_operation_its_error_envelopes(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, response in _success(operation).items():
                if code != "204":
                    assert "application/json" in response.get("content", {}), (method, path, code)
            errors = {code for code in operation["responses"] if code >= "400"}
            assert {"401", "403", "429", "503"} <= errors, (method, path)
            for code in errors:
                assert operation["responses"][code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorEnvelope"
                }, (method, path, code)
            if "requestBody" in operation:
                assert {"400", "413"} <= errors, (method, path)


def test_proposals_list_is_a_page_of_proposals(schema):
    body = _op(schema, "get", "/api/v1/orders/{order_id}/proposals/")["responses"]["200"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/PaginatedFillProposalList"}


UPLOADS = {"/api/v1/ingest/", "/api/v1/orders/import/"}


def test_only_uploads_take_multipart_and_every_body_has_an_example(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if not content:
                continue
            if path in UPLOADS:
                assert "multipart/form-data" in content, (method, path)
                continue
            assert set(content) == {"application/json"}, (method, path)
            assert content["application/json"].get("examples"), (method, path)


def test_operations_are_tagged_by_app_and_request_bodies_share_no_boilerplate(schema):
    tags = {tag for operations in schema["paths"].values() for operation in operations.values() for tag in operation["tags"]}
    assert tags == {"core", "evidence", "indexes", "interactions", "jobs", "orders", "playbooks", "replay", "search", "validation", "workers"}
    descriptions = [c.get("description") for name, c in schema["components"]["schemas"].items() if name.endswith("Request")]
    assert not any(d and descriptions.count(d) > 1 for d in descriptions), descriptions
    assert schema["components"]["schemas"]["SearchRequestRequest"]["additionalProperties"] is False


def test_a_retry_declares_the_launch_body_it_answers(schema):
    body = _op(schema, "post", "/api/v1/jobs/{kind}/{job_id}/retry/")["responses"]["202"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/JobAccepted"}
