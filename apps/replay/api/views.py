import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.filtersets import StrictFilterSet
from apps.core.api.permissions import IsCoordinator, IsOperator
from apps.core.api.serializers import job_accepted
from apps.replay import selectors, services
from apps.core.api.openapi import request_example
from apps.replay.api.serializers import (
    ReplayBatchAcceptedSerializer,
    ReplayBatchRequestSerializer,
    ReplayBatchSerializer,
    ReplayRunDetailSerializer,
    ReplayRunSerializer,
)
from apps.replay.choices import REPLAYED_TASK_TYPES, RunStatus
from apps.replay.models import ReplayRun


class ReplayBatchListCreateView(generics.ListAPIView):
    """Operators launch batches; coordinators read them."""

    serializer_class = ReplayBatchSerializer  # the shape, for the schema; selectors.batch_summary renders it

    def get_permissions(self):
        return [IsOperator()] if self.request.method == "POST" else [IsCoordinator()]

    def get_queryset(self):
        return selectors.batch_list()

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([selectors.batch_summary(b) for b in page])

    @extend_schema(
        summary="Replay recorded evidence against a model, in the background (SPEC §4.8)",
        request=ReplayBatchRequestSerializer,
        responses={202: ReplayBatchAcceptedSerializer},
        examples=[request_example("last week's drafts", {"day_from": "2026-11-20", "day_to": "2026-11-27", "task_types": ["draft_email"], "limit": 50})],
    )
    def post(self, request: Request) -> Response:
        serializer = ReplayBatchRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = services.create_batch(**serializer.validated_data, actor=request.user.get_username())
        return job_accepted(batch, batch_id=batch.batch_id)  # batch_id: the old name, kept for one release


class ReplayBatchDetailView(generics.GenericAPIView):
    serializer_class = ReplayBatchSerializer  # the shape, for the schema; selectors.batch_summary renders it
    lookup_url_kwarg = "batch_id"

    def get_queryset(self):
        return selectors.batch_list()

    def get(self, request: Request, batch_id: str) -> Response:
        return Response(selectors.batch_summary(generics.get_object_or_404(self.get_queryset(), pk=batch_id)))


class ReplayRunFilterSet(StrictFilterSet):
    batch = django_filters.CharFilter(field_name="batch_id", help_text="a batch id")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    task_type = django_filters.ChoiceFilter(choices=[(t, t) for t in REPLAYED_TASK_TYPES])
    regression = django_filters.BooleanFilter()  # strict like every filter: ?regression=maybe is a 400

    class Meta:
        model = ReplayRun
        fields = ["batch", "status", "task_type", "regression"]


class ReplayRunListView(generics.ListAPIView):
    """Runs as replay_run.v1 objects, newest first; filter by batch, status, task type, regression."""

    filterset_class = ReplayRunFilterSet
    serializer_class = ReplayRunSerializer  # the shape, for the schema; selectors.run_as_dict renders it

    def get_queryset(self):
        return selectors.run_list()

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([selectors.run_as_dict(r) for r in page])


class ReplayRunDetailView(generics.GenericAPIView):
    """One run in full, bundle included."""

    serializer_class = ReplayRunDetailSerializer  # the shape, for the schema; selectors.run_detail renders it

    def get_queryset(self):
        return ReplayRun.objects.all()

    def get(self, request: Request, run_id: str) -> Response:
        return Response(selectors.run_detail(generics.get_object_or_404(self.get_queryset(), pk=run_id)))
