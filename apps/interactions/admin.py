"""Operators' console for the interaction log: read-only inspection, searchable by kind, actor or id."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from apps.core.admin import InspectionAdmin
from apps.core.admin_display import kv_table, link_to
from apps.interactions.choices import InteractionKind
from apps.interactions.models import Interaction


def _pretty(value: Any) -> str:
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str))


@admin.register(Interaction)
class InteractionAdmin(InspectionAdmin):
    list_display = ("occurred_at", "kind", "ok", "actor", "latency_ms", "model", "seq")
    list_filter = ("kind", "ok")
    date_hierarchy = "occurred_at"
    # Searched by get_search_results below (search_fields only switches the box on).
    search_fields = ("actor",)
    search_help_text = "Matches an interaction id (whole uuid), a kind (e.g. validate_sms), or part of an actor's or model's name."
    fields = (
        "id", "seq", "kind", "occurred_at", "actor", "ok", "latency_ms", "model", "prompt_tokens", "completion_tokens",
        "evidence_links", "request_pretty", "response_pretty", "errors_pretty",
    )
    readonly_fields = fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Interaction], search_term: str
    ) -> tuple[QuerySet[Interaction], bool]:
        """One term, three meanings, each on an index or a small column: an exact id (the only way to
        look a uuid up without casting every row to text), an exact kind, or a substring of the actor."""
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(actor__icontains=term) | Q(model__icontains=term)
        if term.lower() in InteractionKind.values:
            match |= Q(kind=term.lower())
        try:
            match |= Q(pk=uuid.UUID(term))
        except ValueError:
            pass
        return queryset.filter(match), False

    @admin.display(description="evidence")
    def evidence_links(self, obj: Interaction) -> str:
        # Evidence reads interactions, not the other way round: resolve its model by name.
        records = apps.get_model("evidence", "EvidenceRecord").objects.filter(source_kind="interaction", source_id=str(obj.pk)).only("pk", "evidence_id")[:20]
        return format_html_join(", ", "{}", ((link_to(record, record.evidence_id),) for record in records)) or "—"

    @admin.display(description="request")
    def request_pretty(self, obj: Interaction) -> str:
        return kv_table(obj.request)

    @admin.display(description="response")
    def response_pretty(self, obj: Interaction) -> str:
        return kv_table(obj.response)

    @admin.display(description="errors")
    def errors_pretty(self, obj: Interaction) -> str:
        return _pretty(obj.errors)
