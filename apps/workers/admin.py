"""Console for the worker corpus and its ingest jobs; ingest is launched here and runs in the worker."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.core.admin import JobAdmin
from apps.core.roles import is_operator
from apps.core.errors import DomainError
from apps.workers import services
from apps.workers.models import IngestJob, Worker


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ["worker_id", "first_name", "last_name", "role", "city", "state", "status", "sms_opt_out", "reliability", "updated_at"]
    list_filter = ["status", "state", "role", "sms_opt_out", "city"]
    search_fields = ["worker_id", "first_name", "last_name", "email", "phone"]
    exclude = ["embedding"]
    readonly_fields = ["embedding_model", "content_hash", "raw", "created_at", "updated_at"]
    show_full_result_count = False  # 100k rows: skip the extra COUNT(*)
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).defer("embedding", "raw")


class IngestForm(forms.Form):
    path = forms.CharField(required=False, help_text="a file on the server, inside INGEST_DIRS")
    file = forms.FileField(required=False, help_text="or upload a file")
    format = forms.ChoiceField(required=False, choices=[("", "by extension"), ("csv", "CSV"), ("parquet", "Parquet"), ("jsonl", "JSON Lines")])
    drop = forms.BooleanField(required=False, help_text="empty the workers index first")
    limit = forms.IntegerField(required=False, min_value=1)

    def clean(self):
        data = super().clean()
        if bool(data.get("path")) == bool(data.get("file")):
            raise forms.ValidationError("Give exactly one of a server path or an upload.")
        return data


@admin.register(IngestJob)
class IngestJobAdmin(JobAdmin):
    deletable = True
    list_display = ["id", "source_name", "format", "status_display", "progress_display", "rows_read", "rows_written", "rows_unchanged", "rows_rejected", "rows_per_s", "created_at"]
    list_filter = ["status", "format"]
    readonly_fields = [f.name for f in IngestJob._meta.fields if f.name not in ("errors", "warnings", "timings")] + ["errors_table", "warnings_table", "timings_pretty"]
    exclude = ["errors", "warnings", "timings"]
    change_list_template = "admin/workers/ingestjob/change_list.html"

    @admin.display(description="source")
    def source_name(self, obj: IngestJob) -> str:
        return obj.source.rsplit("/", 1)[-1]

    @admin.display(description="errors (first 1,000)")
    def errors_table(self, obj: IngestJob) -> str:
        return _rows_table(obj.errors)

    @admin.display(description="warnings (first 1,000)")
    def warnings_table(self, obj: IngestJob) -> str:
        return _rows_table(obj.warnings)

    @admin.display(description="timings")
    def timings_pretty(self, obj: IngestJob) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.timings, indent=2))

    def get_urls(self):
        return [path("launch/", self.admin_site.admin_view(self.launch_view), name="workers_ingestjob_launch")] + super().get_urls()

    def launch_view(self, request):
        if not is_operator(request.user):
            return HttpResponseRedirect(reverse("admin:index"))
        form = IngestForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                source = services.save_upload(data["file"]) if data.get("file") else services.resolve_ingest_path(data["path"])
                job = services.create_ingest_job(
                    path=source, fmt=data.get("format") or None, drop=data["drop"], limit=data.get("limit"), actor=request.user.get_username()
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Ingest job {job.pk} queued; it runs in the Celery worker.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:workers_ingestjob_change", args=[job.pk]))
        context = {**self.admin_site.each_context(request), "title": "Ingest a worker file", "form": form, "opts": self.model._meta}
        return TemplateResponse(request, "admin/workers/ingest_launch.html", context)


def _rows_table(rows: list[dict]) -> str:
    if not rows:
        return "—"
    body = format_html_join(
        "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", ((r.get("line"), r.get("worker_id") or "—", r.get("reason")) for r in rows[:1000])
    )
    return format_html("<table><tr><th>line</th><th>worker_id</th><th>reason</th></tr>{}</table>", body)
