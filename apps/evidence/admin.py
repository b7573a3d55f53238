"""Operators' console for the evidence app: evidence records (read-only inspection), materialize
runs with their receipts, and a "Materialize now" button that queues a run on the Celery worker — the
admin never runs one inline. (The interaction log's admin is apps.interactions.admin.)"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.conf import settings
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.core.admin import JobAdmin, InspectionAdmin
from apps.core.admin_display import alert, kv_table, link_by_key, link_to, records_table, short_time, status_badge
from apps.core.errors import DomainError, InvalidInput
from apps.core.roles import is_operator
from apps.evidence import registry, selectors, services, transforms
from apps.evidence.choices import SourceKind
from apps.evidence.models import EvidenceRecord, InboxFile, MaterializeRun, RetentionRun
from apps.interactions.models import Interaction


@admin.register(MaterializeRun)
class MaterializeRunAdmin(JobAdmin):
    change_list_template = "admin/evidence/materializerun/change_list.html"
    list_display = ("run_id", "status_display", "progress_display", "mode", "finished", "records_written", "errors_count")
    list_filter = ("status", "mode")
    search_fields = ("=run_id", "created_by")
    search_help_text = "Run id (exact) or who started it."
    fields = (
        "run_id", "status_display", "progress_display", "mode", "created_by", "created_at", "started_at", "finished_at", "heartbeat_at",
        "attempts", "retry_of", "error", "receipt_table",
    )
    readonly_fields = fields

    @admin.display(description="finished", ordering="finished_at")
    def finished(self, obj: MaterializeRun) -> str:
        return short_time(obj.finished_at)

    @admin.display(description="receipt (materialize_receipt.v1)")
    def receipt_table(self, obj: MaterializeRun) -> str:
        return kv_table(selectors.receipt(obj))

    # ------------------------------------------------------------------ "Materialize now"

    def has_materialize_permission(self, request: HttpRequest) -> bool:
        # Starting a run is what "adding" a run means, even though the add form itself is hidden.
        return request.user.has_perm("evidence.add_materializerun")

    def get_urls(self):
        custom = [
            path(
                "materialize/",
                self.admin_site.admin_view(self.materialize_view),
                name="evidence_materializerun_materialize",
            )
        ]
        return custom + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "has_materialize_permission": self.has_materialize_permission(request)}
        return super().changelist_view(request, extra_context)

    def materialize_view(self, request: HttpRequest) -> HttpResponse:
        """GET: a small form (optional day / rebuild day); POST: queue the run and go back to the list."""
        if not self.has_materialize_permission(request):
            raise PermissionDenied
        changelist = reverse("admin:evidence_materializerun_changelist")
        if request.method != "POST":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Materialize now",
                "kb_dir": settings.KB_DIR,
                "running": services.running_materialize_run(),
            }
            return TemplateResponse(request, "admin/evidence/materializerun/materialize.html", context)
        try:
            day = _date_or_none(request.POST.get("day"), "Day")
            rebuild_day = _date_or_none(request.POST.get("rebuild_day"), "Rebuild day")
            run = services.start_materialize_run(day=day, rebuild_day=rebuild_day, actor=request.user.get_username())
        except DomainError as exc:
            self.message_user(request, f"Not queued: {exc}", level=messages.ERROR)
            return HttpResponseRedirect(changelist)
        # Admin URLs carry quoted primary keys ("_40" in a run id would otherwise read as "@").
        url = reverse("admin:evidence_materializerun_change", args=[quote(run.run_id)])
        self.message_user(request, format_html('Materialize run <a href="{}">{}</a> queued.', url, run.run_id), level=messages.SUCCESS)
        return HttpResponseRedirect(url)  # the run's page follows it live


def _date_or_none(raw: str | None, label: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{label} {raw!r} is not a date (YYYY-MM-DD).") from None


class _ChoicesFilter(admin.SimpleListFilter):
    """A filter over a fixed vocabulary (the transform registry), instead of Django's default
    SELECT DISTINCT over the whole table on every page load."""

    values: list[str] = []

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(value, value) for value in self.values]

    def queryset(self, request: HttpRequest, queryset):
        value = self.value()
        return queryset.filter(**{self.parameter_name: value}) if value else queryset


class TransformFilter(_ChoicesFilter):
    title = "transform"
    parameter_name = "transform"
    values = [t.name for t in transforms.REGISTRY.values() if not t.is_enrichment]


class TaskTypeFilter(_ChoicesFilter):
    title = "task type"
    parameter_name = "task_type"
    values = sorted({t.task_type for t in transforms.REGISTRY.values() if t.task_type})


@admin.register(EvidenceRecord)
class EvidenceRecordAdmin(InspectionAdmin):
    list_display = ("evidence_id", "day", "transform", "task_type", "verdict_ok", "source_kind", "model")
    list_filter = ("day", TaskTypeFilter, TransformFilter, "verdict_ok", "source_kind")
    date_hierarchy = "day"
    search_fields = ("=evidence_id", "=source_id")
    search_help_text = "Evidence id (ev_…) or source id (an interaction id, chat log id or replay run id), exact."
    fields = (
        "evidence_id", "day", "occurred_at", "transform", "task_type", "verdict_ok", "source_kind", "source_link", "run_link",
        "replays", "input_table", "output_table", "verdict_table", "metadata_table",
    )
    readonly_fields = fields

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """Django's actions plus those other apps registered (apps.evidence.registry), for users they allow."""
        actions = super().get_actions(request)
        for registered in registry.record_actions():
            if registered.allowed(request):
                description = getattr(registered.action, "short_description", registered.name.replace("_", " "))
                actions[registered.name] = (registered.action, registered.name, description)
        return actions

    @admin.display(description="source")
    def source_link(self, obj: EvidenceRecord) -> str:
        # Where it came from, as a link: the interaction, or the replay run (a chat log line has no page).
        if obj.source_kind == SourceKind.INTERACTION:
            try:
                return link_by_key(Interaction, uuid.UUID(obj.source_id), field="pk", text=obj.source_id)
            except ValueError:
                return obj.source_id
        if obj.source_kind == SourceKind.REPLAY_RUN:
            return link_by_key(apps.get_model("replay", "ReplayRun"), obj.source_id, field="pk")
        return obj.source_id

    @admin.display(description="materialize run")
    def run_link(self, obj: EvidenceRecord) -> str:
        return link_to(obj.run, obj.run_id) if obj.run_id else "—"

    @admin.display(description="replayed in")
    def replays(self, obj: EvidenceRecord) -> str:
        # The replay app reads evidence, not the other way round: resolve its model by name.
        runs = apps.get_model("replay", "ReplayRun").objects.filter(evidence_id=obj.evidence_id).order_by("-started_at")
        rows = [{"run": link_to(run), "batch": link_to(run.batch), "status": status_badge(run.status), "regression": alert("REGRESSION") if run.regression else "—"}
                for run in runs.select_related("batch").only("run_id", "status", "regression", "started_at", "batch__batch_id")[:20]]
        return records_table(rows)

    @admin.display(description="input")
    def input_table(self, obj: EvidenceRecord) -> str:
        return kv_table(obj.input)

    @admin.display(description="output")
    def output_table(self, obj: EvidenceRecord) -> str:
        return kv_table(obj.output)

    @admin.display(description="verdict")
    def verdict_table(self, obj: EvidenceRecord) -> str:
        return kv_table(obj.verdict)

    @admin.display(description="labels and metadata")
    def metadata_table(self, obj: EvidenceRecord) -> str:
        return kv_table({"labels": obj.labels, "metadata": obj.metadata, "tokens": {"prompt": obj.prompt_tokens, "completion": obj.completion_tokens}, "latency_ms": obj.latency_ms})


@admin.register(InboxFile)
class InboxFileAdmin(InspectionAdmin):
    list_display = ("name", "short_sha256", "lines", "records_written", "duplicates_skipped", "errors_count", "processed_at", "run")
    search_fields = ("name", "=sha256")
    search_help_text = "File name (contains) or its full sha256."

    @admin.display(description="sha256")
    def short_sha256(self, obj: InboxFile) -> str:
        return obj.sha256[:12]
    list_select_related = ("run",)


@admin.register(RetentionRun)
class RetentionRunAdmin(JobAdmin):
    list_display = ("id", "status_display", "progress_display", "deleted", "kept", "archived", "finished_at")
    list_filter = ("status",)

    @admin.display(description="interactions deleted", ordering="interactions_deleted")
    def deleted(self, obj: RetentionRun) -> int:
        return obj.interactions_deleted

    @admin.display(description="kept (no evidence)", ordering="interactions_kept")
    def kept(self, obj: RetentionRun) -> int:
        return obj.interactions_kept

    @admin.display(description="playbooks archived", ordering="playbooks_archived")
    def archived(self, obj: RetentionRun) -> int:
        return obj.playbooks_archived
