from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.permissions import IsOperator
from apps.core.api.serializers import JobAcceptedSerializer, job_accepted
from apps.evidence import selectors, services
from apps.evidence.api.filtersets import EvidenceRecordFilterSet, MaterializeRunFilterSet
from apps.evidence.api.serializers import (
    EvidenceRecordSerializer,
    FeedbackRequestSerializer,
    FeedbackSerializer,
    MaterializeReceiptSerializer,
    MaterializeRequestSerializer,
    MaterializeRunSummarySerializer,
)


class MaterializeView(APIView):
    """Staff: queue a materialize run (409 materialize_busy while one is executing)."""

    permission_classes = [IsOperator]

    @extend_schema(request=MaterializeRequestSerializer, responses={202: JobAcceptedSerializer})
    def post(self, request: Request) -> Response:
        serializer = MaterializeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = services.start_materialize_run(
            since=data.get("since"), day=data.get("day"), rebuild_day=data.get("rebuild_day"), actor=request.user.get_username()
        )
        return job_accepted(run)


class MaterializeRunListView(generics.ListAPIView):
    serializer_class = MaterializeRunSummarySerializer
    filterset_class = MaterializeRunFilterSet

    def get_queryset(self):
        return selectors.materialize_runs()


class MaterializeRunDetailView(generics.RetrieveAPIView):
    serializer_class = MaterializeReceiptSerializer
    lookup_url_kwarg = "run_id"

    def get_queryset(self):
        return selectors.materialize_runs()


class EvidenceRecordListView(generics.ListAPIView):
    serializer_class = EvidenceRecordSerializer
    filterset_class = EvidenceRecordFilterSet

    def get_queryset(self):
        return selectors.record_values(selectors.evidence_records())


class FeedbackView(APIView):
    """Coordinators: accept, reject or edit an earlier interaction (stored as a feedback interaction)."""

    @extend_schema(request=FeedbackRequestSerializer, responses={201: FeedbackSerializer})
    def post(self, request: Request) -> Response:
        serializer = FeedbackRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        interaction = services.record_feedback(
            target_id=str(data["target_id"]),
            verdict=data["verdict"],
            edited_text=data.get("edited_text"),
            actor=request.user.get_username(),
        )
        return Response(FeedbackSerializer(interaction).data, status=status.HTTP_201_CREATED)
