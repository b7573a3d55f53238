from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.permissions import IsCoordinator, IsStaff
from apps.core.api.serializers import job_accepted
from apps.replay import selectors, services
from apps.replay.api.serializers import ReplayBatchAcceptedSerializer, ReplayBatchRequestSerializer


class ReplayBatchListCreateView(generics.GenericAPIView):
    """Staff launch batches; coordinators read them."""

    def get_permissions(self):
        return [IsStaff()] if self.request.method == "POST" else [IsCoordinator()]

    def get_queryset(self):
        return selectors.batch_list()

    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([selectors.batch_summary(b) for b in page])

    @extend_schema(request=ReplayBatchRequestSerializer, responses={202: ReplayBatchAcceptedSerializer})
    def post(self, request: Request) -> Response:
        serializer = ReplayBatchRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = services.create_batch(**serializer.validated_data, actor=request.user.get_username())
        return job_accepted(batch, batch_id=batch.batch_id)  # batch_id: the old name, kept for one release


class ReplayBatchDetailView(generics.GenericAPIView):
    lookup_url_kwarg = "batch_id"

    def get_queryset(self):
        return selectors.batch_list()

    def get(self, request: Request, batch_id: str) -> Response:
        return Response(selectors.batch_summary(generics.get_object_or_404(self.get_queryset(), pk=batch_id)))


class ReplayRunListView(generics.GenericAPIView):
    @extend_schema(parameters=[OpenApiParameter("batch", str, description="a batch id")])
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.run_list(batch_id=request.query_params.get("batch")))
        return self.get_paginated_response([selectors.run_as_dict(r) for r in page])
