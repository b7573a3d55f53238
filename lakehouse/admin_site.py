"""The console's admin site: the operations dashboard as its home page and the app list ordered by
how people work. Installed in place of `django.contrib.admin` (see INSTALLED_APPS), so every
`@admin.register` lands here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse

# Orders first (what coordinators fill), then the corpus, the jobs that feed it, the quality loop
# (replay, evidence), the indexes, and the accounts last. Apps not named here go before the accounts.
APP_ORDER = ["orders", "workers", "jobs", "replay", "evidence", "interactions", "playbooks", "indexes"]
LAST_APPS = ["auth", "authtoken"]


def _app_rank(app_label: str) -> tuple[int, int]:
    if app_label in APP_ORDER:
        return (0, APP_ORDER.index(app_label))
    if app_label in LAST_APPS:
        return (2, LAST_APPS.index(app_label))
    return (1, 0)


class LakehouseAdminSite(admin.AdminSite):
    site_header = "Lakehouse console"
    site_title = "Lakehouse console"
    index_title = "Operations"
    site_url = "/admin/"  # "View site" → this dashboard: the platform has no other HTML site

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        # `_build_app_dict` already keeps only the models this user may see.
        apps = sorted(self._build_app_dict(request, app_label).values(), key=lambda app: _app_rank(app["app_label"]))
        for app in apps:
            app["models"].sort(key=lambda model: model["name"])
        return apps

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        from apps.core.roles import is_coordinator
        from apps.orders.selectors import coordinator_home
        from lakehouse import dashboard  # imports models: not at app-registry load time

        user = request.user
        context = {
            **self.each_context(request),
            "title": self.index_title,
            "subtitle": None,
            "app_list": self.get_app_list(request),
            "health": dashboard.dependency_health(),
            "corpus": dashboard.corpus(),
            "jobs": dashboard.recent_jobs(user=user),
            "last_materialize": dashboard.last_materialize_run() if user.has_perm("evidence.view_materializerun") else None,
            "last_batch": dashboard.last_replay_batch() if user.has_perm("replay.view_replaybatch") else None,
            "replay_cost_days": dashboard.replay_cost_by_day() if user.has_perm("replay.view_replaybatch") else [],
            # Coordinators and operators (who do everything coordinators do) see the fill work first.
            "fill_work": coordinator_home(actor=user.get_username()) if is_coordinator(user) else None,
            **(extra_context or {}),
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/dashboard.html", context)


class LakehouseAdminConfig(AdminConfig):
    default_site = "lakehouse.admin_site.LakehouseAdminSite"
