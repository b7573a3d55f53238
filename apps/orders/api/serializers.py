from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.core.api.serializers import StrictSerializer
from apps.orders import services
from apps.orders.choices import USPS_STATE_CHOICES
from apps.orders.models import FillProposal, JobOrder


class UpperCaseChoiceField(serializers.ChoiceField):
    """A USPS code in any case ("oh"), stored upper case; the schema shows the codes."""

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(data.strip().upper() if isinstance(data, str) else data)


class JobOrderSerializer(serializers.ModelSerializer):
    """Validation is the model's (field validators and clean, run by the order services); this
    serializer only shapes the request and the response."""

    state = UpperCaseChoiceField(choices=USPS_STATE_CHOICES)

    class Meta:
        model = JobOrder
        fields = [
            "order_id", "client", "city", "state", "site_zip", "role", "headcount", "shift", "start_date", "end_date",
            "required_certifications", "status", "created_by", "created_at", "updated_at",
        ]
        read_only_fields = ["status", "created_by", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs.get("end_date", getattr(self.instance, "end_date", None))
        if start and end and end < start:
            raise serializers.ValidationError({"end_date": ["Must not be before start_date."]})
        return attrs

    def create(self, validated_data: dict[str, Any]) -> JobOrder:
        return services.order_create(**validated_data)

    def update(self, instance: JobOrder, validated_data: dict[str, Any]) -> JobOrder:
        return services.order_update(order=instance, **validated_data)


class FillErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    worker_id = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class FillVerdictSerializer(serializers.Serializer):
    # Not required: rows written before verdicts were stored hold an empty one.
    ok = serializers.BooleanField(required=False)
    errors = FillErrorSerializer(many=True, required=False)


class FillProposalSerializer(serializers.ModelSerializer):
    order_id = serializers.CharField(source="order.order_id", read_only=True)
    verdict = FillVerdictSerializer(read_only=True)

    class Meta:
        model = FillProposal
        fields = ["id", "order_id", "worker_ids", "ok", "verdict", "status", "created_by", "created_at", "decided_at"]
        read_only_fields = fields


class ProposalRequestSerializer(StrictSerializer):
    worker_ids = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=1000)
