"""`/api/v1/jobs/`: every job of every kind, one detail shape, cancel and retry (staff only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core import selectors, services
from apps.core.api.openapi import error_responses
from apps.core.api.pagination import page_parameters
from apps.core.api.permissions import IsOperator
from apps.core.api.query import StrictQueryForm
from apps.core.api.serializers import JobAcceptedSerializer, JobPageSerializer, JobSerializer, job_accepted
from apps.core.choices import JobStatus
from apps.core.job_kinds import all_job_kinds


class JobQueryForm(StrictQueryForm):
    """`?kind=&status=` of the job list, strict like every list filter (apps.core.api.query)."""

    kind = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=JobStatus.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.name, k.name) for k in all_job_kinds()]


class JobListView(GenericAPIView):
    permission_classes = [IsOperator]
    serializer_class = JobSerializer

    @extend_schema(
        tags=["jobs"],
        operation_id="v1_jobs_list",
        responses={200: JobPageSerializer},
        parameters=[
            OpenApiParameter("kind", str, enum=[k.name for k in all_job_kinds()] or None, description="ingest, index, materialize or replay"),
            OpenApiParameter("status", str, enum=JobStatus.values),
            *page_parameters(),
        ],
    )
    def get(self, request: Request) -> Response:
        query = JobQueryForm(request.query_params)
        if not query.is_valid():
            raise translate_validation(query.errors)
        kind, status_ = query.cleaned_data["kind"] or None, query.cleaned_data["status"] or None
        page_size, page = self.paginator.page_query(request)
        count = selectors.count_jobs(kind=kind, status=status_)
        if page > 1 and (page - 1) * page_size >= count:
            raise NotFound("Invalid page.")  # what DRF's paginator answers past the last page
        jobs = selectors.list_jobs(kind=kind, status=status_, limit=page_size, offset=(page - 1) * page_size)
        base = request.build_absolute_uri(request.path)
        query = {k: v for k, v in request.query_params.items() if k != "page"}

        def link(number: int) -> str:
            from urllib.parse import urlencode

            return f"{base}?{urlencode({**query, 'page': number})}"

        return Response(
            {
                "count": count,
                "next": link(page + 1) if page * page_size < count else None,
                "previous": link(page - 1) if page > 1 else None,
                "results": JobSerializer(jobs, many=True).data,
            }
        )


class JobDetailView(GenericAPIView):
    permission_classes = [IsOperator]
    serializer_class = JobSerializer

    @extend_schema(tags=["jobs"])
    def get(self, request: Request, kind: str, job_id: str) -> Response:
        return Response(JobSerializer(selectors.get_job(kind, job_id)).data)


class JobCancelView(GenericAPIView):
    """Queued: cancelled at once. Running ingest/replay: stops at its next batch boundary (the detail
    shows `cancel_requested` until it has). Running materialize/index: 409 saying why."""

    permission_classes = [IsOperator]
    serializer_class = JobSerializer

    @extend_schema(tags=["jobs"], request=None, responses={200: JobSerializer, **error_responses(409)})
    def post(self, request: Request, kind: str, job_id: str) -> Response:
        job = services.cancel_job(kind=kind, job_id=selectors.get_job(kind, job_id).pk, actor=request.user.get_username())
        return Response(JobSerializer(job).data)


class JobRetryView(GenericAPIView):
    """A failed or cancelled job runs again as a new job whose `retry_of` is this one: 202."""

    permission_classes = [IsOperator]
    serializer_class = serializers.Serializer

    # The 202 is the launch body (job_accepted), like every other launch: poll the new job_id.
    @extend_schema(tags=["jobs"], request=None, responses={202: JobAcceptedSerializer, **error_responses(409)})
    def post(self, request: Request, kind: str, job_id: str) -> Response:
        job = services.retry_job(kind=kind, job_id=selectors.get_job(kind, job_id).pk, actor=request.user.get_username())
        return job_accepted(job)
