"""Operators' console for vector indexes: stats, reset (typed confirmation), rebuild, re-embed.

Actions only enqueue long work (rebuild/re-embed run in the Celery worker); reset is a single
TRUNCATE and runs inline once the operator has typed the index name.
"""

from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html

from apps.core.admin import InspectionAdmin, JobAdmin, NoSaveButtonsMixin
from apps.core.admin_display import admin_url
from apps.core.errors import DomainError
from apps.indexes import services
from apps.indexes.models import IndexJob, VectorIndex
from apps.indexes.selectors import describe_index


@admin.register(VectorIndex)
class VectorIndexAdmin(NoSaveButtonsMixin, admin.ModelAdmin):
    list_display = ["name", "state", "version", "rows", "size", "dim", "metric", "hnsw", "last_reset_at", "last_rebuilt_at"]
    readonly_fields = [f.name for f in VectorIndex._meta.fields] + ["rows", "size"]
    actions = ["reset_selected", "rebuild_selected", "reembed_selected", "reembed_missing_selected"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _stats(self, obj: VectorIndex) -> dict:
        cache = getattr(self, "_stats_cache", {})
        if obj.pk not in cache:
            cache[obj.pk] = describe_index(obj)
            self._stats_cache = cache
        return cache[obj.pk]

    @admin.display(description="rows")
    def rows(self, obj: VectorIndex) -> int:
        return self._stats(obj)["rows"]

    @admin.display(description="index size")
    def size(self, obj: VectorIndex) -> str:
        return f"{self._stats(obj)['size_bytes'] / 1_048_576:.1f} MB"

    @admin.display(description="HNSW")
    def hnsw(self, obj: VectorIndex) -> str:
        built = f"m={obj.hnsw_m}, ef_construction={obj.hnsw_ef_construction}"
        wanted = services.build_parameters(obj.name)
        if (obj.hnsw_m, obj.hnsw_ef_construction) == (wanted["hnsw_m"], wanted["hnsw_ef_construction"]):
            return built
        # Settings changed since the graph was built: only a rebuild applies them.
        return format_html(
            '{} <span class="lh-badge lh-badge-warn" title="a rebuild builds the graph with the current settings">'
            "settings: m={}, ef_construction={} · rebuild to apply</span>",
            built, wanted["hnsw_m"], wanted["hnsw_ef_construction"],
        )

    def changelist_view(self, request, extra_context=None):
        self._stats_cache = {}
        return super().changelist_view(request, extra_context)

    @admin.action(description="Reset selected indexes (deletes their data)…", permissions=["change"])
    def reset_selected(self, request, queryset):
        names = list(queryset.values_list("name", flat=True))
        if request.POST.get("confirmed") == "yes":
            for name in names:
                typed = request.POST.get(f"confirm_{name}", "").strip()
                if typed != name:
                    self.message_user(request, f"{name}: not reset — the typed name did not match.", messages.ERROR)
                    continue
                try:
                    index = services.reset_index(name, confirm=typed)
                except DomainError as exc:
                    self.message_user(request, f"{name}: {exc}", messages.ERROR)
                else:
                    self.message_user(request, f"{name} reset: now empty (version {index.version}).", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reset vector indexes",
            "indexes": [describe_index(index) for index in queryset],
            "queryset": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/indexes/confirm_reset.html", context)

    @admin.action(description="Rebuild HNSW index (REINDEX CONCURRENTLY, in the worker)", permissions=["change"])
    def rebuild_selected(self, request, queryset):
        return self._start(request, queryset, services.start_rebuild, "rebuild")

    @admin.action(description="Re-embed with the current provider (in the worker)", permissions=["change"])
    def reembed_selected(self, request, queryset):
        return self._start(request, queryset, services.start_reembed, "re-embed")

    @admin.action(description="Embed only rows missing a vector from the current model (workers_semantic)", permissions=["change"])
    def reembed_missing_selected(self, request, queryset):
        return self._start(request, queryset, partial(services.start_reembed, only_missing=True), "re-embed (missing only)")

    def _start(self, request, queryset, start, label: str):
        started = []
        for index in queryset:
            try:
                job = start(index.name, actor=request.user.get_username())
            except DomainError as exc:
                self.message_user(request, f"{index.name}: {exc}", messages.ERROR)
            else:
                started.append(job)
                self.message_user(request, format_html('{}: {} job <a href="{}">{}</a> queued.', index.name, label, admin_url(job), job.pk), messages.SUCCESS)
        # One job started: land on its page, which follows it live (several: the list, each linked).
        return HttpResponseRedirect(admin_url(started[0])) if len(started) == 1 else None


@admin.register(IndexJob)
class IndexJobAdmin(JobAdmin):
    deletable = True
    list_display = ["id", "index", "kind", "status_display", "progress_display", "rows_display", "created_by", "finished_at"]
    list_filter = ["kind", "status", "index"]
    readonly_fields = [f.name for f in IndexJob._meta.fields]
    list_select_related = ["index"]

    @admin.display(description="rows done / total")
    def rows_display(self, obj: IndexJob) -> str:
        return f"{obj.rows_done:,} / {obj.rows_total:,}"
