"""Serializer pieces every app's API shares: the strict request base and the job shapes (SPEC §3.6)."""

from __future__ import annotations

import threading
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.choices import JobStatus


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class JobIdField(serializers.Field):
    """A job's id as its kind has it: an integer (ingest, index jobs) or a string (replay, materialize)."""

    def to_representation(self, value: Any) -> Any:
        return value


class JobAcceptedSerializer(serializers.Serializer):
    """`202 {"job_id", "task_id"}`; poll `GET /api/v1/jobs/{kind}/{job_id}/`."""

    job_id = JobIdField(help_text="the job's id (an integer for ingest and index jobs)")
    task_id = serializers.CharField(allow_null=True, help_text="the Celery task id (null until the request's transaction commits)")


def job_accepted(job: Any, **aliases: Any) -> Response:
    """The 202 of a launched job. `aliases` keep older names for one release (replay's `batch_id`)."""
    body = {"job_id": job.pk, "task_id": job.task_id or None, **aliases}
    return Response(body, status=status.HTTP_202_ACCEPTED)


class JobSerializer(serializers.Serializer):
    """The detail of a job of any kind: the common fields, then the kind's own counters."""

    job_id = JobIdField()
    kind = serializers.CharField()
    status = serializers.ChoiceField(choices=JobStatus.choices)
    progress = serializers.FloatField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    retry_of = serializers.CharField(allow_null=True)
    task_id = serializers.CharField(allow_null=True)
    attempts = serializers.IntegerField()
    cancel_requested = serializers.BooleanField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        body = instance.as_job_dict()
        for name in ("created_at", "started_at", "finished_at", "heartbeat_at"):
            body[name] = serializers.DateTimeField().to_representation(body[name]) if body[name] else None
        return body


class JobPageSerializer(serializers.Serializer):
    """One page of `GET /api/v1/jobs/`."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = JobSerializer(many=True)


# Per thread: one copy of each request serializer's declared fields (see StrictSerializer.get_fields).
_fields_per_thread = threading.local()


# Rejects keys it does not know, so a typo is a 400 that names the field, not a silent no-op; the
# schema says so (additionalProperties: false, apps.core.api.openapi). A comment, not a docstring: the
# schema would show a docstring as the description of every request body.
class StrictSerializer(serializers.Serializer):
    rejects_unknown_fields = True

    def get_fields(self) -> dict[str, serializers.Field]:
        """The declared fields, deep-copied once per class and thread instead of on every request.

        DRF deep-copies `_declared_fields` for every serializer it builds: 15 % of the API's Python CPU
        under load (issue 18). A request serializer's fields are never changed after they are declared
        (none of these serializers edits `self.fields`), and a thread validates one request at a time,
        so the thread's copy is simply re-bound to each new serializer (Serializer.fields binds every
        field to its parent): same fields, same schema, same messages.
        """
        copies = getattr(_fields_per_thread, "copies", None)
        if copies is None:
            copies = _fields_per_thread.copies = {}
        fields = copies.get(type(self))
        if fields is None:
            fields = copies[type(self)] = super().get_fields()
        for field in fields.values():
            # Back to the declared `source`: bind() fills it in from the name, and refuses to bind a
            # field whose source already equals its name.
            field.source = field._kwargs.get("source")
        return dict(fields)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)
