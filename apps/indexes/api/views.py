from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.openapi import error_responses, request_example
from apps.core.api.permissions import IsOperator
from apps.core.api.serializers import JobAcceptedSerializer, job_accepted
from apps.indexes.api.serializers import IndexJobSerializer, IndexReembedRequestSerializer, VectorIndexSerializer
from apps.indexes import selectors, services
from apps.indexes.models import IndexJob
from apps.indexes.registry import get_spec


def _known(name: str) -> str:
    try:
        get_spec(name)
    except KeyError as exc:
        raise NotFound(str(exc.args[0])) from None
    return name


class IndexListView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(summary="Every vector index with its size and state", responses={200: VectorIndexSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(selectors.list_indexes())


class IndexDetailView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(summary="One vector index", responses={200: VectorIndexSerializer})
    def get(self, request: Request, name: str) -> Response:
        return Response(selectors.describe_index(selectors.get_index(_known(name))))

    @extend_schema(
        summary="Reset an index: drop its rows (for workers only with ?confirm=workers)",
        parameters=[OpenApiParameter("confirm", str, description="the index name; required for workers")],
        responses={200: VectorIndexSerializer, **error_responses(409)},
    )
    def delete(self, request: Request, name: str) -> Response:
        index = services.reset_index(_known(name), confirm=request.query_params.get("confirm"))
        return Response(selectors.describe_index(index))


class IndexRebuildView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        summary="Rebuild the HNSW index in the background", request=None, responses={202: JobAcceptedSerializer, **error_responses(409)}
    )
    def post(self, request: Request, name: str) -> Response:
        job = services.start_rebuild(_known(name), actor=request.user.get_username())
        return job_accepted(job)


class IndexReembedView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        summary="Recompute the index's embeddings with its configured provider, in the background",
        description="`workers` uses EMBEDDING_PROVIDER; `workers_semantic` (the optional semantic column) uses "
        "SEMANTIC_EMBEDDING_PROVIDER and accepts `only_missing`. Poll `GET /api/v1/indexes/jobs/{job_id}/` for progress.",
        request=IndexReembedRequestSerializer,
        responses={202: JobAcceptedSerializer, **error_responses(400, 409)},
        examples=[request_example("only the rows not yet embedded with the current model", {"only_missing": True})],
    )
    def post(self, request: Request, name: str) -> Response:
        serializer = IndexReembedRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.start_reembed(_known(name), actor=request.user.get_username(), only_missing=serializer.validated_data["only_missing"])
        return job_accepted(job)


class IndexJobView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(summary="Poll an index job", responses={200: IndexJobSerializer})
    def get(self, request: Request, job_id: int) -> Response:
        job = IndexJob.objects.select_related("index").filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"No index job {job_id}.")
        return Response(selectors.describe_job(job))
