from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.orders.api.serializers import FillErrorSerializer
from apps.orders.choices import Shift
from apps.core.api.serializers import StrictSerializer


class OutreachValidationSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=["email", "sms"])
    worker_id = serializers.CharField(required=False, allow_null=True, max_length=64)
    subject = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=1000, trim_whitespace=False)
    # EMPTY_BODY and BODY_TOO_LONG are verdicts, not malformed requests; only absurd sizes are a 400.
    body = serializers.CharField(allow_blank=True, max_length=100_000, trim_whitespace=False)


class InlineOrderSerializer(StrictSerializer):
    client = serializers.CharField(required=False, max_length=200)  # names a do-not-assign list (SPEC §3.2a)
    city = serializers.CharField(max_length=100)
    state = serializers.CharField(min_length=2, max_length=2)
    role = serializers.CharField(max_length=64)
    headcount = serializers.IntegerField(min_value=1, max_value=1000)
    shift = serializers.ChoiceField(choices=Shift.values)
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)
    required_certifications = serializers.ListField(child=serializers.CharField(max_length=100), required=False, default=list)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("end_date") and attrs["end_date"] < attrs["start_date"]:
            raise serializers.ValidationError({"end_date": ["Must not be before start_date."]})
        attrs["state"] = attrs["state"].upper()
        return attrs


class FillValidationSerializer(StrictSerializer):
    order_id = serializers.CharField(required=False, max_length=64)
    order = InlineOrderSerializer(required=False)
    worker_ids = serializers.ListField(child=serializers.CharField(max_length=64), max_length=1000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("order_id" in attrs) == ("order" in attrs):
            raise serializers.ValidationError({"order_id": ["Give exactly one of 'order_id' or an inline 'order'."]})
        return attrs


# The schema's two shapes of FillValidationSerializer (apps.core.api.openapi.request_variants).
class FillOfStoredOrderSerializer(FillValidationSerializer):
    order_id = serializers.CharField(max_length=64)
    order = None


class FillOfInlineOrderSerializer(FillValidationSerializer):
    order_id = None
    order = InlineOrderSerializer()


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    start = serializers.IntegerField(required=False, help_text="where in the text, when the finding has a place")
    end = serializers.IntegerField(required=False)


class OutreachVerdictSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    kind = serializers.ChoiceField(choices=["email", "sms"])
    errors = FindingSerializer(many=True)
    warnings = FindingSerializer(many=True)
    stats = serializers.DictField(child=serializers.JSONField())
    interaction_id = serializers.UUIDField(help_text="the logged interaction; feedback names it")


class FillValidationVerdictSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    interaction_id = serializers.UUIDField(help_text="the logged interaction; feedback names it")
    errors = FillErrorSerializer(many=True)
