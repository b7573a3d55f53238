from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.core.admin import InspectionAdmin
from apps.core.admin_display import kv_table, link_to, records_table, short_time, status_badge
from apps.core.admin_extensions import register_panel
from apps.playbooks.models import ArchivedPlaybook, Playbook
from apps.playbooks.selectors import playbooks_with_worker
from apps.workers.models import Worker


@admin.register(Playbook)
class PlaybookAdmin(InspectionAdmin):
    """Read-mostly: playbooks are written by the API; operators inspect them (and may delete one)."""

    deletable = True
    list_display = ["id", "short_query", "outcome", "worker_count", "order", "created_by", "created_at"]
    list_filter = ["outcome", "created_at"]
    search_fields = ["query"]
    search_help_text = "Words of the query (contains), or a worker id (W-…, exact) it picked."
    list_select_related = ["order"]
    exclude = ["query_embedding", "filters"]
    readonly_fields = ["query", "filters_table", "workers_linked", "order", "outcome", "embedding_model", "created_by", "created_at"]

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().upper()
        if term.startswith("W-"):
            found = found | queryset.filter(worker_ids__contains=[term])  # the GIN index answers this
        return found, may_have_duplicates

    def get_queryset(self, request):
        return super().get_queryset(request).defer("query_embedding")

    @admin.display(description="filters")
    def filters_table(self, obj: Playbook) -> str:
        return kv_table(obj.filters)

    @admin.display(description="query")
    def short_query(self, obj: Playbook) -> str:
        return obj.query if len(obj.query) <= 50 else obj.query[:49] + "…"

    @admin.display(description="workers")
    def worker_count(self, obj: Playbook) -> int:
        return len(obj.worker_ids)

    @admin.display(description="workers")
    def workers_linked(self, obj: Playbook) -> str:
        pks = dict(Worker.objects.filter(worker_id__in=obj.worker_ids).values_list("worker_id", "pk"))
        return format_html_join(
            ", ",
            "{}",
            (
                (format_html('<a href="{}">{}</a>', reverse("admin:workers_worker_change", args=[pks[w]]), w) if w in pks else w,)
                for w in obj.worker_ids
            ),
        )


@admin.register(ArchivedPlaybook)
class ArchivedPlaybookAdmin(InspectionAdmin):
    """Playbooks past the decay horizon, moved here by a retention run: a record, never a boost."""

    list_display = ["id", "query", "outcome", "created_at", "archived_at"]
    list_filter = ["outcome"]
    search_fields = ["query"]
    date_hierarchy = "archived_at"


@register_panel("workers.worker", section="Assignments and fills", order=30, permission="playbooks.view_playbook")
@admin.display(description="playbooks that include them")
def playbooks_table(worker: Worker) -> str:
    rows = [
        {"playbook": link_to(pb, f"#{pb.pk}"), "outcome": status_badge(pb.outcome), "order": link_to(pb.order, pb.order.order_id) if pb.order else "—",
         "query": pb.query[:80], "recorded": short_time(pb.created_at)}
        for pb in playbooks_with_worker(worker.worker_id)
    ]
    return records_table(rows)
