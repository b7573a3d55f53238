from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics

from apps.core.api.permissions import IsOperator
from apps.interactions import selectors
from apps.interactions.api.filtersets import InteractionFilterSet
from apps.interactions.api.serializers import InteractionSerializer


@extend_schema(summary="The interaction log, newest first (filters: kind, actor, day, order, worker)")
class InteractionListView(generics.ListAPIView):
    permission_classes = [IsOperator]
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilterSet

    def get_queryset(self):
        return selectors.interaction_list()


@extend_schema(summary="One interaction: the id a workflow response returned")
class InteractionDetailView(generics.RetrieveAPIView):
    permission_classes = [IsOperator]
    serializer_class = InteractionSerializer
    lookup_url_kwarg = "interaction_id"

    def get_queryset(self):
        return selectors.interaction_list()
