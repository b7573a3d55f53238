"""The schema's declarations match the findings of issue 15 (each of these was wrong before)."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from apps.core.api.openapi import STRIPPED, text_pattern


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


def _request_schemas(schema: dict, method: str, path: str) -> dict[str, dict]:
    """media type → the request schema, with one level of $ref and oneOf resolved to component names."""
    components = schema["components"]["schemas"]
    result = {}
    for media_type, body in _op(schema, method, path)["requestBody"]["content"].items():
        ref = body["schema"]["$ref"].rsplit("/", 1)[1]
        result[media_type] = components[ref]
    return result


@pytest.mark.parametrize(
    "path, variants",
    [
        # each variant is a whole object (additionalProperties false): exactly one of them fits a valid body
        ("/api/v1/evidence/feedback/", {"FeedbackJudgementRequest", "FeedbackEditRequest"}),
        ("/api/v1/validate/fill", {"FillOfStoredOrderRequest", "FillOfInlineOrderRequest"}),
        ("/api/v1/evidence/materialize/", {"MaterializeNewSourcesRequest", "MaterializeRebuildRequest"}),
    ],
)
def test_cross_field_rules_are_oneof_variants_of_the_validating_serializer(schema, path, variants):
    (body,) = _request_schemas(schema, "post", path).values()
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in body["oneOf"]} == variants
    # required unless a variant takes {} (materialize: new sources since the last run)
    assert _op(schema, "post", path)["requestBody"].get("required", False) is (path != "/api/v1/evidence/materialize/")
    edit = schema["components"]["schemas"]["FeedbackEditRequest"]
    assert {"edited_text", "verdict"} <= set(edit["required"]) and edit["additionalProperties"] is False


def test_the_body_shape_follows_the_media_type_where_one_of_two_inputs_is_needed(schema):
    ingest = _request_schemas(schema, "post", "/api/v1/ingest/")
    assert "path" in ingest["application/json"]["required"] and "file" not in ingest["application/json"]["properties"]
    assert {"file", "format"} <= set(ingest["multipart/form-data"]["required"]) and "path" not in ingest["multipart/form-data"]["properties"]
    orders_import = _request_schemas(schema, "post", "/api/v1/orders/import/")
    assert set(orders_import) == {"application/json", "multipart/form-data"}  # no form-urlencoded any more
    assert orders_import["application/json"]["properties"]["csv"]["pattern"].startswith("^order_id,client,city,state,role,headcount,shift,start_date")


def test_the_text_patterns_match_exactly_what_a_trimming_charfield_takes():
    assert re.fullmatch(f"[{STRIPPED}]+", "".join(chr(c) for c in range(0x110000) if chr(c).isspace()))
    assert not any(re.fullmatch(f"[{STRIPPED}]", chr(c)) for c in range(0x110000) if not chr(c).isspace())
    one, two = re.compile(text_pattern(trimmed=True, min_length=1)), re.compile(text_pattern(trimmed=True, min_length=2))
    for text in ("a", " a ", "a\x1e", "\u3000 ab", "a b", "ab\n", "OH", "V\x1e", " ", "\x1c\x1d", "", "a\x00", "ab\x00"):
        field = serializers.CharField(min_length=2)
        assert bool(one.search(text)) == bool(text.strip() and "\x00" not in text), repr(text)
        assert bool(two.search(text)) == (len(text.strip()) >= 2 and "\x00" not in text), repr(text)
        assert bool(two.search(text)) == _valid(field, text), repr(text)


def _valid(field, text: str) -> bool:
    try:
        field.run_validation(text)
    except serializers.ValidationError:
        return False
    return True


def test_text_fields_state_what_the_server_refuses(schema):
    components = schema["components"]["schemas"]
    reason = components["DoNotAssignRequestRequest"]["properties"]["reason"]
    assert reason["pattern"] == text_pattern(trimmed=True, min_length=1)  # no NUL, not blank once trimmed
    body = components["OutreachValidationRequest"]["properties"]["body"]  # blank allowed (drf-spectacular's oneOf), not trimmed
    assert body["oneOf"][0]["pattern"] == "^[^\\x00]*$"
    order_id = components["JobOrderRequest"]["properties"]["order_id"]
    assert order_id["pattern"] == "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"  # its own pattern stays


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/v1/do-not-assign/"),
        ("post", "/api/v1/evidence/feedback/"),
        ("post", "/api/v1/playbooks/record"),
        ("post", "/api/v1/validate/fill"),
        ("post", "/api/v1/replay/batches/"),
        ("post", "/api/v1/ingest/"),
        ("post", "/api/v1/workers/search"),
        ("post", "/api/v1/orders/"),
    ],
)
def test_a_body_naming_what_does_not_exist_or_a_taken_id_declares_the_400_it_gets_not_a_404(schema, method, path):
    # Bad input in a body is a 400 (SPEC §5), an unknown id or a path outside the ingest directories
    # included; the contract test excuses those as rules beyond JSON Schema.
    responses = _op(schema, method, path)["responses"]
    assert "400" in responses and "404" not in responses
