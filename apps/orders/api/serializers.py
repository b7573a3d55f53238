from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from apps.core.api.serializers import StrictSerializer
from apps.interactions.choices import DECISION_KINDS, InteractionKind
from apps.orders import services
from apps.orders.choices import USPS_STATE_CHOICES, AssignmentEndReason
from apps.orders.models import AssignmentEnd, DoNotAssign, FillProposal, JobOrder


class UpperCaseChoiceField(serializers.ChoiceField):
    """A USPS code in any case ("oh"), stored upper case; the schema shows the codes."""

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(data.strip().upper() if isinstance(data, str) else data)


class ClientNameField(serializers.CharField):
    """A client by name: the name in, the client's stored name out (SPEC §3.2). The order services turn
    the name into a Client (created on first use, matched case- and space-insensitively)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=200, **kwargs)

    def to_representation(self, value: Any) -> str:
        return getattr(value, "name", value)


# Validation is the model's (field validators and clean, run by the order services); this serializer
# only shapes the request and the response.
class JobOrderSerializer(serializers.ModelSerializer):

    state = UpperCaseChoiceField(choices=USPS_STATE_CHOICES)
    client = ClientNameField()

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


def _note_field() -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="why: kept in the order's history with who decided and when"
    )


class DecisionNoteSerializer(StrictSerializer):
    """The optional body of a decision (accept, reject, cancel): why it was made."""

    note = _note_field()


class ProposalRequestSerializer(StrictSerializer):
    worker_ids = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=1000)
    note = _note_field()


class AssignmentEndRequestSerializer(StrictSerializer):
    reason = serializers.ChoiceField(choices=AssignmentEndReason.choices)
    note = _note_field()


class AssignmentEndSerializer(serializers.ModelSerializer):
    order_id = serializers.CharField(source="order.order_id", read_only=True)
    order_status = serializers.CharField(source="order.status", read_only=True)

    class Meta:
        model = AssignmentEnd
        fields = ["order_id", "worker_id", "reason", "ended_by", "ended_at", "order_status"]
        read_only_fields = fields


class DoNotAssignSerializer(serializers.ModelSerializer):
    client = ClientNameField(read_only=True)
    worker_id = serializers.CharField(read_only=True)

    class Meta:
        model = DoNotAssign
        fields = ["id", "client", "worker_id", "reason", "created_by", "created_at"]
        read_only_fields = fields


class DoNotAssignRequestSerializer(StrictSerializer):
    client = serializers.CharField(max_length=200)
    worker_id = serializers.CharField(max_length=64)
    reason = serializers.CharField(max_length=2000)


class OrderImportRequestSerializer(StrictSerializer):
    """A CSV of orders, uploaded as `file` (multipart) or given as `csv` text (JSON)."""

    file = serializers.FileField(required=False)
    csv = serializers.CharField(required=False, trim_whitespace=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("file" in attrs) == ("csv" in attrs):
            raise serializers.ValidationError({"file": ["Give exactly one of 'file' or 'csv'."]})
        upload = attrs.get("file")
        if upload is not None:
            if upload.size > settings.ORDER_IMPORT_MAX_MB * 1024 * 1024:
                raise serializers.ValidationError({"file": [f"At most {settings.ORDER_IMPORT_MAX_MB} MB."]})
            try:
                attrs["csv"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise serializers.ValidationError({"file": ["Not UTF-8 text."]}) from None
            attrs["source_name"] = upload.name
        return attrs


# The schema's two shapes of OrderImportRequestSerializer, one per media type (apps.core.api.openapi).
# The text's pattern states the header the import needs, its columns in the documented order (the
# import itself reads them in any order); an uploaded file's content is beyond what a schema can say.
class OrderImportTextSerializer(OrderImportRequestSerializer):
    """The orders as CSV text (JSON)."""

    file = None
    csv = serializers.RegexField(
        rf"^{','.join(services.ORDER_IMPORT_COLUMNS)}(?:[,\r\n][^\x00]*)?$",
        trim_whitespace=False,
        help_text=f"CSV text whose header names {', '.join(services.ORDER_IMPORT_COLUMNS)} (more columns may follow)",
    )


class OrderImportUploadSerializer(OrderImportRequestSerializer):
    """The orders as an uploaded CSV file (multipart)."""

    csv = None
    file = serializers.FileField(help_text=f"a UTF-8 CSV file whose header names {', '.join(services.ORDER_IMPORT_COLUMNS)}")


class OrderDecisionSerializer(serializers.Serializer):
    """One decision on an order, read from its audit row (SPEC §4.8a step 6): who, when, what, why,
    and the status it changed (the proposal's, the assignment's or the order's, then the order's)."""

    id = serializers.UUIDField(read_only=True, help_text="the audit row's interaction id")
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in InteractionKind if k in DECISION_KINDS], read_only=True)
    occurred_at = serializers.DateTimeField(read_only=True)
    actor = serializers.CharField(read_only=True)
    order_id = serializers.CharField(read_only=True)
    proposal_id = serializers.IntegerField(source="request.proposal_id", read_only=True, allow_null=True)
    client = serializers.CharField(source="request.client", read_only=True, allow_null=True)
    worker_ids = serializers.ListField(child=serializers.CharField(), read_only=True)
    reason = serializers.CharField(source="request.reason", read_only=True, allow_null=True, help_text="an assignment's end reason")
    note = serializers.CharField(source="request.note", read_only=True, allow_null=True)
    previous_status = serializers.CharField(source="response.previous_status", read_only=True, allow_null=True)
    new_status = serializers.CharField(source="response.new_status", read_only=True, allow_null=True)
    order_previous_status = serializers.CharField(source="response.order_previous_status", read_only=True, allow_null=True)
    order_new_status = serializers.CharField(source="response.order_new_status", read_only=True, allow_null=True)
