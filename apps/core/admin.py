"""Shared pieces of the operators' console."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class InspectionAdmin(admin.ModelAdmin):
    """Rows that services write (jobs, runs, logs, playbooks): the console shows them read-only and
    never adds or edits one. `deletable` lets operators remove rows where that is safe."""

    deletable = False
    show_full_result_count = False  # a COUNT(*) over a big table on every page is what makes admins slow

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)


class NoSaveButtonsMixin:
    """For admins that keep the change permission (their actions need it) but whose change page has
    nothing to edit: the page shows no Save buttons, only Close/Delete."""

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None):
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, extra_context)
