from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.openapi import error_responses, request_example
from apps.core.api.parsers import BoundedJSONParser
from apps.core.api.pagination import page_parameters
from apps.core.api.permissions import IsCoordinator, IsOperator, IsOperatorOrReadOnly
from apps.core.api.serializers import JobAcceptedSerializer, job_accepted
from apps.orders import selectors, services
from apps.orders.api.filtersets import DoNotAssignFilterSet
from apps.orders.api.serializers import (
    AssignmentEndRequestSerializer, AssignmentEndSerializer, DecisionNoteSerializer, DoNotAssignRequestSerializer,
    DoNotAssignSerializer, FillProposalSerializer, JobOrderSerializer, OrderDecisionSerializer, OrderImportRequestSerializer,
    OrderImportTextSerializer, OrderImportUploadSerializer, ProposalRequestSerializer,
)

_PROPOSAL_ID = r"(?P<proposal_id>\d+)"
_WORKER_ID = r"(?P<worker_id>[^/]+)"

def _page(name: str, item: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of a paginated list an action returns (the viewset's own lists get theirs from DRF)."""
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


PROPOSAL_PAGE = _page("PaginatedFillProposalList", FillProposalSerializer)
HISTORY_PAGE = _page("PaginatedOrderDecisionList", OrderDecisionSerializer)
NOTE_EXAMPLE = request_example("why", {"note": "client confirmed by phone"})


def _note(request: Request) -> str:
    serializer = DecisionNoteSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data.get("note", "")


ORDER_EXAMPLE = {
    "order_id": "ORD-2026-0001", "client": "Acme Logistics", "city": "Columbus", "state": "OH", "site_zip": "43215",
    "role": "forklift_operator", "headcount": 2, "shift": "night", "start_date": "2026-12-07",
    "required_certifications": ["Forklift"],
}

CLOSED_ORDER_NOTE = (
    "A cancelled order is closed: changing it is a 400 with code `order_closed` (the reason under `fields.status`) "
    "and nothing is written. `role` is the vocabulary's slug, e.g. `forklift_operator`."
)


@extend_schema_view(
    list=extend_schema(summary="Job orders, filtered"),
    retrieve=extend_schema(summary="One job order"),
    create=extend_schema(summary="Create a job order (operators)", examples=[request_example("an order", ORDER_EXAMPLE)]),
    update=extend_schema(
        summary="Replace a job order's fields (operators)", description=CLOSED_ORDER_NOTE, examples=[request_example("an order", ORDER_EXAMPLE)],
    ),
    partial_update=extend_schema(
        summary="Change some of a job order's fields (operators)", description=CLOSED_ORDER_NOTE,
        examples=[request_example("more workers", {"headcount": 3})],
    ),
    destroy=extend_schema(summary="Delete a job order and its proposals (operators)"),
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

    @extend_schema(
        summary="Cancel an order; its open proposals are rejected (operators)",
        request=DecisionNoteSerializer,
        responses={200: JobOrderSerializer, **error_responses(409)},
        examples=[NOTE_EXAMPLE],
    )
    @action(detail=True, methods=["post"], permission_classes=[IsOperator])
    def cancel(self, request: Request, order_id: str | None = None) -> Response:
        order = services.order_cancel(order_id=self.get_object().order_id, actor=request.user.get_username(), note=_note(request))
        return Response(JobOrderSerializer(order).data)

    @extend_schema(
        summary="The order's history: every decision on it, newest first",
        request=None,
        responses={200: HISTORY_PAGE},
        parameters=page_parameters(),
    )
    @action(detail=True, methods=["get"], permission_classes=[IsCoordinator])
    def history(self, request: Request, order_id: str | None = None) -> Response:
        page = self.paginate_queryset(selectors.order_history(self.get_object().order_id))
        return self.get_paginated_response(OrderDecisionSerializer(page, many=True).data)

    @extend_schema(methods=["GET"], summary="The order's proposals, newest first", request=None, responses={200: PROPOSAL_PAGE})
    @extend_schema(
        methods=["POST"],
        summary="Propose workers for the order's open seats; a failing verdict is a 400 and writes nothing",
        request=ProposalRequestSerializer,
        responses={201: FillProposalSerializer, **error_responses(409)},
        examples=[request_example("two workers", {"worker_ids": ["W-000001", "W-000002"], "note": "both worked this site in October"})],
    )
    @action(detail=True, methods=["get", "post"], permission_classes=[IsCoordinator])
    def proposals(self, request: Request, order_id: str | None = None) -> Response:
        order = self.get_object()
        if request.method == "POST":
            serializer = ProposalRequestSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            proposal = services.proposal_create(
                order_id=order.order_id, worker_ids=serializer.validated_data["worker_ids"], actor=request.user.get_username(),
                note=serializer.validated_data.get("note", ""),
            )
            return Response(FillProposalSerializer(proposal).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(selectors.proposal_list(order))
        return self.get_paginated_response(FillProposalSerializer(page, many=True).data)

    @extend_schema(
        summary="Accept a proposal: re-validated (409 when something changed), recorded as a playbook",
        request=DecisionNoteSerializer,
        responses={200: FillProposalSerializer, **error_responses(409)},
        examples=[NOTE_EXAMPLE],
    )
    @action(detail=True, methods=["post"], url_path=rf"proposals/{_PROPOSAL_ID}/accept", permission_classes=[IsCoordinator])
    def accept(self, request: Request, order_id: str | None = None, proposal_id: str | None = None) -> Response:
        proposal = services.proposal_accept(
            order_id=self.get_object().order_id, proposal_id=int(proposal_id), actor=request.user.get_username(), note=_note(request)
        )
        return Response(FillProposalSerializer(proposal).data)

    @extend_schema(
        summary="Reject a proposal", request=DecisionNoteSerializer, responses={200: FillProposalSerializer, **error_responses(409)},
        examples=[request_example("why", {"note": "the client asked for workers with night experience"})],
    )
    @action(detail=True, methods=["post"], url_path=rf"proposals/{_PROPOSAL_ID}/reject", permission_classes=[IsCoordinator])
    def reject(self, request: Request, order_id: str | None = None, proposal_id: str | None = None) -> Response:
        proposal = services.proposal_reject(
            order_id=self.get_object().order_id, proposal_id=int(proposal_id), actor=request.user.get_username(), note=_note(request)
        )
        return Response(FillProposalSerializer(proposal).data)

    @extend_schema(
        request={"application/json": OrderImportTextSerializer, "multipart/form-data": OrderImportUploadSerializer},
        responses={202: JobAcceptedSerializer},
    )
    @action(
        detail=False, methods=["post"], url_path="import", url_name="import", permission_classes=[IsOperator],
        parser_classes=[BoundedJSONParser, MultiPartParser],
    )
    def import_orders(self, request: Request) -> Response:
        """Import orders from a CSV as a job of kind `orders`; poll `GET /api/v1/jobs/orders/{job_id}/`."""
        serializer = OrderImportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = services.create_order_import_job(csv_text=data["csv"], source_name=data.get("source_name", ""), actor=request.user.get_username())
        return job_accepted(job)

    @extend_schema(
        request=AssignmentEndRequestSerializer,
        responses={200: AssignmentEndSerializer},
        examples=[request_example("a no-show", {"reason": "no_show", "note": "did not answer two calls"})],
    )
    @action(detail=True, methods=["post"], url_path=rf"assignments/{_WORKER_ID}/end", permission_classes=[IsCoordinator])
    def end_assignment(self, request: Request, order_id: str | None = None, worker_id: str | None = None) -> Response:
        serializer = AssignmentEndRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ended = services.assignment_end(
            order_id=self.get_object().order_id, worker_id=worker_id, reason=serializer.validated_data["reason"],
            actor=request.user.get_username(), note=serializer.validated_data.get("note", ""),
        )
        return Response(AssignmentEndSerializer(ended).data)


class DoNotAssignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Clients' do-not-assign lists (SPEC §3.2a): operators add and remove entries, coordinators read."""

    serializer_class = DoNotAssignSerializer
    permission_classes = [IsOperatorOrReadOnly]
    filterset_class = DoNotAssignFilterSet

    def get_queryset(self):
        return selectors.do_not_assign_list()

    @extend_schema(
        request=DoNotAssignRequestSerializer,
        responses={201: DoNotAssignSerializer, **error_responses(409)},
        examples=[request_example("a client's ban", {"client": "Acme Logistics", "worker_id": "W-000001", "reason": "no-call no-show twice"})],
    )
    def create(self, request: Request) -> Response:
        serializer = DoNotAssignRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.do_not_assign_add(**serializer.validated_data, actor=request.user.get_username())
        return Response(DoNotAssignSerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.do_not_assign_remove(entry_id=self.get_object().pk, actor=request.user.get_username())
        return Response(status=status.HTTP_204_NO_CONTENT)
