from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.evidence import selectors, transforms
from apps.evidence.choices import FeedbackVerdict, MaterializeMode, MaterializeStatus, SourceKind
from apps.evidence.models import MaterializeRun
from apps.core.api.openapi import text_pattern
from apps.core.api.serializers import StrictSerializer


class MaterializeRequestSerializer(StrictSerializer):
    since = serializers.DateTimeField(required=False, help_text="sources that occurred at or after this time")
    day = serializers.DateField(required=False, help_text="sources of this UTC day")
    rebuild_day = serializers.DateField(required=False, help_text="rewrite this day's partition from its sources")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("rebuild_day") and (attrs.get("since") or attrs.get("day")):
            raise serializers.ValidationError({"rebuild_day": ["Give rebuild_day on its own (not with since or day)."]})
        return attrs


class FeedbackRequestSerializer(StrictSerializer):
    target_id = serializers.UUIDField(help_text="the interaction this feedback judges")
    verdict = serializers.ChoiceField(choices=FeedbackVerdict.choices)
    edited_text = serializers.CharField(required=False, max_length=20_000, trim_whitespace=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Checked again by the service (other callers); here it becomes a field-level 400 early.
        text = attrs.get("edited_text")
        if attrs.get("verdict") == FeedbackVerdict.EDIT and not (text and text.strip()):
            raise serializers.ValidationError({"edited_text": ["Required when verdict is 'edit'."]})
        if attrs.get("verdict") != FeedbackVerdict.EDIT and "edited_text" in attrs:
            raise serializers.ValidationError({"edited_text": ["Only allowed when verdict is 'edit'."]})
        return attrs


# The schema's shapes of the two requests above (apps.core.api.openapi.request_variants).
class MaterializeNewSourcesSerializer(MaterializeRequestSerializer):
    rebuild_day = None


class MaterializeRebuildSerializer(MaterializeRequestSerializer):
    since = None
    day = None
    rebuild_day = serializers.DateField(help_text="rewrite this day's partition from its sources")


class FeedbackJudgementSerializer(FeedbackRequestSerializer):
    verdict = serializers.ChoiceField(choices=[FeedbackVerdict.ACCEPT, FeedbackVerdict.REJECT])
    edited_text = None


class FeedbackEditSerializer(FeedbackRequestSerializer):
    verdict = serializers.ChoiceField(choices=[FeedbackVerdict.EDIT])
    edited_text = serializers.RegexField(text_pattern(trimmed=True, min_length=1), max_length=20_000, trim_whitespace=False)


class FeedbackSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    target_id = serializers.UUIDField(source="request.target_id")
    verdict = serializers.CharField(source="request.verdict")
    edited_text = serializers.CharField(source="request.edited_text", default=None, allow_null=True)


class MaterializeReceiptSerializer(serializers.Serializer):
    """A run as its materialize_receipt.v1 (selectors.receipt); fields declared for the schema."""

    schema = serializers.CharField(default=selectors.RECEIPT_SCHEMA)
    run_id = serializers.CharField()
    status = serializers.ChoiceField(choices=MaterializeStatus.choices)
    mode = serializers.ChoiceField(choices=MaterializeMode.choices)
    params = serializers.DictField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)
    task_id = serializers.CharField(allow_null=True)
    kb_dir = serializers.CharField()
    watermark = serializers.DictField()
    sources_scanned = serializers.DictField(child=serializers.IntegerField())
    inbox = serializers.DictField()
    records_written = serializers.IntegerField()
    duplicates_skipped = serializers.IntegerField()
    errors_count = serializers.IntegerField()
    per_transform = serializers.DictField()
    per_day = serializers.DictField()
    errors = serializers.ListField(child=serializers.DictField())
    files = serializers.ListField(child=serializers.DictField())
    receipt_path = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True)

    def to_representation(self, instance: MaterializeRun) -> dict[str, Any]:
        return selectors.receipt(instance)


class MaterializeRunSummarySerializer(MaterializeReceiptSerializer):
    """List items: the receipt without its error list (errors_count stays; the detail has them)."""

    errors = None

    def to_representation(self, instance: MaterializeRun) -> dict[str, Any]:
        body = selectors.receipt(instance)
        body.pop("errors")
        return body


class EvidenceRecordSerializer(serializers.Serializer):
    """An evidence_record.v1, exactly as in the partition files."""

    schema = serializers.CharField(default=transforms.SCHEMA)
    evidence_id = serializers.CharField()
    day = serializers.DateField()
    occurred_at = serializers.CharField()
    source_kind = serializers.ChoiceField(choices=SourceKind.choices)
    source_id = serializers.CharField()
    transform = serializers.CharField()
    transform_version = serializers.IntegerField()
    task_type = serializers.CharField()
    input = serializers.JSONField()
    output = serializers.JSONField()
    model = serializers.CharField(allow_null=True)
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    latency_ms = serializers.FloatField(allow_null=True)
    verdict = serializers.JSONField()
    labels = serializers.JSONField()
    metadata = serializers.JSONField()

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        return selectors.record_as_dict(instance)
