from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics

from apps.core.api.permissions import IsOperator
from apps.interactions import selectors
from apps.interactions.api.filtersets import InteractionFilterSet
from apps.interactions.api.serializers import InteractionSerializer
from apps.interactions.services import drain_interaction_queue


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

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            # The id a response just returned may still be in the log's queue: land it, then read it.
            if selectors.interaction_kind(self.kwargs[self.lookup_url_kwarg]) is None:
                raise
            drain_interaction_queue()
            return super().get_object()
