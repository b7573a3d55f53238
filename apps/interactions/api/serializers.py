from rest_framework import serializers

from apps.interactions.models import Interaction


class InteractionSerializer(serializers.ModelSerializer):
    """One logged workflow or model call (SPEC §3.5), as stored: already scrubbed of secrets."""

    class Meta:
        model = Interaction
        fields = [
            "id", "kind", "occurred_at", "actor", "ok", "latency_ms", "model", "prompt_tokens", "completion_tokens",
            "order_id", "worker_ids", "request", "response", "errors",
        ]
