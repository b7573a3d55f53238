from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.errors import PayloadTooLarge
from apps.core.api.openapi import request_example
from apps.core.api.parsers import BoundedJSONParser
from apps.core.api.permissions import IsOperator
from apps.core.api.serializers import JobAcceptedSerializer, job_accepted
from apps.workers import selectors, services
from apps.workers.api.filtersets import IngestJobFilterSet, WorkerFilterSet
from apps.workers.api.serializers import (
    IngestFromPathSerializer, IngestJobSerializer, IngestRequestSerializer, IngestUploadSerializer, WorkerSerializer,
)
from apps.workers.models import IngestJob


class WorkerListView(generics.ListAPIView):
    serializer_class = WorkerSerializer
    filterset_class = WorkerFilterSet

    def get_queryset(self):
        return selectors.worker_list()


class WorkerDetailView(generics.RetrieveAPIView):
    serializer_class = WorkerSerializer
    lookup_field = "worker_id"
    lookup_url_kwarg = "worker_id"

    def get_queryset(self):
        return selectors.worker_list()


class IngestListCreateView(generics.ListAPIView):
    permission_classes = [IsOperator]
    serializer_class = IngestJobSerializer
    filterset_class = IngestJobFilterSet
    # The one endpoint that takes an upload: a server path as JSON, or a file as multipart.
    parser_classes = [BoundedJSONParser, MultiPartParser]
    queryset = IngestJob.objects.order_by("-created_at")

    @extend_schema(
        summary="Ingest workers from a server path or an uploaded file, in the background (SPEC §4.1)",
        request={"application/json": IngestFromPathSerializer, "multipart/form-data": IngestUploadSerializer},
        responses={202: JobAcceptedSerializer},
        examples=[request_example("a file on the server", {"path": "workers.csv", "format": "csv", "limit": 1000})],
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is not None and upload.size > settings.INGEST_MAX_UPLOAD_MB * 1024 * 1024:
            raise PayloadTooLarge(f"The upload is {upload.size} bytes; the limit is {settings.INGEST_MAX_UPLOAD_MB} MB.")
        serializer = IngestRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        options = {"fmt": data.get("format"), "drop": data["drop"], "limit": data.get("limit"), "actor": request.user.get_username()}
        if upload is not None:
            job = services.create_upload_ingest_job(upload=upload, **options)
        else:
            job = services.create_ingest_job(path=services.resolve_ingest_path(data["path"]), **options)
        return job_accepted(job)


class IngestDetailView(generics.RetrieveAPIView):
    permission_classes = [IsOperator]
    serializer_class = IngestJobSerializer
    queryset = IngestJob.objects.all()
    lookup_url_kwarg = "job_id"
