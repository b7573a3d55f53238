import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.filtersets import StrictFilterSet
from apps.playbooks import selectors, services
from apps.core.api.openapi import request_example
from apps.playbooks.api.serializers import PlaybookSerializer, RecordedPlaybookSerializer, RecordPlaybookSerializer
from apps.playbooks.choices import Outcome
from apps.playbooks.models import Playbook


class PlaybookFilterSet(StrictFilterSet):
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)
    order_id = django_filters.CharFilter(field_name="order__order_id")
    worker_id = django_filters.CharFilter(method="filter_worker")
    created_by = django_filters.CharFilter()

    class Meta:
        model = Playbook
        fields = ["outcome", "order_id", "worker_id", "created_by"]

    def filter_worker(self, queryset, name, value):
        return queryset.filter(worker_ids__contains=[value])


class RecordPlaybookView(APIView):
    @extend_schema(
        summary="Store a fill in the playbook memory (SPEC §4.6)",
        request=RecordPlaybookSerializer,
        responses={201: RecordedPlaybookSerializer},
        examples=[
            request_example(
                "an accepted fill",
                {"query": "forklift operator, night shift", "filters": {"state": "OH"}, "worker_ids": ["W-000001"], "outcome": "filled"},
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = RecordPlaybookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        body = services.record_playbook(
            query=data["query"], worker_ids=data["worker_ids"], outcome=data["outcome"], filters=data["filters"],
            order_id=data.get("order_id"), actor=request.user.get_username(),
        )
        return Response(body, status=status.HTTP_201_CREATED)


class PlaybookListView(generics.ListAPIView):
    serializer_class = PlaybookSerializer
    filterset_class = PlaybookFilterSet

    def get_queryset(self):
        return selectors.playbook_list()


class PlaybookDetailView(generics.RetrieveAPIView):
    serializer_class = PlaybookSerializer

    def get_queryset(self):
        return selectors.playbook_list()
