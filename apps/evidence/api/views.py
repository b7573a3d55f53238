from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.openapi import error_responses, request_example, request_variants
from apps.core.api.permissions import IsOperator
from apps.core.api.serializers import JobAcceptedSerializer, job_accepted
from apps.evidence import selectors, services
from apps.evidence.api.filtersets import EvidenceRecordFilterSet, MaterializeRunFilterSet
from apps.evidence.api.serializers import (
    EvidenceRecordSerializer,
    FeedbackEditSerializer,
    FeedbackJudgementSerializer,
    FeedbackRequestSerializer,
    FeedbackSerializer,
    MaterializeNewSourcesSerializer,
    MaterializeRebuildSerializer,
    MaterializeReceiptSerializer,
    MaterializeRequestSerializer,
    MaterializeRunSummarySerializer,
)


class MaterializeView(APIView):
    """Staff: queue a materialize run (409 materialize_busy while one is executing)."""

    permission_classes = [IsOperator]

    @extend_schema(
        summary="Materialize interactions into evidence records, in the background (SPEC §4.7)",
        request=request_variants("MaterializeRequest", MaterializeNewSourcesSerializer, MaterializeRebuildSerializer),
        responses={202: JobAcceptedSerializer, **error_responses(409)},
        examples=[request_example("one day", {"day": "2026-11-29"})],
    )
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

    @extend_schema(
        summary="Accept, reject or edit an earlier interaction (its id comes back as interaction_id)",
        request=request_variants("FeedbackRequest", FeedbackJudgementSerializer, FeedbackEditSerializer),
        responses={201: FeedbackSerializer},
        examples=[request_example("accept a search", {"target_id": "0b6f3f5e-8c1d-4c39-9a53-2f0d9f3e7a11", "verdict": "accept"})],
    )
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
