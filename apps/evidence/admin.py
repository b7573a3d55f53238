"""Operators' console for the evidence app: evidence records (read-only inspection), materialize
runs with their receipts, and a "Materialize now" button that queues a run on the Celery worker — the
admin never runs one inline. (The interaction log's admin is apps.interactions.admin.)"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.admin import InspectionAdmin, JobAdmin
from apps.core.errors import DomainError, InvalidInput
from apps.core.roles import is_operator
from apps.evidence import registry, selectors, services, transforms
from apps.evidence.models import EvidenceRecord, InboxFile, MaterializeRun


def _pretty(value: Any) -> str:
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str))


@admin.register(MaterializeRun)
class MaterializeRunAdmin(JobAdmin):
    change_list_template = "admin/evidence/materializerun/change_list.html"
    list_display = (
        "run_id", "status_display", "progress_display", "mode", "created_by", "started_at", "finished_at", "records_written", "duplicates_skipped",
        "errors_count",
    )
    list_filter = ("status", "mode")
    search_fields = ("=run_id",)
    fields = (
        "run_id", "status", "progress", "mode", "created_by", "created_at", "started_at", "finished_at", "heartbeat_at", "attempts",
        "retry_of", "error", "receipt_pretty",
    )
    readonly_fields = fields

    @admin.display(description="receipt (materialize_receipt.v1)")
    def receipt_pretty(self, obj: MaterializeRun) -> str:
        return _pretty(selectors.receipt(obj))

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
        return HttpResponseRedirect(changelist)


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
    list_display = ("evidence_id", "day", "transform", "task_type", "verdict_ok", "source_kind", "occurred_at", "model")
    list_filter = ("day", TaskTypeFilter, TransformFilter, "verdict_ok", "source_kind")
    date_hierarchy = "day"
    search_fields = ("=evidence_id", "=source_id")
    fields = ("evidence_id", "day", "transform", "task_type", "verdict_ok", "source_kind", "source_id", "run", "record_pretty")
    readonly_fields = fields

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """Django's actions plus those other apps registered (apps.evidence.registry), for users they allow."""
        actions = super().get_actions(request)
        for registered in registry.record_actions():
            if registered.allowed(request):
                description = getattr(registered.action, "short_description", registered.name.replace("_", " "))
                actions[registered.name] = (registered.action, registered.name, description)
        return actions

    @admin.display(description="record (evidence_record.v1)")
    def record_pretty(self, obj: EvidenceRecord) -> str:
        values = {name: getattr(obj, name) for name in transforms.RECORD_FIELDS if name != "schema"}
        return _pretty(selectors.record_as_dict(values))


@admin.register(InboxFile)
class InboxFileAdmin(InspectionAdmin):
    list_display = ("name", "sha256", "lines", "records_written", "duplicates_skipped", "errors_count", "processed_at", "run")
    search_fields = ("name", "=sha256")
    list_select_related = ("run",)
