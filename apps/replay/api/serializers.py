from typing import Any

from rest_framework import serializers

from apps.core.api.serializers import JobAcceptedSerializer, StrictSerializer
from apps.replay.choices import REPLAYED_TASK_TYPES, SKIPPED_TASK_TYPES, BatchStatus, RunStatus
from apps.replay.models import ReplayBatch


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
    baseline_batch = serializers.PrimaryKeyRelatedField(
        queryset=ReplayBatch.objects.all(), required=False, allow_null=True,
        help_text="compare with this earlier batch's run outcomes (passed there, fails now = regression)",
    )

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
    cost_usd = serializers.FloatField(allow_null=True, help_text="USD by CHAT_PRICES; null when the model is unpriced")
    unpriced = serializers.BooleanField(help_text="the model has no price in CHAT_PRICES (unknown cost, not free)")


class ReplayRunDetailSerializer(ReplayRunSerializer):
    bundle = serializers.JSONField(help_text="the chat messages sent to the model")


class LatencySerializer(serializers.Serializer):
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)


class ReplayBatchSerializer(serializers.Serializer):
    """SPEC §4.8 batch body (apps.replay.selectors.batch_summary builds it)."""

    batch_id = serializers.CharField()
    status = serializers.ChoiceField(choices=BatchStatus.values)
    total = serializers.IntegerField()
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    errors = serializers.IntegerField()
    skipped = serializers.IntegerField()
    regressions = serializers.IntegerField()
    pass_rate = serializers.FloatField(allow_null=True, help_text="null when no run reached the model")
    latency_ms = LatencySerializer()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    provider = serializers.CharField()
    model = serializers.CharField(allow_blank=True)
    skipped_by_type = serializers.DictField(child=serializers.IntegerField())
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
