"""How the OpenAPI schema tells the truth about errors, grouping and valid input (SPEC §5).

Every operation answers errors in one envelope, and which statuses it can give follows from what it
is: authenticated and throttled (401, 403, 429), backed by the database (503), taking a body or query
parameters (400), a body at all (413), naming a resource in its path or paging a list (404). Declaring
them here, from the operation's shape, keeps ~40 views from each repeating the same list; an
operation's own extra statuses (409 busy, 503 provider down...) are declared on the view with
`error_responses(...)`. A body naming a stored thing that does not exist is bad input, a 400 like any
other. Operations are tagged by the app that serves them.

Valid input: a schema-valid request is one the server accepts (schemathesis' positive_data_acceptance)
and a schema-invalid one is refused (negative_data_rejection). So text fields carry the pattern of what
DRF's CharField takes (`text_pattern`), query text refuses NUL, list filters state their length bounds
(`StrictFilterExtension`) and pages their bounds (apps.core.api.pagination), and a cross-field rule is
a `oneOf` of the validating serializer's narrowed variants (`request_variants`).
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

ERROR_DESCRIPTIONS = {
    400: "Bad input: `error.fields` names each invalid field.",
    401: "No or invalid `Authorization: Token <key>`.",
    403: "The caller's role (coordinators or operators group) does not allow this.",
    404: "No such resource (or page).",
    409: "Conflict: the resource is busy or changed since it was read.",
    413: "The request body is over the size limit.",
    429: "Throttled: retry after the `Retry-After` seconds.",
    503: "A dependency (database, Redis, model provider) is down.",
}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="machine-readable, e.g. invalid, not_found, index_busy")
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.JSONField(), help_text="field name → messages; empty when no field is at fault"
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# DRF's CharField (and forms.CharField under django-filter) refuse a NUL character (PostgreSQL text
# cannot hold one), and a CharField that trims whitespace refuses a value that trims to less than it
# needs. Stating that as a `pattern` makes every schema-valid string one the server takes; strings with
# a format, an enum or a pattern of their own are left as declared.
NO_NUL = r"^[^\x00]*$"
# What str.strip() removes (every character whose isspace() is true), spelled out: `\s` means
# different things to Python, ECMA 262 and the generators that read the schema (\x1c-\x1f are
# whitespace to Python only).
STRIPPED = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def text_pattern(*, trimmed: bool, min_length: int) -> str:
    """The pattern of a text field: no NUL, and when trimmed at least `min_length` characters from
    the first to the last one that str.strip() keeps."""
    if not trimmed or min_length < 1:
        return NO_NUL
    if min_length == 1:
        return rf"^[^\x00]*[^{STRIPPED}\x00][^\x00]*$"
    return rf"^[{STRIPPED}]*[^{STRIPPED}\x00][^\x00]{{{min_length - 2},}}[^{STRIPPED}\x00][{STRIPPED}]*$"


def _is_plain_string(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" and not {"format", "pattern", "enum"} & set(schema)


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Extra error statuses of one operation, for `extend_schema(responses={...})`."""
    return {status: OpenApiResponse(ErrorEnvelopeSerializer, description=ERROR_DESCRIPTIONS[status]) for status in statuses}


def request_variants(name: str, *variants: type[serializers.Serializer]) -> PolymorphicProxySerializer:
    """A request body as `oneOf` its shapes, for cross-field rules JSON Schema states that way
    ("exactly one of order_id or order", "edited_text with verdict edit only"). Each variant is a
    subclass of the one validating serializer that only narrows it (a field removed, required, or given
    fewer choices), so the rules are still enforced in one place: the view validates with the parent."""
    return PolymorphicProxySerializer(component_name=name, serializers=list(variants), resource_type_field_name=None)


def request_example(name: str, value: Any) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True)


class StrictFilterExtension(DjangoFilterExtension):
    """django-filter's parameters of a StrictFilterBackend, with the length bounds their filters
    declare (`CharFilter(max_length=64)` is a 400 beyond 64, so the schema says so)."""

    target_class = "apps.core.api.filtersets.StrictFilterBackend"
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        bounds = {key: filter_field.extra[name] for key, name in (("minLength", "min_length"), ("maxLength", "max_length")) if filter_field.extra.get(name)}
        for parameter in parameters:
            if parameter["schema"].get("type") == "string":
                parameter["schema"].update(bounds)
        return parameters


class LakehouseAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        # apps.<app>.api.views → <app>
        parts = type(self.view).__module__.split(".")
        return [parts[1]] if len(parts) > 2 and parts[0] == "apps" else super().get_tags()

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and _is_plain_string(schema)
            and not any(isinstance(v, RegexValidator) for v in field.validators)  # drf-spectacular states those
        ):
            required_length = field.min_length or (0 if field.allow_blank else 1)
            schema["pattern"] = text_pattern(trimmed=field.trim_whitespace, min_length=required_length)
        return schema

    def _get_request_for_media_type(self, serializer, direction="request"):
        schema, required = super()._get_request_for_media_type(serializer, direction)
        serializer = force_instance(serializer)
        if schema is not None and isinstance(serializer, PolymorphicProxySerializer):
            # drf-spectacular sees no `required` on a oneOf; the body is required unless a variant takes {}.
            required = all(any(f.required for f in force_instance(v).fields.values()) for v in serializer.serializers)
        return schema, required

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and getattr(serializer, "rejects_unknown_fields", False):
            schema["additionalProperties"] = False
        return schema

    def get_operation(self, path, path_regex, path_prefix, method, registry) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        for parameter in parameters:
            if parameter["in"] == "query" and _is_plain_string(parameter.get("schema", {})):
                parameter["schema"]["pattern"] = NO_NUL
        has_body = "requestBody" in operation
        statuses = {401, 403, 429, 503}
        if has_body or any(p["in"] == "query" for p in parameters):
            statuses.add(400)
        if has_body:
            statuses.add(413)
        if any(p["in"] == "path" for p in parameters) or any(p["name"] == "page" for p in parameters):
            statuses.add(404)
        envelope = self.resolve_serializer(ErrorEnvelopeSerializer, "response").ref
        responses = operation["responses"]
        for status in sorted(statuses):
            responses.setdefault(
                str(status),
                {"content": {"application/json": {"schema": envelope}}, "description": ERROR_DESCRIPTIONS[status]},
            )
        operation["responses"] = dict(sorted(responses.items()))
        return operation
