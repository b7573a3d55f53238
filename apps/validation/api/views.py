from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.openapi import request_example, request_variants
from apps.validation import services
from apps.validation.api.serializers import (
    FillOfInlineOrderSerializer,
    FillOfStoredOrderSerializer,
    FillValidationSerializer,
    FillValidationVerdictSerializer,
    OutreachValidationSerializer,
    OutreachVerdictSerializer,
)


class OutreachValidationView(APIView):
    """A failed validation is a 200 with ok=false; only a malformed request is a 400."""

    @extend_schema(
        summary="Check an email or SMS draft before it is sent (SPEC §4.4)",
        request=OutreachValidationSerializer,
        responses={200: OutreachVerdictSerializer},
        examples=[
            request_example(
                "sms to a worker", {"kind": "sms", "worker_id": "W-000001", "body": "Hi! A forklift shift in Columbus starts Monday 7am. Reply YES to confirm."}
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = OutreachValidationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        verdict = services.validate_outreach(
            kind=data["kind"], worker_id=data.get("worker_id"), subject=data.get("subject"), body=data["body"],
            actor=request.user.get_username(),
        )
        return Response(verdict)


class FillValidationView(APIView):
    """Validates only; a proposal is made with POST /api/v1/orders/{order_id}/proposals/."""

    @extend_schema(
        summary="Check workers against a job order (SPEC §4.5)",
        request=request_variants("FillValidation", FillOfStoredOrderSerializer, FillOfInlineOrderSerializer),
        responses={200: FillValidationVerdictSerializer},
        examples=[request_example("two workers for an order", {"order_id": "ORD-2026-0001", "worker_ids": ["W-000001", "W-000002"]})],
    )
    def post(self, request: Request) -> Response:
        serializer = FillValidationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        verdict = services.validate_fill(
            worker_ids=data["worker_ids"], order_id=data.get("order_id"), order=data.get("order"),
            actor=request.user.get_username(),
        )
        return Response(verdict)
