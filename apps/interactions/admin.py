"""Operators' console for the interaction log: read-only inspection, searchable by kind, actor or id,
with links to the evidence records made from each interaction."""

from __future__ import annotations

import uuid

from django.apps import apps
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from apps.core.admin import InspectionAdmin
from apps.core.admin_display import admin_url, kv_table, link_by_key, link_to
from apps.interactions.choices import InteractionKind
from apps.interactions.models import Interaction


@admin.register(Interaction)
class InteractionAdmin(InspectionAdmin):
    list_display = ("seq", "occurred_at", "kind", "ok", "actor", "latency_ms", "model")
    list_display_links = ("seq", "occurred_at")
    list_filter = ("kind", "ok")
    date_hierarchy = "occurred_at"
    # Searched by get_search_results below (search_fields only switches the box on).
    search_fields = ("actor",)
    search_help_text = (
        "Interaction id (whole uuid, exact), kind (e.g. proposal_accepted, exact), an order's or worker's id (exact: its decisions),"
        " or part of an actor's name or model."
    )
    fields = (
        "id", "seq", "kind", "occurred_at", "actor", "ok", "latency_ms", "model", "prompt_tokens", "completion_tokens",
        "order_link", "worker_links", "evidence_links", "request_table", "response_table", "errors_table",
    )
    readonly_fields = fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Interaction], search_term: str
    ) -> tuple[QuerySet[Interaction], bool]:
        """One term, several meanings, each on an index or a small column: an exact id (the only way to
        look a uuid up without casting every row to text), an exact kind, an order or worker a decision
        names (their partial indexes), or a substring of actor or model."""
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(actor__icontains=term) | Q(model__icontains=term) | Q(order_id=term) | Q(worker_ids__len__gt=0, worker_ids__contains=[term])
        if term.lower() in InteractionKind.values:
            match |= Q(kind=term.lower())
        try:
            match |= Q(pk=uuid.UUID(term))
        except ValueError:
            pass
        return queryset.filter(match), False

    @admin.display(description="evidence")
    def evidence_links(self, obj: Interaction) -> str:
        # Evidence reads the interaction log, not the other way round: resolve its model by name.
        records = apps.get_model("evidence", "EvidenceRecord").objects.filter(source_kind="interaction", source_id=str(obj.pk))
        return format_html_join(", ", "{}", ((link_to(record, record.evidence_id),) for record in records.only("pk", "evidence_id")[:20])) or "—"

    # Orders and workers sit above the log: resolve their models by name, as for evidence.
    @admin.display(description="order")
    def order_link(self, obj: Interaction) -> str:
        return link_by_key(apps.get_model("orders", "JobOrder"), obj.order_id, field="order_id")

    @admin.display(description="workers")
    def worker_links(self, obj: Interaction) -> str:
        workers = apps.get_model("workers", "Worker")
        found = dict(workers.objects.filter(worker_id__in=obj.worker_ids).values_list("worker_id", "pk"))
        links = ((format_html('<a href="{}">{}</a>', admin_url(workers, found[w]), w) if w in found else w,) for w in obj.worker_ids)
        return format_html_join(", ", "{}", links) or "—"

    @admin.display(description="request")
    def request_table(self, obj: Interaction) -> str:
        return kv_table(obj.request)

    @admin.display(description="response")
    def response_table(self, obj: Interaction) -> str:
        return kv_table(obj.response)

    @admin.display(description="errors")
    def errors_table(self, obj: Interaction) -> str:
        return kv_table(obj.errors)
