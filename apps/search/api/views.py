from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.openapi import request_example
from apps.search import services
from apps.search.api.serializers import SearchRequestSerializer, SearchResponseSerializer
from apps.workers.search import search_request_from_dict


class WorkerSearchView(APIView):
    @extend_schema(
        summary="Nearest workers to a free-text query, filtered (SPEC §4.3)",
        request=SearchRequestSerializer,
        responses={200: SearchResponseSerializer},
        examples=[
            request_example(
                "forklift in Columbus",
                {"query": "forklift operator, night shift", "k": 5, "filters": {"state": "OH", "city": "Columbus"}, "use_playbook": True},
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = SearchRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        body = services.search_and_log(search_request_from_dict(serializer.validated_data), actor=request.user.get_username())
        return Response(body)
