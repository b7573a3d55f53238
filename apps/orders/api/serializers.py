from rest_framework import serializers

from apps.orders.models import FillProposal, JobOrder


class JobOrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobOrder
        fields = [
            "order_id", "client", "city", "state", "role", "headcount", "shift", "start_date", "end_date",
            "required_certifications", "status", "created_by", "created_at", "updated_at",
        ]
        read_only_fields = ["created_by", "created_at", "updated_at"]

    def validate_state(self, value: str) -> str:
        if len(value) != 2:
            raise serializers.ValidationError("Must be a 2-letter USPS code.")
        return value.upper()

    def validate(self, attrs):
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs.get("end_date", getattr(self.instance, "end_date", None))
        if start and end and end < start:
            raise serializers.ValidationError({"end_date": ["Must not be before start_date."]})
        return attrs


class FillProposalSerializer(serializers.ModelSerializer):
    order_id = serializers.CharField(source="order.order_id", read_only=True)

    class Meta:
        model = FillProposal
        fields = ["id", "order_id", "worker_ids", "ok", "verdict", "status", "created_by", "created_at", "decided_at"]
        read_only_fields = fields
