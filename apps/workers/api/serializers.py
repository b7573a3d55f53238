from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.serializers import StrictSerializer
from apps.workers.choices import IngestFormat, WorkerStatus
from apps.workers.models import IngestJob, Worker
from apps.workers.vocabulary import SHIFTS


# Shape and bounds of search filters only; `apps.workers.search.search_filters_from_dict` normalizes
# the values (the one place a filter dict becomes `SearchFilters`).
class SearchFiltersSerializer(StrictSerializer):

    city = serializers.CharField(required=False, max_length=100)
    state = serializers.CharField(required=False, min_length=2, max_length=2)
    role = serializers.CharField(required=False, max_length=64)
    skills = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50)
    certifications = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50)
    shift = serializers.ChoiceField(choices=SHIFTS, required=False)
    available_on = serializers.DateField(required=False)
    status = serializers.ChoiceField(choices=WorkerStatus.values, required=False)


class WorkerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Worker
        fields = [
            "worker_id", "first_name", "last_name", "email", "phone", "city", "state", "zip", "role", "skills",
            "certifications", "shift_preference", "available_from", "years_experience", "hourly_rate", "reliability",
            "status", "sms_opt_out", "bio", "embedding_model", "created_at", "updated_at",
        ]
        read_only_fields = fields


class IngestRequestSerializer(StrictSerializer):
    path = serializers.CharField(required=False, max_length=4096)
    file = serializers.FileField(required=False, error_messages={"empty": "The upload is empty: the file has no content."})
    format = serializers.ChoiceField(choices=IngestFormat.choices, required=False)
    drop = serializers.BooleanField(required=False, default=False)
    limit = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        if not attrs.get("path") and not attrs.get("file") and request is not None and request.content_type.startswith("multipart/"):
            # A multipart request whose file part had no name or no bytes: Django drops such a part.
            raise serializers.ValidationError({"file": ["The upload is empty: no file content was received."]})
        if bool(attrs.get("path")) == bool(attrs.get("file")):
            raise serializers.ValidationError({"path": ["Give exactly one of 'path' (a file on the server) or 'file' (an upload)."]})
        return attrs


# The schema's two shapes of IngestRequestSerializer, one per media type (apps.core.api.openapi).
class IngestFromPathSerializer(IngestRequestSerializer):
    path = serializers.CharField(max_length=4096, help_text="a file inside one of the ingest directories")
    file = None


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class NonEmptyUploadField(serializers.FileField):
    """An upload with at least one byte (the schema's word for IngestRequestSerializer's empty check)."""


class IngestUploadSerializer(IngestRequestSerializer):
    path = None
    file = NonEmptyUploadField()
    # Required here: the server also reads it from the file name's extension, which a schema cannot state.
    format = serializers.ChoiceField(choices=IngestFormat.choices, help_text="optional when the file name ends in .csv, .jsonl, .parquet...")


class IngestJobSerializer(serializers.ModelSerializer):
    job_id = serializers.IntegerField(source="pk")

    class Meta:
        model = IngestJob
        fields = [
            "job_id", "status", "progress", "source", "format", "drop", "limit", "rows_total", "rows_read", "rows_written",
            "rows_unchanged", "rows_rejected", "texts_embedded", "warnings_count", "errors", "started_at", "finished_at",
            "rows_per_s", "timings", "error", "task_id", "created_by", "created_at", "heartbeat_at", "retry_of", "attempts",
            "cancel_requested",
        ]
        read_only_fields = fields
