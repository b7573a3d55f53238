from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.search import services
from apps.search.api.serializers import SearchRequestSerializer
from apps.workers.search import search_request_from_dict


class WorkerSearchView(APIView):
    @extend_schema(request=SearchRequestSerializer)
    def post(self, request: Request) -> Response:
        serializer = SearchRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        body = services.search_and_log(search_request_from_dict(serializer.validated_data), actor=request.user.get_username())
        return Response(body)
