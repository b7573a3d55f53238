from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.roles import role_of
from apps.core.selectors import check_health


class WhoAmIView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "WhoAmI", {"username": serializers.CharField(), "role": serializers.ChoiceField(choices=["coordinator", "operator"]), "is_staff": serializers.BooleanField()}
        )
    )
    def get(self, request: Request) -> Response:
        user = request.user
        return Response({"username": user.get_username(), "role": role_of(user), "is_staff": user.is_staff})


def healthz(request: HttpRequest) -> JsonResponse:
    """Public liveness/readiness: 200 when database, pgvector, Redis and ≥ 1 Celery worker are up."""
    report = check_health()
    return JsonResponse(report, status=200 if not report["down"] else 503)
