from django.shortcuts import get_object_or_404
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.permissions import IsCoordinator, IsStaffOrReadOnly
from apps.orders.api.serializers import FillProposalSerializer, JobOrderSerializer
from apps.orders.selectors import order_list
from apps.validation.services import accept_proposal


class JobOrderViewSet(viewsets.ModelViewSet):
    """Job orders: staff create/update/delete, coordinators read. Proposals hang off each order."""

    serializer_class = JobOrderSerializer
    permission_classes = [IsStaffOrReadOnly]
    lookup_field = "order_id"
    filterset_fields = ["status", "city", "state", "role", "shift"]

    def get_queryset(self):
        return order_list()

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user.get_username())

    @action(detail=True, methods=["get"], permission_classes=[IsStaffOrReadOnly])
    def proposals(self, request: Request, order_id: str | None = None) -> Response:
        order = self.get_object()
        page = self.paginate_queryset(order.proposals.select_related("order").order_by("-created_at"))
        return self.get_paginated_response(FillProposalSerializer(page, many=True).data)

    # Coordinators fill orders, so accepting a proposal is theirs to do (a POST they are allowed).
    @action(detail=True, methods=["post"], url_path=r"proposals/(?P<proposal_id>\d+)/accept", permission_classes=[IsCoordinator])
    def accept(self, request: Request, order_id: str | None = None, proposal_id: str | None = None) -> Response:
        order = self.get_object()
        get_object_or_404(order.proposals, pk=proposal_id)
        proposal = accept_proposal(proposal_id=int(proposal_id), actor=request.user.get_username())
        return Response(FillProposalSerializer(proposal).data)
