from rest_framework import serializers

from apps.playbooks.choices import Outcome
from apps.playbooks.models import Playbook
from apps.core.api.serializers import StrictSerializer
from apps.workers.api.serializers import SearchFiltersSerializer


class RecordPlaybookSerializer(StrictSerializer):
    query = serializers.CharField(max_length=1000)
    filters = SearchFiltersSerializer(required=False, default=dict)
    worker_ids = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=100)
    order_id = serializers.CharField(required=False, allow_null=True, max_length=64)
    outcome = serializers.ChoiceField(choices=Outcome.values)

    def validate_filters(self, value: dict) -> dict:
        # Stored as JSON: dates as ISO strings.
        return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in value.items()}


class PlaybookSerializer(serializers.ModelSerializer):
    order_id = serializers.CharField(source="order.order_id", read_only=True, default=None)

    class Meta:
        model = Playbook
        fields = ["id", "query", "filters", "worker_ids", "order_id", "outcome", "embedding_model", "created_by", "created_at"]
        read_only_fields = fields
