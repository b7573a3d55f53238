"""Operators' console for the evidence app: the interaction log and evidence records (read-only
inspection), materialize runs with their receipts, and a "Materialize now" button that queues a run
on the Celery worker — the admin never runs one inline."""

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
from apps.core.roles import is_operator
from apps.core.api.errors import BadRequest, Conflict, ServiceUnavailable
from apps.evidence import selectors, services, transforms
from apps.evidence.models import EvidenceRecord, InboxFile, Interaction, MaterializeRun


def _pretty(value: Any) -> str:
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str))


@admin.register(Interaction)
class InteractionAdmin(InspectionAdmin):
    list_display = ("occurred_at", "kind", "ok", "actor", "latency_ms", "model", "seq")
    list_filter = ("kind", "ok")
    date_hierarchy = "occurred_at"
    search_fields = ("actor",)
    fields = (
        "id", "seq", "kind", "occurred_at", "actor", "ok", "latency_ms", "model", "prompt_tokens", "completion_tokens",
        "request_pretty", "response_pretty", "errors_pretty",
    )
    readonly_fields = fields

    @admin.display(description="request")
    def request_pretty(self, obj: Interaction) -> str:
        return _pretty(obj.request)

    @admin.display(description="response")
    def response_pretty(self, obj: Interaction) -> str:
        return _pretty(obj.response)

    @admin.display(description="errors")
    def errors_pretty(self, obj: Interaction) -> str:
        return _pretty(obj.errors)


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
        except (BadRequest, Conflict, ServiceUnavailable) as exc:  # the broker down: the run is already marked failed
            self.message_user(request, f"Not queued: {exc.detail}", level=messages.ERROR)
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
        raise BadRequest(f"{label} {raw!r} is not a date (YYYY-MM-DD).") from None


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

    actions = ["replay_selected"]

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return is_operator(request.user)

    @admin.action(description="Replay this evidence (queues a replay batch)", permissions=["replay"])
    def replay_selected(self, request: HttpRequest, queryset) -> None:
        from apps.replay.services import create_batch

        ids = list(queryset.values_list("evidence_id", flat=True)[:10_000])
        batch = create_batch(evidence_ids=ids, actor=request.user.get_username())
        self.message_user(request, f"Replay batch {batch.batch_id} queued for {len(ids)} evidence record(s).", messages.SUCCESS)

    @admin.display(description="record (evidence_record.v1)")
    def record_pretty(self, obj: EvidenceRecord) -> str:
        values = {name: getattr(obj, name) for name in transforms.RECORD_FIELDS if name != "schema"}
        return _pretty(selectors.record_as_dict(values))


@admin.register(InboxFile)
class InboxFileAdmin(InspectionAdmin):
    list_display = ("name", "sha256", "lines", "records_written", "duplicates_skipped", "errors_count", "processed_at", "run")
    search_fields = ("name", "=sha256")
    list_select_related = ("run",)
