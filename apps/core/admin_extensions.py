"""Extension points of the console's record pages, so a page can show what higher apps know about its
record without importing them (NetBox's `PluginTemplateExtension`: panels and buttons a plugin adds to
another app's object page).

A worker's page lists the worker's proposals and playbooks, yet workers sit below orders and
playbooks; a job order's page offers "Fill this order", which composes search, validation and
playbooks above orders. So the app that knows registers, at start-up (its `AppConfig.ready` or its
admin module), and the page's admin (with `ExtensibleAdmin`) shows whatever is registered for its
model:

- a **panel**: a read-only row on the record's change page, in a titled section (a fieldset);
- a **record view**: a page at `<record>/<slug>/` (`admin:<app>_<model>_<slug>`), offered as a
  button among the page's object tools;
- a **list search**: a ranked search box beside the model list's plain search.

Models are named by label (``"workers.worker"``), so registering needs no import of the model's app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse

#: A panel's content: the record in, escaped HTML out. Its `__name__` names the row (CSS class
#: `field-<name>`) and `admin.display(description=...)` its label.
PanelRender = Callable[[Any], str]

#: A record view: the request, the record (already found and checked viewable) and the record's
#: ModelAdmin (for `message_user` and `admin_site.each_context`).
RecordView = Callable[[HttpRequest, Any, Any], HttpResponse]

#: A list search: (query, k, actor) → the search's response body (`results`, `took_ms`, `index`).
ListSearch = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Panel:
    render: PanelRender
    section: str
    order: int
    permission: str | None

    @property
    def name(self) -> str:
        return self.render.__name__


@dataclass(frozen=True)
class RecordViewSpec:
    slug: str
    view: RecordView
    label: str
    dom_id: str
    permission: str | None


_PANELS: dict[str, dict[str, Panel]] = {}
_RECORD_VIEWS: dict[str, dict[str, RecordViewSpec]] = {}
_LIST_SEARCHES: dict[str, ListSearch] = {}


def register_panel(model_label: str, *, section: str, order: int = 100, permission: str | None = None) -> Callable[[PanelRender], PanelRender]:
    """Decorator: show `render(record)` on the change page of `model_label` records, in `section`
    (sections and rows in `order`), to users holding `permission`. Registering a name again replaces it."""

    def decorator(render: PanelRender) -> PanelRender:
        _PANELS.setdefault(model_label.lower(), {})[render.__name__] = Panel(render, section, order, permission)
        return render

    return decorator


def register_record_view(
    model_label: str, *, slug: str, view: RecordView, label: str, dom_id: str = "", permission: str | None = None
) -> None:
    """Serve `view` at `<record>/<slug>/` of `model_label`'s admin, named `admin:<app>_<model>_<slug>`,
    with a `label` button on the record's page for users holding `permission` (and viewing the record)."""
    _RECORD_VIEWS.setdefault(model_label.lower(), {})[slug] = RecordViewSpec(slug, view, label, dom_id or f"{slug}-link", permission)


def register_list_search(model_label: str, search: ListSearch) -> None:
    """The ranked search offered beside `model_label`'s plain list search."""
    _LIST_SEARCHES[model_label.lower()] = search


def panels_for(model_label: str) -> list[Panel]:
    return sorted(_PANELS.get(model_label.lower(), {}).values(), key=lambda panel: (panel.order, panel.name))


def record_views_for(model_label: str) -> list[RecordViewSpec]:
    return list(_RECORD_VIEWS.get(model_label.lower(), {}).values())


def list_search_for(model_label: str) -> ListSearch | None:
    return _LIST_SEARCHES.get(model_label.lower())


def _allowed(request: HttpRequest, permission: str | None) -> bool:
    return permission is None or request.user.has_perm(permission)


class ExtensibleAdmin:
    """ModelAdmin mixin: the record page shows the panels and record views registered for its model.

    Panels are read-only fields (the registered function itself, whose identity never changes, so the
    form and the fieldsets agree on it); `panel_fieldsets()` gives their sections, for the admin to place
    among its own fieldsets. Record views are prepended to `get_urls()`; `extension_tools` (the buttons
    this user may use) is in the change page's context. A list search is the model admin's to offer (see
`list_search_for`): only it knows how to show the ranked rows."""

    def _model_label(self) -> str:
        return self.model._meta.label_lower

    def visible_panels(self, request: HttpRequest, obj: Any) -> list[Panel]:
        return [] if obj is None else [p for p in panels_for(self._model_label()) if _allowed(request, p.permission)]

    def panel_fieldsets(self, request: HttpRequest, obj: Any) -> list[tuple[str, dict[str, Any]]]:
        sections: dict[str, list[PanelRender]] = {}
        for panel in self.visible_panels(request, obj):
            sections.setdefault(panel.section, []).append(panel.render)
        return [(title, {"fields": renders}) for title, renders in sections.items()]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        return [*super().get_readonly_fields(request, obj), *(p.render for p in self.visible_panels(request, obj))]

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        views = [
            path(f"<path:object_id>/{spec.slug}/", self.admin_site.admin_view(self._record_view(spec.slug)), name="%s_%s_%s" % (*info, spec.slug))
            for spec in record_views_for(self._model_label())
        ]
        return [*views, *super().get_urls()]

    def _record_view(self, slug: str) -> Callable[..., HttpResponse]:
        def view(request: HttpRequest, object_id: str) -> HttpResponse:
            # Looked up per request: the URLs are built once, the registration may be replaced later.
            spec = _RECORD_VIEWS[self._model_label()][slug]
            obj = self.get_object(request, unquote(object_id))
            if obj is None:
                raise Http404(f"No {self.model._meta.verbose_name} {object_id!r}.")
            if not (self.has_view_permission(request, obj) and _allowed(request, spec.permission)):
                raise PermissionDenied
            request.current_app = self.admin_site.name
            return spec.view(request, obj, self)

        return view

    def extension_tools(self, request: HttpRequest, obj: Any) -> list[dict[str, str]]:
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            {"url": reverse("admin:%s_%s_%s" % (*info, spec.slug), args=[quote(obj.pk)]), "label": spec.label, "dom_id": spec.dom_id}
            for spec in record_views_for(self._model_label())
            if _allowed(request, spec.permission)
        ]

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False, form_url: str = "", obj: Any = None):
        context["extension_tools"] = self.extension_tools(request, obj) if obj is not None else []
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)
