from typing import Any

from rest_framework import serializers

from apps.replay.choices import REPLAYED_TASK_TYPES, SKIPPED_TASK_TYPES
from apps.core.api.serializers import StrictSerializer


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
