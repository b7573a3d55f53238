"""Console for the worker corpus and its ingest jobs; ingest is launched here and runs in the worker."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.core.admin import JobAdmin
from apps.core.admin_display import kv_table
from apps.core.errors import DomainError
from apps.core.roles import is_operator
from apps.workers import services
from apps.workers.models import IngestJob, Worker


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ["worker_id", "name", "role", "city", "state", "status", "sms_opt_out", "reliability"]
    list_filter = ["status", "state", "role", "sms_opt_out", "city"]
    search_fields = ["worker_id", "first_name", "last_name", "email", "phone"]
    search_help_text = "Worker id (W-…), first or last name, email or phone (contains)."
    exclude = ["embedding", "raw"]
    readonly_fields = ["embedding_model", "content_hash", "raw_table", "created_at", "updated_at"]
    show_full_result_count = False  # 100k rows: skip the extra COUNT(*)
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).defer("embedding", "raw")

    @admin.display(description="raw row (as ingested)")
    def raw_table(self, obj: Worker) -> str:
        return kv_table(obj.raw)

    @admin.display(description="name", ordering="last_name")
    def name(self, obj: Worker) -> str:
        return f"{obj.first_name} {obj.last_name}"


DROP_CONFIRMATION = "workers"  # what the operator types to empty the corpus (the index reset asks the same)


class IngestForm(forms.Form):
    path = forms.CharField(required=False, help_text="a file on the server, inside INGEST_DIRS")
    file = forms.FileField(required=False, help_text="or upload a file")
    format = forms.ChoiceField(required=False, choices=[("", "by extension"), ("csv", "CSV"), ("parquet", "Parquet"), ("jsonl", "JSON Lines")])
    drop = forms.BooleanField(required=False, label="Drop first", help_text="delete EVERY worker before ingesting this file")
    confirm_drop = forms.CharField(required=False, label="Type to confirm the drop")
    limit = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, workers_in_corpus: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.workers_in_corpus = workers_in_corpus
        self.fields["confirm_drop"].help_text = (
            f"only with Drop first: type {DROP_CONFIRMATION} to delete all {workers_in_corpus:,} workers now in the corpus"
        )

    def clean(self):
        data = super().clean()
        if bool(data.get("path")) == bool(data.get("file")):
            raise forms.ValidationError("Give exactly one of a server path or an upload.")
        # Dropping is the one irreversible step here: it asks for the word, and says what it costs.
        if data.get("drop") and (data.get("confirm_drop") or "").strip() != DROP_CONFIRMATION:
            self.add_error(
                "confirm_drop",
                f"Drop first deletes all {self.workers_in_corpus:,} workers now in the corpus. "
                f"Type {DROP_CONFIRMATION} to confirm, or untick Drop first.",
            )
        return data


@admin.register(IngestJob)
class IngestJobAdmin(JobAdmin):
    deletable = True
    list_display = ["id", "source_name", "status_display", "progress_display", "rows_display", "rows_per_s", "created_at"]
    list_filter = ["status", "format"]
    readonly_fields = [f.name for f in IngestJob._meta.fields if f.name not in ("errors", "warnings", "timings")] + ["errors_table", "warnings_table", "timings_pretty"]
    exclude = ["errors", "warnings", "timings"]
    change_list_template = "admin/workers/ingestjob/change_list.html"

    @admin.display(description="rows read / written / rejected")
    def rows_display(self, obj: IngestJob) -> str:
        return f"{obj.rows_read:,} / {obj.rows_written:,} / {obj.rows_rejected:,}"

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
        return kv_table(obj.timings)

    def get_urls(self):
        return [path("launch/", self.admin_site.admin_view(self.launch_view), name="workers_ingestjob_launch")] + super().get_urls()

    def launch_view(self, request):
        if not is_operator(request.user):
            return HttpResponseRedirect(reverse("admin:index"))
        form = IngestForm(request.POST or None, request.FILES or None, workers_in_corpus=Worker.objects.count())
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
                url = reverse("admin:workers_ingestjob_change", args=[job.pk])
                self.message_user(request, format_html('Ingest job <a href="{}">{}</a> queued; it runs in the Celery worker.', url, job.pk), messages.SUCCESS)
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
