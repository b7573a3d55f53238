from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.validation import services
from apps.validation.api.serializers import FillValidationSerializer, OutreachValidationSerializer


class OutreachValidationView(APIView):
    """A failed validation is a 200 with ok=false; only a malformed request is a 400."""

    @extend_schema(request=OutreachValidationSerializer)
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
    @extend_schema(request=FillValidationSerializer)
    def post(self, request: Request) -> Response:
        serializer = FillValidationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        verdict = services.validate_fill(
            worker_ids=data["worker_ids"], order_id=data.get("order_id"), order=data.get("order"),
            actor=request.user.get_username(),
        )
        return Response(verdict)
