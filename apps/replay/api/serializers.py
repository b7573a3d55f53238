from typing import Any

from rest_framework import serializers

from apps.core.api.serializers import JobAcceptedSerializer, StrictSerializer
from apps.replay.choices import REPLAYED_TASK_TYPES, SKIPPED_TASK_TYPES, RunStatus


class ReplayBatchRequestSerializer(StrictSerializer):
    day_from = serializers.DateField(required=False)
    day_to = serializers.DateField(required=False)
    task_types = serializers.ListField(
        child=serializers.ChoiceField(choices=REPLAYED_TASK_TYPES + SKIPPED_TASK_TYPES), required=False, default=list, max_length=20
    )
    evidence_ids = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list, max_length=10_000)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100_000)
    provider = serializers.ChoiceField(choices=["local", "openai", "ollama"], required=False)
    model = serializers.CharField(required=False, max_length=128, allow_blank=True)
    concurrency = serializers.IntegerField(required=False, min_value=1, max_value=32, default=4)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("day_from") and attrs.get("day_to") and attrs["day_to"] < attrs["day_from"]:
            raise serializers.ValidationError({"day_to": ["Must not be before day_from."]})
        return attrs


class ReplayBatchAcceptedSerializer(JobAcceptedSerializer):
    batch_id = serializers.CharField(help_text="deprecated alias of job_id, kept for one release")


class ReplayRunSerializer(serializers.Serializer):
    """A run as its replay_run.v1 line (apps.replay.selectors.run_as_dict builds it; a test keeps the
    two in step)."""

    schema = serializers.CharField()
    run_id = serializers.CharField()
    batch_id = serializers.CharField()
    evidence_id = serializers.CharField()
    task_type = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    provider = serializers.CharField()
    model = serializers.CharField(allow_blank=True)
    retrieval = serializers.JSONField()
    bundle_sha256 = serializers.CharField(allow_blank=True)
    response = serializers.JSONField()
    validation = serializers.JSONField()
    baseline_ok = serializers.BooleanField(allow_null=True)
    regression = serializers.BooleanField()
    status = serializers.ChoiceField(choices=RunStatus.values)
    error = serializers.CharField(allow_null=True)


class ReplayRunDetailSerializer(ReplayRunSerializer):
    bundle = serializers.JSONField(help_text="the chat messages sent to the model")
