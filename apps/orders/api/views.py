from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.permissions import IsCoordinator, IsOperator, IsOperatorOrReadOnly
from apps.orders import selectors, services
from apps.orders.api.serializers import FillProposalSerializer, JobOrderSerializer, ProposalRequestSerializer

_PROPOSAL_ID = r"(?P<proposal_id>\d+)"

PROPOSAL_PAGE = inline_serializer(
    "PaginatedFillProposalList",
    {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": FillProposalSerializer(many=True),
    },
)


class JobOrderViewSet(viewsets.ModelViewSet):
    """Job orders: operators create, change and cancel them, coordinators read them and fill them
    through proposals (SPEC §3.2, §4.8a)."""

    serializer_class = JobOrderSerializer
    permission_classes = [IsOperatorOrReadOnly]
    lookup_field = "order_id"
    lookup_value_regex = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
    filterset_fields = ["status", "city", "state", "role", "shift"]

    def get_queryset(self):
        return selectors.order_list()

    def perform_create(self, serializer) -> None:
        serializer.save(actor=self.request.user.get_username())

    @extend_schema(request=None, responses={200: JobOrderSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsOperator])
    def cancel(self, request: Request, order_id: str | None = None) -> Response:
        order = services.order_cancel(order_id=self.get_object().order_id, actor=request.user.get_username())
        return Response(JobOrderSerializer(order).data)

    @extend_schema(methods=["GET"], request=None, responses={200: PROPOSAL_PAGE})
    @extend_schema(
        methods=["POST"],
        request=ProposalRequestSerializer,
        responses={201: FillProposalSerializer},
        examples=[OpenApiExample("two workers", value={"worker_ids": ["W-000001", "W-000002"]}, request_only=True)],
    )
    @action(detail=True, methods=["get", "post"], permission_classes=[IsCoordinator])
    def proposals(self, request: Request, order_id: str | None = None) -> Response:
        order = self.get_object()
        if request.method == "POST":
            serializer = ProposalRequestSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            proposal = services.proposal_create(
                order_id=order.order_id, worker_ids=serializer.validated_data["worker_ids"], actor=request.user.get_username()
            )
            return Response(FillProposalSerializer(proposal).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(selectors.proposal_list(order))
        return self.get_paginated_response(FillProposalSerializer(page, many=True).data)

    @extend_schema(request=None, responses={200: FillProposalSerializer})
    @action(detail=True, methods=["post"], url_path=rf"proposals/{_PROPOSAL_ID}/accept", permission_classes=[IsCoordinator])
    def accept(self, request: Request, order_id: str | None = None, proposal_id: str | None = None) -> Response:
        proposal = services.proposal_accept(
            order_id=self.get_object().order_id, proposal_id=int(proposal_id), actor=request.user.get_username()
        )
        return Response(FillProposalSerializer(proposal).data)

    @extend_schema(request=None, responses={200: FillProposalSerializer})
    @action(detail=True, methods=["post"], url_path=rf"proposals/{_PROPOSAL_ID}/reject", permission_classes=[IsCoordinator])
    def reject(self, request: Request, order_id: str | None = None, proposal_id: str | None = None) -> Response:
        proposal = services.proposal_reject(
            order_id=self.get_object().order_id, proposal_id=int(proposal_id), actor=request.user.get_username()
        )
        return Response(FillProposalSerializer(proposal).data)
